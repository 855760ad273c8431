"""Rank-based evaluation that scores all candidates by matrix products, see :mod:`.evaluator`.

- :mod:`.scoring`: the exact all-entity scorers per interaction;
- :mod:`.filtering`: the known true triples of a batch of queries, by sorted keys;
- :mod:`.ranking`: memory-bounded batches of queries, ranked as PyKEEN ranks them;
- :mod:`.evaluator`: :class:`FastRankBasedEvaluator`, the evaluator PyKEEN's pipeline accepts.
"""

from __future__ import annotations

from .evaluator import DEFAULT_MEMORY_BYTES, FastRankBasedEvaluator
from .scoring import exact_scorer

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "FastRankBasedEvaluator",
    "exact_scorer",
]
