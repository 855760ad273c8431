"""Register representation plugins as soon as ``pykeen.nn`` is imported, without importing PyKEEN early.

PyKEEN does not load representation entry points itself. The installed distribution therefore ships a ``.pth`` file,
which Python's :mod:`site` runs at interpreter start-up; it imports :mod:`pykeen_backfill`, whose package module is
deliberately light and calls :func:`register_when_ready`. That installs a tiny finder at the front of
:data:`sys.meta_path` which ignores every import except ``pykeen.nn``; once ``pykeen.nn`` has executed, the finder
registers the plugins and removes itself. An interpreter that never imports PyKEEN pays for importing this module only.

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
    "register_deferred",
    "register_when_ready",
]

#: the environment variable that switches the start-up hook off when set to 0, false, no or off
ENV_VAR = "PYKEEN_BACKFILL_AUTOLOAD"

#: the module whose import triggers registration
TARGET = "pykeen.nn"

_OFF = frozenset({"0", "false", "no", "off"})

#: the module that defines the class our own plugin contributes; it imports ``pykeen.nn`` itself
_OWN_MODULE = "pykeen_backfill.representation"

#: whether a registration waits for :data:`_OWN_MODULE` to finish executing
_deferred = False


def is_disabled() -> bool:
    """Return whether the environment switches the start-up hook off."""
    return os.environ.get(ENV_VAR, "").strip().lower() in _OFF


def register_when_ready() -> None:
    """Register plugins now if ``pykeen.nn`` is loaded, else once it is; never raises."""
    module = sys.modules.get(TARGET)
    if module is not None and hasattr(module, "representation_resolver"):
        _register()
    elif not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())


def _register() -> None:
    if _own_module_executing():
        # `pykeen.nn` was imported by our representation module, whose class does not exist yet: registering now
        # would skip our own plugin; the module calls `register_deferred` once the class is defined
        global _deferred
        _deferred = True
        return
    _register_now()


def _register_now() -> None:
    try:
        from .registry import register_plugins

        register_plugins(strict=False)
    except Exception as error:  # noqa: BLE001 -- registration must never break the import of pykeen.nn
        import warnings

        warnings.warn(
            f"pykeen-backfill could not register representation plugins: {type(error).__name__}: {error}",
            stacklevel=2,
        )


def register_deferred() -> None:
    """Register plugins if an earlier attempt had to wait for this package's representation module to execute."""
    global _deferred
    if _deferred:
        _deferred = False
        _register_now()


def _own_module_executing() -> bool:
    module = sys.modules.get(_OWN_MODULE)
    # the import system flags a module's spec while the module body runs
    return module is not None and getattr(module.__spec__, "_initializing", False) is True


class _PostImportFinder:
    """A meta path finder that delegates the import of :data:`TARGET` and runs registration after it."""

    def __init__(self) -> None:
        self._searching = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != TARGET or self._searching:
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
        spec.loader = _RegisteringLoader(spec.loader, finder=self)
        return spec


class _RegisteringLoader:
    """Wraps the real loader of :data:`TARGET`; registers plugins once the module has executed."""

    def __init__(self, loader: Any, *, finder: _PostImportFinder) -> None:
        self._loader = loader
        self._finder = finder

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
        self._loader.exec_module(module)
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        _register()
