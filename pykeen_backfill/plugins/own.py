"""pykeen-backfill's own plugin: it contributes :class:`~pykeen_backfill.BackfillRepresentation` as "backfill"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspec import hookimpl

if TYPE_CHECKING:
    from pykeen.nn.representation import Representation

__all__ = ["pykeen_representations"]


@hookimpl
def pykeen_representations() -> list[type[Representation]]:
    """Contribute the backfill representation, which supersedes PyKEEN's built-in of the same name."""
    from ..representation.backfill import BackfillRepresentation

    return [BackfillRepresentation]
