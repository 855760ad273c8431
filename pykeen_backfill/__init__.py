"""A backfill representation for PyKEEN, registered as "backfill" as soon as it is installed.

Importing this package is cheap: it only arranges for the representation plugins to be registered in
:data:`pykeen.nn.representation_resolver` once ``pykeen.nn`` is imported (or right away, if it already is). The public
classes are imported on first access.
"""

from __future__ import annotations

from .autoload import register_when_ready

# the start-up hook imports this package in every interpreter: importing `typing` alone would cost ~20 ms there
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .representation import BackfillRepresentation, BaseSource

__all__ = [
    "BackfillRepresentation",
    "BaseSource",
    "__version__",
]

__version__ = "0.1.0"

_LAZY = {
    "BackfillRepresentation": "pykeen_backfill.representation",
    "BaseSource": "pykeen_backfill.representation",
}


def __getattr__(name: str) -> Any:
    # the start-up hook imports this package in every interpreter, so torch and PyKEEN load only on first use
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


register_when_ready()
