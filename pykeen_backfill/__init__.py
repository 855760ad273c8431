"""A backfill representation for PyKEEN, registered as "backfill" as soon as it is installed.

Three concerns, one folder each:

- :mod:`pykeen_backfill.representation`: the :class:`BackfillRepresentation` itself;
- :mod:`pykeen_backfill.plugins`: how it (and other packages' representations) reach PyKEEN's resolver;
- :mod:`pykeen_backfill.warm_start`: vectors learned earlier, read from files and matched by label;

and the front doors: :mod:`pykeen_backfill.experiments` (configurations), :mod:`pykeen_backfill.cli` (the
``pykeen-backfill`` command) and :mod:`pykeen_backfill.demo`.

Importing this package is cheap: it only arranges for the representation plugins to be registered in
:data:`pykeen.nn.representation_resolver` once ``pykeen.nn`` is imported (or right away, if it already is). The public
classes are imported on first access.
"""

from __future__ import annotations

from ._moved import install as _install_moved_paths
from .plugins.startup import register_when_ready
from .version import __version__

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

_LAZY = {
    "BackfillRepresentation": "pykeen_backfill.representation",
    "BaseSource": "pykeen_backfill.representation",
}


def __getattr__(name: str) -> Any:
    # torch and PyKEEN load only on first use
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


_install_moved_paths()
# last: registration may import this package's modules, which must find everything above defined
register_when_ready()
