"""Route the keyword arguments that PyKEEN models inject into a representation.

A model such as :class:`pykeen.models.DistMult` builds its representations with its own defaults, e.g.
``shape=embedding_dim, initializer=..., constrainer=...`` for entities and ``regularizer=...`` for relations, merged
under the user's ``entity_representations_kwargs``. A backfill representation is a composition, so each of these
defaults has a natural home:

- ``normalizer``, ``regularizer``, ``dropout``, ``unique`` (and their ``*_kwargs``) keep their
  :class:`~pykeen.nn.representation.Representation` meaning: they apply to the composed output;
- ``initializer``, ``constrainer``, ``dtype`` (and their ``*_kwargs``) describe how to build fresh parameters, so they
  go to a base or backfill that is built here from a hint, and only where that class accepts them;
- ``shape`` (or ``embedding_dim``) builds a base from a hint and is checked against a given base.

A given instance is never re-initialised, and neither is a base whose values were chosen by the user (one with an
explicit ``initializer`` or ``trainable=False`` in ``base_kwargs``): a model's constrainer would otherwise rewrite the
frozen vectors after every optimiser step.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Mapping
from typing import Any

import torch
from class_resolver import HintOrType
from pykeen.nn.representation import Representation

from ..checks import as_bool, check_allocatable, is_integer, preview, requested_shape
from ..errors import InvalidPartError, InvalidShapeError, UnknownKeywordError, UnknownRepresentationError

__all__ = [
    "InjectedKwargs",
    "split_kwargs",
    "kwargs_for_part",
    "build_part",
    "chooses_values",
    "keywords_accepted_by",
]

#: keyword arguments of :class:`~pykeen.nn.representation.Representation` that apply to the composed output
OUTPUT_KEYS = frozenset(
    {"normalizer", "normalizer_kwargs", "regularizer", "regularizer_kwargs", "dropout", "unique"},
)

#: keyword arguments that describe how to build fresh parameters
BUILD_KEYS = frozenset({"initializer", "initializer_kwargs", "constrainer", "constrainer_kwargs", "dtype"})

#: build keywords that would overwrite values chosen by the user
VALUE_KEYS = frozenset({"initializer", "initializer_kwargs", "constrainer", "constrainer_kwargs"})


@dataclasses.dataclass(frozen=True)
class InjectedKwargs:
    """The keyword arguments given to a backfill representation beyond its own parameters, sorted by destination."""

    #: passed to :meth:`Representation.__init__` of the composition
    output: dict[str, Any]

    #: defaults for parts built here
    build: dict[str, Any]

    #: the requested shape, if any
    shape: tuple[int, ...] | None


def split_kwargs(kwargs: Mapping[str, Any]) -> InjectedKwargs:
    """Sort keyword arguments by destination.

    :param kwargs:
        The keyword arguments a backfill representation received beyond its own parameters.

    :return:
        The sorted keyword arguments.

    :raises UnknownKeywordError:
        If some keyword argument has no destination; all of them are named.
    """
    unknown = sorted(set(kwargs).difference(OUTPUT_KEYS, BUILD_KEYS, {"shape", "embedding_dim"}))
    if unknown:
        accepted = sorted(OUTPUT_KEYS | BUILD_KEYS | {"shape", "embedding_dim"})
        raise UnknownKeywordError(
            f"BackfillRepresentation got unexpected keyword arguments {preview(unknown)}; "
            f"besides its own parameters it accepts {accepted}",
        )
    output = {key: value for key, value in kwargs.items() if key in OUTPUT_KEYS}
    if output.get("unique") is not None:
        output["unique"] = as_bool(output["unique"], name="unique")
    return InjectedKwargs(
        output=output,
        build={key: value for key, value in kwargs.items() if key in BUILD_KEYS},
        shape=requested_shape(kwargs),
    )


def build_part(
    hint: HintOrType[Representation], kwargs: Mapping[str, Any], *, name: str, **fixed: Any
) -> Representation:
    """Build a base or backfill from a hint, with errors that name the parameters.

    :param hint:
        A representation, a representation class, or the name of one in
        :data:`pykeen.nn.representation_resolver`.
    :param kwargs:
        The keyword arguments to build it with, see :func:`kwargs_for_part`.
    :param name:
        The parameter that holds the hint, e.g. ``base``; its keyword arguments are ``{name}_kwargs``.
    :param fixed:
        Keyword arguments this package fixes, e.g. ``max_id``.

    :return:
        The representation.

    :raises UnknownRepresentationError:
        If the hint names no registered representation.
    :raises UnknownKeywordError:
        If the representation class does not accept one of the keyword arguments.
    :raises InvalidPartError:
        If the hint is not a representation, or the class cannot be built from the keyword arguments.
    """
    from pykeen.nn import representation_resolver

    _check_size(hint, {**kwargs, **fixed}, name=name)
    try:
        part = representation_resolver.make(hint, kwargs, **fixed)
    except KeyError:
        known = sorted(representation_resolver.lookup_dict)
        raise UnknownRepresentationError(
            f"{name}={preview(hint)} names no representation; the known names are {known}"
        ) from None
    except TypeError as error:
        kind = UnknownKeywordError if "keyword argument" in str(error) else InvalidPartError
        raise kind(
            f"cannot build {name}={preview(hint)} from {name}_kwargs={preview(dict(kwargs))}: {error}"
        ) from error
    if not isinstance(part, Representation):
        raise InvalidPartError(
            f"{name} must be a Representation, a Representation class or the name of one, but got {preview(hint)}",
        )
    return part


def _check_size(hint: HintOrType[Representation], kwargs: Mapping[str, Any], *, name: str) -> None:
    """Refuse a part whose table would not fit into memory, before torch tries to allocate it."""
    from pykeen.nn import representation_resolver

    try:
        cls = representation_resolver.lookup(hint)
    except (KeyError, ValueError, TypeError):
        cls = None
    if getattr(cls, "rows_on_disk", False):
        # its rows stay in their file: a table larger than memory is what it is for
        return
    max_id, dims = kwargs.get("max_id"), kwargs.get("shape", kwargs.get("embedding_dim"))
    dims = (dims,) if is_integer(dims) else dims
    if not is_integer(max_id) or not isinstance(dims, (tuple, list)) or not all(is_integer(d) and d > 0 for d in dims):
        # malformed values get their own errors where they are used
        return
    dtype = kwargs.get("dtype") if isinstance(kwargs.get("dtype"), torch.dtype) else torch.get_default_dtype()
    size = int(max_id) * math.prod(int(d) for d in dims) * torch.empty(0, dtype=dtype).element_size()
    check_allocatable(size, what=f"{name} with max_id={max_id:,} and shape={tuple(dims)}", error=InvalidShapeError)


def kwargs_for_part(
    hint: HintOrType[Representation],
    own: Mapping[str, Any] | None,
    defaults: Mapping[str, Any],
    *,
    keeps_values: bool = False,
) -> dict[str, Any]:
    """Merge a model's defaults under the keyword arguments of a part that is built from a hint.

    :param hint:
        The hint the part is built from; a model's defaults are offered only where its class accepts them.
    :param own:
        The part's own keyword arguments (``base_kwargs`` or ``backfill_kwargs``); they always take precedence.
    :param defaults:
        The model's build defaults, see :attr:`InjectedKwargs.build`.
    :param keeps_values:
        Whether the part holds values chosen elsewhere; then the model's initializer and constrainer are not used.

    :return:
        The keyword arguments to build the part with.
    """
    own = dict(own or {})
    accepted = _accepted_keywords(hint)
    for key, value in defaults.items():
        if key in own or (keeps_values and key in VALUE_KEYS):
            continue
        if accepted is None or key in accepted:
            own[key] = value
    return own


def chooses_values(kwargs: Mapping[str, Any] | None) -> bool:
    """Return whether a part's own keyword arguments fix its values (a pre-trained or frozen base)."""
    kwargs = kwargs or {}
    return "initializer" in kwargs or kwargs.get("trainable") is False


def _accepted_keywords(hint: HintOrType[Representation]) -> frozenset[str] | None:
    """Return the keywords a representation class accepts by name, or ``None`` if it cannot be told."""
    from pykeen.nn import representation_resolver

    try:
        cls = representation_resolver.lookup(hint)
    except (KeyError, ValueError, TypeError):
        return None
    return keywords_accepted_by(cls)


def keywords_accepted_by(cls: type) -> frozenset[str] | None:
    """Return the keywords a module class accepts by name, following ``**kwargs`` up the hierarchy.

    :param cls:
        A subclass of :class:`torch.nn.Module`, e.g. a representation or a model.

    :return:
        The names, or ``None`` if some ``**kwargs`` leads nowhere that can be told.
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is torch.nn.Module:
            # Module's own **kwargs accept nothing a subclass's constructor would forward
            return frozenset(names - {"self"})
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names.update(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        # a class that does not forward **kwargs accepts nothing from its ancestors
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return frozenset(names - {"self"})
    return None
