"""pykeen-backfill's own plugin: it contributes :class:`~pykeen_backfill.BackfillRepresentation` as "backfill"."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hookspec import hookimpl

if TYPE_CHECKING:
    from pykeen.nn.representation import Representation

__all__ = ["pykeen_representations"]


@hookimpl
def pykeen_representations() -> list[type[Representation]]:
    """Contribute the backfill representation (superseding PyKEEN's built-in of that name) and the mapped base."""
    from ..representation.backfill import BackfillRepresentation
    from ..representation.mapped import MappedEmbedding

    return [BackfillRepresentation, MappedEmbedding]
