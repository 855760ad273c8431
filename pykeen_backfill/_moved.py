"""Import paths of version 0.1.0 that moved, kept working with a :class:`DeprecationWarning`.

Version 0.2.0 gave each concern a folder. A module of the old flat layout is served by its new home: ``import
pykeen_backfill.hookspecs`` gives :mod:`pykeen_backfill.plugins.hookspec` itself (the same module object, so classes
and hook markers are identical), after a warning that names the new path.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import warnings

# imported by the package module, which the start-up hook imports in every interpreter: keep this light
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

__all__ = ["MOVED", "install"]

#: old module path -> new module path
MOVED = {
    "pykeen_backfill.autoload": "pykeen_backfill.plugins.startup",
    "pykeen_backfill.hookspecs": "pykeen_backfill.plugins.hookspec",
    "pykeen_backfill.injected": "pykeen_backfill.representation.kwargs",
    "pykeen_backfill.layout": "pykeen_backfill.representation.layout",
    "pykeen_backfill.plugin": "pykeen_backfill.plugins.own",
    "pykeen_backfill.pretrained": "pykeen_backfill.warm_start",
    "pykeen_backfill.registry": "pykeen_backfill.plugins.loader",
}


class _MovedFinder:
    """Finds the moved paths only; duck-typed, since importing :mod:`importlib.abc` costs start-up time."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader())


class _MovedLoader:
    """Loads a moved path as the module at its new path."""

    def create_module(self, spec: Any) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        # the import system stores what create_module returns under the old name: both names give one module
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to execute: the module is the new one, already executed."""


def install() -> None:
    """Serve the moved paths; installing twice is harmless."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
