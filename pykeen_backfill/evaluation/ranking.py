"""Feed a rank-based evaluator from scores of all entities, a memory-bounded batch of queries at a time.

The ranks follow PyKEEN's filtered protocol step for step: the scores of known true answers other than the query's
own answer become NaN, and :meth:`~pykeen.evaluation.RankBasedEvaluator.process_scores_` turns the rest into
optimistic, realistic and pessimistic ranks and candidate counts, so the metrics are PyKEEN's own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import torch
from pykeen.evaluation import RankBasedEvaluator
from pykeen.typing import LABEL_HEAD, LABEL_TAIL

from .filtering import FilterIndex

__all__ = [
    "BYTES_PER_SCORE",
    "batch_rows",
    "feed_ranks",
]

#: bytes per score and candidate alive at once while ranking: the scores, a distance or product buffer and the
#: comparison masks of :meth:`pykeen.evaluation.ranks.Ranks.from_scores`
BYTES_PER_SCORE = 16

_COLUMN = {LABEL_HEAD: 0, LABEL_TAIL: 2}


def batch_rows(num_entities: int, query_numel: int, memory_bytes: int, batch_size: int | None) -> int:
    """Return how many queries to score at once so that the batch's buffers fit into ``memory_bytes``.

    :param num_entities:
        The number of candidates per query.
    :param query_numel:
        The largest number of elements of one row the scorer builds per query.
    :param memory_bytes:
        The memory the buffers of one batch may take.
    :param batch_size:
        The largest batch the user asked for; ``None``: no limit besides memory.

    :return:
        At least one.
    """
    rows = memory_bytes // (num_entities * BYTES_PER_SCORE + 16 * query_numel)
    if batch_size is not None:
        rows = min(rows, batch_size)
    return max(1, int(rows))


def feed_ranks(
    evaluator: RankBasedEvaluator,
    scorer: Callable[[torch.Tensor, str], torch.Tensor],
    mapped_triples: torch.Tensor,
    *,
    filter_index: FilterIndex,
    targets: Collection[str],
    rows: int,
    sigmoid: bool,
) -> None:
    """Rank the answers of the given triples and hand the ranks to the evaluator, in the order of the triples.

    :param evaluator:
        A filtered rank-based evaluator; its :meth:`~pykeen.evaluation.RankBasedEvaluator.process_scores_` is called.
    :param scorer:
        The scores of all entities for a batch of triples and a target.
    :param mapped_triples:
        shape: ``(n, 3)``; the triples to rank, on the scorer's device.
    :param filter_index:
        The known true triples, the query triples included.
    :param targets:
        Which sides to rank: ``"head"``, ``"tail"`` or both.
    :param rows:
        How many triples to score at once.
    :param sigmoid:
        Whether to pass the scores through a sigmoid first, as PyKEEN's ``predict_with_sigmoid`` does.
    """
    for start in range(0, len(mapped_triples), rows):
        batch = mapped_triples[start : start + rows]
        for target in targets:
            scores = scorer(batch, target)
            if sigmoid:
                scores = torch.sigmoid(scores)
            evaluator.process_scores_(
                hrt_batch=batch, target=target, scores=scores, true_scores=_filter_(scores, batch, target, filter_index)
            )


def _filter_(scores: torch.Tensor, batch: torch.Tensor, target: str, filter_index: FilterIndex) -> torch.Tensor:
    """Hide the known answers other than each query's own in place and return the true scores, shape ``(b, 1)``."""
    arange = torch.arange(len(batch), device=batch.device)
    answers = batch[:, _COLUMN[target]]
    true_scores = scores[arange, answers]
    rows, columns = filter_index.positions(batch, target)
    scores[rows, columns] = float("nan")
    scores[arange, answers] = true_scores
    return true_scores.unsqueeze(dim=-1)
