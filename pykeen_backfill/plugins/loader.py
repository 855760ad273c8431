"""Load representation plugins with pluggy and register their classes in PyKEEN's representation resolver.

Loading is forgiving by default: a plugin that cannot be imported, whose hook raises, or that returns something other
than a :class:`~pykeen.nn.representation.Representation` subclass is skipped with one :class:`PluginWarning` naming
the entry point and its distribution, so that a broken third-party package never breaks ``import pykeen.nn``. With
``strict=True`` the same problems raise instead.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import warnings
from collections.abc import Iterable
from types import ModuleType

import pluggy
from class_resolver import ClassResolver
from pykeen.nn.representation import Representation

from ..checks import as_bool, preview
from ..errors import PluginConflictError
from . import own as own_plugin
from .hookspec import ENTRY_POINT_GROUP, PROJECT_NAME, RepresentationHookSpec

__all__ = [
    "PluginWarning",
    "Contribution",
    "register_plugins",
]

#: the entry point name of pykeen-backfill's own plugin
OWN_PLUGIN_NAME = "backfill"

#: the distribution that ships pykeen-backfill's own plugin
OWN_DISTRIBUTION = "pykeen-backfill"

#: the entry point values of our own plugin, which is always registered directly; metadata written by version 0.1.0
#: still names its old module
_OWN_VALUES = frozenset({own_plugin.__name__, "pykeen_backfill.plugin"})


class PluginWarning(UserWarning):
    """Warns about a representation plugin that was skipped."""


@dataclasses.dataclass(frozen=True)
class Contribution:
    """A representation class contributed by a plugin."""

    #: the contributed class
    cls: type[Representation]

    #: the plugin's entry point name
    plugin: str

    #: the name of the distribution that declares the entry point
    distribution: str

    def describe(self) -> str:
        """Name the class, the plugin and its distribution for messages."""
        where = f"plugin {self.plugin!r} of distribution {self.distribution!r}"
        return f"{self.cls.__module__}.{self.cls.__qualname__} ({where})"


#: the key each plugin-contributed class holds in a resolver, by resolver identity; lets a re-run stay idempotent and
#: tell a plugin's entry from one of PyKEEN's built-ins
_CLAIMS: dict[int, dict[str, Contribution]] = {}


def register_plugins(
    resolver: ClassResolver[Representation] | None = None,
    *,
    group: str = ENTRY_POINT_GROUP,
    strict: bool = False,
    modules: Iterable[ModuleType] = (),
) -> list[Contribution]:
    """Load the plugins of an entry point group and register their representations.

    Registering again is harmless: classes already registered are left as they are.

    :param resolver:
        The resolver to register into; defaults to :data:`pykeen.nn.representation_resolver`.
    :param group:
        The entry point group listing the plugins.
    :param strict:
        Whether to raise on a broken plugin or a conflict, instead of skipping it with a :class:`PluginWarning`.
    :param modules:
        Plugin modules to load besides those of the entry points, each under its module name: a plugin that is not
        installed (yet), e.g. while it is written or in its tests.

    :return:
        The contributions that are registered after this call.

    :raises PluginConflictError:
        With ``strict=True``, if two plugins contribute classes under the same key.
    """
    if resolver is None:
        from pykeen.nn import representation_resolver as resolver
    strict = as_bool(strict, name="strict")
    manager = _load_manager(group=group, strict=strict)
    for module in modules:
        if manager.has_plugin(module.__name__):
            _problem(
                f"skipped representation plugin {module.__name__!r}: a plugin is registered under that name",
                strict=strict,
            )
            continue
        manager.register(module, name=module.__name__)
    registered = []
    for contribution in _collect_contributions(manager, strict=strict):
        if _register(resolver, contribution, strict=strict):
            registered.append(contribution)
    return registered


def _problem(message: str, *, strict: bool, error: type[Exception] = RuntimeError) -> None:
    if strict:
        raise error(message)
    warnings.warn(message, PluginWarning, stacklevel=3)


def _load_manager(*, group: str, strict: bool) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT_NAME)
    manager.add_hookspecs(RepresentationHookSpec)
    # ours first and always, also from a source checkout on sys.path, which has no entry points
    manager.register(own_plugin, name=OWN_PLUGIN_NAME)
    for entry_point in importlib.metadata.entry_points(group=group):
        if entry_point.value in _OWN_VALUES:
            continue
        if manager.has_plugin(entry_point.name):
            _problem(
                f"skipped representation plugin {entry_point.name!r} of {_distribution_name(entry_point)}: "
                f"another plugin is registered under that name",
                strict=strict,
            )
            continue
        try:
            # one name at a time, so that one broken plugin cannot keep the others from loading
            manager.load_setuptools_entrypoints(group, name=entry_point.name)
        except Exception as error:  # noqa: BLE001 -- a plugin may fail in any way; it must not break PyKEEN
            _problem(
                f"skipped representation plugin {entry_point.name!r} of {_distribution_name(entry_point)}: "
                f"could not load {entry_point.value!r}: {type(error).__name__}: {error}",
                strict=strict,
            )
    return manager


def _distribution_name(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = getattr(entry_point, "dist", None)
    return f"distribution {dist.name!r}" if dist is not None else "an unknown distribution"


def _distributions(manager: pluggy.PluginManager) -> dict[int, str]:
    found = {id(plugin): dist.project_name for plugin, dist in manager.list_plugin_distinfo()}
    found.setdefault(id(own_plugin), OWN_DISTRIBUTION)
    return found


def _collect_contributions(manager: pluggy.PluginManager, *, strict: bool) -> Iterable[Contribution]:
    distributions = _distributions(manager)
    # our own classes come first, so that a plugin claiming one of their keys clashes with them, not vice versa
    impls = sorted(manager.hook.pykeen_representations.get_hookimpls(), key=lambda impl: impl.plugin is not own_plugin)
    for impl in impls:
        distribution = distributions.get(id(impl.plugin), "an unknown distribution")
        where = f"representation plugin {impl.plugin_name!r} of distribution {distribution!r}"
        try:
            classes = list(impl.function())
        except Exception as error:  # noqa: BLE001 -- same reason as above
            _problem(f"skipped {where}: its hook raised {type(error).__name__}: {error}", strict=strict)
            continue
        for cls in classes:
            if not (isinstance(cls, type) and issubclass(cls, Representation)):
                _problem(f"skipped {preview(cls)} from {where}: it is not a Representation subclass", strict=strict)
                continue
            yield Contribution(cls=cls, plugin=impl.plugin_name, distribution=distribution)


def _register(resolver: ClassResolver[Representation], contribution: Contribution, *, strict: bool) -> bool:
    """Register one contribution; return whether it holds its key afterwards."""
    claims = _CLAIMS.setdefault(id(resolver), {})
    key = resolver.normalize(resolver.extract_name(contribution.cls))
    holder = resolver.lookup_dict.get(key)
    claimant = claims.get(key)
    if holder is contribution.cls:
        claims.setdefault(key, contribution)
        return True
    if claimant is not None and holder is claimant.cls:
        _problem(
            f"representation plugins clash on the key {key!r}: {claimant.describe()} and {contribution.describe()}",
            strict=strict,
            error=PluginConflictError,
        )
        return False
    if holder is not None and getattr(contribution.cls, "supersedes", None) is not holder:
        _problem(
            f"skipped {contribution.describe()}: the key {key!r} belongs to {holder.__module__}.{holder.__qualname__}, "
            f"which the class does not declare it supersedes",
            strict=strict,
            error=PluginConflictError,
        )
        return False
    if holder is None:
        synonym_of = resolver.synonyms.get(key)
        if synonym_of is not None:
            _problem(
                f"skipped {contribution.describe()}: the key {key!r} is a synonym of "
                f"{synonym_of.__module__}.{synonym_of.__qualname__}",
                strict=strict,
                error=PluginConflictError,
            )
            return False
        resolver.register(contribution.cls, raise_on_conflict=False)
    else:
        # a superseding class replaces the built-in's entry only; synonyms and every other key stay as they were.
        # ClassResolver.register never replaces a key, and has no other public way to: its lookup table is the one
        # place where the key can be given to another class
        resolver.lookup_dict[key] = contribution.cls
    claims[key] = contribution
    return True
