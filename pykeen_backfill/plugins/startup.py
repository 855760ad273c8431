"""Register representation plugins as soon as ``pykeen.nn`` is imported, whatever the user imports first.

PyKEEN does not load representation entry points itself. The installed distribution therefore ships a ``.pth`` file,
which Python's :mod:`site` runs at interpreter start-up; it imports :mod:`pykeen_backfill`, whose package module is
deliberately light and calls :func:`register_when_ready`. That installs a tiny finder at the front of
:data:`sys.meta_path` which watches two kinds of imports only: ``pykeen.nn``, and this package's own modules.
Registration runs once ``pykeen.nn`` has executed *and* no module of this package is half-way through its own
execution, since registering loads our plugin, which imports our modules: if one of them were still executing (say
the user's first import was ``pykeen_backfill.warm_start``, which imports PyKEEN), it would be seen half-defined. The
finder hands each watched module a loader that wraps the real one, so it knows which watched modules are executing
without asking the import system; it retries after each of them finishes, registers once, and removes itself. An
interpreter that never imports PyKEEN pays for importing this module only.

Set the environment variable ``PYKEEN_BACKFILL_AUTOLOAD=0`` to switch the start-up hook off; an explicit
``import pykeen_backfill`` still registers.
"""

from __future__ import annotations

import os
import sys

# this module runs in every interpreter (see above): importing `typing` alone would cost ~20 ms there
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = [
    "ENV_VAR",
    "TARGET",
    "is_disabled",
    "register_when_ready",
]

#: the environment variable that switches the start-up hook off when set to 0, false, no or off
ENV_VAR = "PYKEEN_BACKFILL_AUTOLOAD"

#: the module whose import triggers registration
TARGET = "pykeen.nn"

#: this package; its modules are watched so that registration never sees one of them half-executed
PACKAGE = __name__.split(".")[0]

_OFF = frozenset({"0", "false", "no", "off"})

#: whether the plugins have been registered by this hook
_done = False

#: the watched modules whose body is running now, as seen by :class:`_RegisteringLoader`; the import system's own
#: flag for this is private, and our loader sees the start and the end of every watched module it loads anyway
_running: set[str] = set()


def is_disabled() -> bool:
    """Return whether the environment switches the start-up hook off."""
    return os.environ.get(ENV_VAR, "").strip().lower() in _OFF


def register_when_ready() -> None:
    """Register plugins now if nothing stands in the way, else as soon as nothing does; never raises."""
    if _done:
        return
    if not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())
    _try_register()


def _ready() -> bool:
    # the package module itself is never watched: it registers as its very last step, with everything defined, and
    # the modules it imports before that step (this one among them) have finished, since they are imported at its top
    return not _running and hasattr(sys.modules.get(TARGET), "representation_resolver")


def _try_register() -> None:
    global _done
    if _done or not _ready():
        return
    _done = True
    for finder in [finder for finder in sys.meta_path if isinstance(finder, _PostImportFinder)]:
        sys.meta_path.remove(finder)
    try:
        from .loader import register_plugins

        register_plugins(strict=False)
    except Exception as error:  # noqa: BLE001 -- registration must never break the import of pykeen.nn
        import warnings

        warnings.warn(
            f"pykeen-backfill could not register representation plugins: {type(error).__name__}: {error}",
            stacklevel=2,
        )


def _watched(fullname: str) -> bool:
    return fullname == TARGET or fullname.startswith(PACKAGE + ".")


class _PostImportFinder:
    """A meta path finder that delegates the import of watched modules and tries to register after each."""

    def __init__(self) -> None:
        self._searching = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if self._searching or not _watched(fullname):
            return None
        import importlib.util

        # find the real spec through the other finders; the flag keeps this finder out of that search
        self._searching = True
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._searching = False
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader:
    """Wraps the real loader of a watched module; tries to register once the module has executed."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        # get_source, get_resource_reader, is_package, ... behave as the real loader's
        return getattr(self._loader, name)

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # restore the real loader first, so that reloads and introspection never see this wrapper again
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        _running.add(module.__name__)
        try:
            self._loader.exec_module(module)
        finally:
            _running.discard(module.__name__)
        _try_register()
