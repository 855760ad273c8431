"""The neighbour-mean start of backfilled rows, from Python.

The computation lives next to the representation that uses it (:mod:`pykeen_backfill.representation.neighbours`),
since lower layers must not import this package; this module is its public face for growth workflows.
"""

from __future__ import annotations

from typing import Any

from ..representation.neighbours import NeighbourInitializer, neighbour_means

__all__ = ["NeighbourInitializer", "neighbour_means", "neighbour_start"]


def neighbour_start(triples: Any) -> dict[str, Any]:
    """Return the keyword arguments of :class:`~pykeen_backfill.BackfillRepresentation` for a neighbour-mean start.

    :param triples:
        The training triples of the grown graph: a triples factory, a dataset, a dataset name, a path, or a tensor.

    :return:
        ``{"backfill_init": "neighbours", "triples": triples}``, e.g. to merge into ``entity_representations_kwargs``.
    """
    return {"backfill_init": "neighbours", "triples": triples}
