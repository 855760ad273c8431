"""Growth: train a grown graph from an earlier run, step after step, evaluated by split.

- :mod:`.earlier`: the earlier run, read once (vectors and training triples),
- :mod:`.snapshots`: a grown graph named by files or lists of files per split (gzip included), labels kept as strings,
- :mod:`.initializer`: the neighbour-mean start of backfilled rows (``backfill_init="neighbours"``) and the
  relation-aware start (:func:`relation_aware_start`),
- :mod:`.strategies`: which rows learn, on which triples, for how long (``frozen``, ``brief``, ``touched``, ``full``),
- :mod:`.plan`: what one step trains, given a strategy,
- :mod:`.evaluation`: rank-based metrics overall, on known triples, and on triples touching a new id,
- :mod:`.workflow`: :func:`grow`, what ``pykeen-backfill grow`` does.
"""

from __future__ import annotations

from .earlier import EarlierRun, read_earlier
from .evaluation import format_split_table, known_ids, known_mask, split_metrics
from .initializer import (
    NeighbourInitializer,
    RelationAwareStart,
    composed_means,
    neighbour_means,
    neighbour_start,
    relation_aware_start,
)
from .strategies import DEFAULT_STRATEGY, STRATEGIES, Strategy, get_strategy
from .workflow import Growth, add_split_to_results, grow, grown_config, split_metrics_of_run

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "EarlierRun",
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
    "Strategy",
    "get_strategy",
    "read_earlier",
]
