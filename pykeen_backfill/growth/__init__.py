"""Growth: retrain a grown graph from an earlier run, new rows started from their known neighbours, evaluated by split.

- :mod:`.initializer`: the neighbour-mean start of backfilled rows (``backfill_init="neighbours"``) and the
  relation-aware start (:func:`relation_aware_start`),
- :mod:`.evaluation`: rank-based metrics overall, on known triples, and on triples touching a new id,
- :mod:`.workflow`: :func:`grow`, what ``pykeen-backfill grow`` does.
"""

from __future__ import annotations

from .evaluation import format_split_table, known_ids, known_mask, split_metrics
from .initializer import (
    NeighbourInitializer,
    RelationAwareStart,
    composed_means,
    neighbour_means,
    neighbour_start,
    relation_aware_start,
)
from .workflow import Growth, add_split_to_results, grow, grown_config, split_metrics_of_run

__all__ = [
    "Growth",
    "NeighbourInitializer",
    "RelationAwareStart",
    "add_split_to_results",
    "composed_means",
    "format_split_table",
    "grow",
    "grown_config",
    "known_ids",
    "known_mask",
    "neighbour_means",
    "neighbour_start",
    "relation_aware_start",
    "split_metrics",
    "split_metrics_of_run",
]
