"""Feed a rank-based evaluator from scores of all entities, a memory-bounded batch of queries at a time.

The ranks follow PyKEEN's filtered protocol step for step: the scores of known true answers other than the query's
own answer become NaN, and :meth:`~pykeen.evaluation.RankBasedEvaluator.process_scores_` turns the rest into
optimistic, realistic and pessimistic ranks and candidate counts, so the metrics are PyKEEN's own.

Fast scores come with a bound on their distance to PyKEEN's (see :mod:`.scoring`). Before ranking, every score that
the bound does not place clearly above or below the true answer's, and the true answer's own, are recomputed with
the model's :meth:`~pykeen.models.Model.score_t` / :meth:`~pykeen.models.Model.score_h` for just those candidates:
each comparison that decides a rank is then made on PyKEEN's numbers, ties included.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import torch
from pykeen.evaluation import RankBasedEvaluator
from pykeen.models import Model
from pykeen.typing import LABEL_HEAD, LABEL_TAIL

from .filtering import FilterIndex

__all__ = [
    "BYTES_PER_SCORE",
    "BoundedScorer",
    "batch_rows",
    "feed_ranks",
]

#: bytes per score and candidate alive at once while ranking: the scores, the bounded neighbours of a score and the
#: masks comparing them, and the comparison masks of :meth:`pykeen.evaluation.ranks.Ranks.from_scores`
BYTES_PER_SCORE = 32

#: queries whose undecided candidates are recomputed together: two, the fewest for which PyKEEN broadcasts as it does
#: for a whole batch, and the cheapest, as the candidates of a group are the union of its queries'
_PAIR = 2

#: queries recomputed together with whole rows, and the fewest for which the sums run as for a whole batch
_GROUP, _FEWEST = 32, 16

_COLUMN = {LABEL_HEAD: 0, LABEL_TAIL: 2}

#: scores of all entities for a batch and a target, and a bound on their distance to PyKEEN's (``None``: exact)
BoundedScorer = Callable[[torch.Tensor, str], tuple[torch.Tensor, torch.Tensor | None]]


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
    model: Model,
    scorer: BoundedScorer,
    mapped_triples: torch.Tensor,
    *,
    filter_index: FilterIndex,
    targets: Collection[str],
    rows: int,
    sigmoid: bool,
    whole_rows: bool = False,
) -> None:
    """Rank the answers of the given triples and hand the ranks to the evaluator, in the order of the triples.

    :param evaluator:
        A filtered rank-based evaluator; its :meth:`~pykeen.evaluation.RankBasedEvaluator.process_scores_` is called.
    :param model:
        The model, in evaluation mode; it recomputes the scores the bound leaves undecided.
    :param scorer:
        The scores of all entities for a batch of triples and a target, with a bound on their distance to the
        model's own scores.
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
    :param whole_rows:
        Whether to recompute all scores of a query that has undecided candidates (see
        :func:`~.scoring.settles_whole_rows`), rather than only the undecided ones.
    """
    for start in range(0, len(mapped_triples), rows):
        batch = mapped_triples[start : start + rows]
        for target in targets:
            scores, bound = scorer(batch, target)
            if bound is not None:
                undecided = _undecided(scores, bound, batch[:, _COLUMN[target]], sigmoid)
                if whole_rows:
                    _settle_rows_(model, scores, undecided, batch, target)
                else:
                    _settle_(model, scores, undecided, batch, target)
            if sigmoid:
                scores = torch.sigmoid(scores)
            evaluator.process_scores_(
                hrt_batch=batch, target=target, scores=scores, true_scores=_filter_(scores, batch, target, filter_index)
            )


def _undecided(scores: torch.Tensor, bound: torch.Tensor, answers: torch.Tensor, sigmoid: bool) -> torch.Tensor:
    """Tell which scores may compare with the true answer's otherwise than PyKEEN's do (the answer's own included).

    With ``g`` the (monotone) post-processing, a score ``s`` within ``b`` of PyKEEN's is surely above the answer's
    (itself within ``b`` of ``a``) if ``g(s - b) > g(a + b)``, and surely below if ``g(s + b) < g(a - b)``.
    """
    post = torch.sigmoid if sigmoid else torch.clone
    true = scores.gather(1, answers.unsqueeze(1))
    margin = bound.unsqueeze(1)
    above = post(scores - margin) > post(true + margin)
    above |= post(scores + margin) < post(true - margin)
    undecided = above.logical_not_()
    undecided[torch.arange(len(answers), device=answers.device), answers] = True
    return undecided


def _own_scores(model: Model, queries: torch.Tensor, target: str, ids: torch.Tensor | None) -> torch.Tensor:
    if target == LABEL_TAIL:
        return model.score_t(queries[:, :2], tails=ids)
    return model.score_h(queries[:, 1:], heads=ids)


def _settle_(model: Model, scores: torch.Tensor, undecided: torch.Tensor, batch: torch.Tensor, target: str) -> None:
    """Overwrite the undecided scores of a batch with the model's own, a group of queries at a time."""
    num_entities = scores.shape[1]
    # a query whose only undecided score is its answer's is decided: every comparison with the answer is
    rows = (undecided.sum(dim=1) > 1).nonzero().squeeze(1)
    for first in range(0, len(rows), _PAIR):
        group = rows[first : first + _PAIR]
        if len(group) < _PAIR and len(batch) >= _PAIR:
            # a lone query borrows another of the batch, whose recomputed scores are PyKEEN's too
            others = torch.arange(len(batch), device=rows.device)
            group = torch.cat([group, others[others != group[0]][:1]])
        ids = undecided[group].any(dim=0).nonzero().squeeze(1)
        if len(ids) < 2:
            ids = torch.cat([ids, (ids[:1] + 1) % num_entities])
        exact = _own_scores(model, batch[group], target, ids).to(scores.dtype)
        scores[group.unsqueeze(1), ids.unsqueeze(0)] = exact


def _settle_rows_(
    model: Model, scores: torch.Tensor, undecided: torch.Tensor, batch: torch.Tensor, target: str
) -> None:
    """Overwrite all scores of the queries with an undecided candidate besides the answer with the model's own."""
    rows = (undecided.sum(dim=1) > 1).nonzero().squeeze(1)
    for first in range(0, len(rows), _GROUP):
        group = rows[first : first + _GROUP]
        if len(group) < _FEWEST:
            # pad with other queries of the batch, whose own scores are simply written again
            others = torch.arange(len(batch), device=rows.device)
            group = torch.cat([group, others[~torch.isin(others, group)][: _FEWEST - len(group)]])
        scores.index_copy_(0, group, _own_scores(model, batch[group], target, None).to(scores.dtype))


def _filter_(scores: torch.Tensor, batch: torch.Tensor, target: str, filter_index: FilterIndex) -> torch.Tensor:
    """Hide the known answers other than each query's own in place and return the true scores, shape ``(b, 1)``."""
    arange = torch.arange(len(batch), device=batch.device)
    answers = batch[:, _COLUMN[target]]
    true_scores = scores[arange, answers]
    rows, columns = filter_index.positions(batch, target)
    scores[rows, columns] = float("nan")
    scores[arange, answers] = true_scores
    return true_scores.unsqueeze(dim=-1)
