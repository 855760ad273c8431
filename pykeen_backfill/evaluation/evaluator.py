"""A drop-in :class:`~pykeen.evaluation.RankBasedEvaluator` that scores all candidates by matrix products.

:class:`FastRankBasedEvaluator` gives PyKEEN's filtered rank-based metrics (optimistic, realistic and pessimistic
ranks, both sides, every metric :class:`~pykeen.evaluation.RankBasedEvaluator` reports, as a normal
:class:`~pykeen.evaluation.RankBasedMetricResults`) while scoring through :func:`.scoring.exact_scorer` in batches
bounded by memory, not by the batch size a user passes. Models it cannot score exactly, and requests it does not
cover (unfiltered ranks, restricted entities or relations, relation prediction, another device, inductive modes) go
to PyKEEN's own evaluation unchanged.

:meth:`FastRankBasedEvaluator.evaluate_parts` ranks the test triples once and reports metrics for several parts of
them, e.g. the triples among known entities and the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from pykeen.evaluation import RankBasedEvaluator, RankBasedMetricResults
from pykeen.models import Model
from pykeen.typing import LABEL_HEAD, LABEL_TAIL
from pykeen.utils import prepare_filter_triples

from .filtering import FilterIndex
from .ranking import BYTES_PER_SCORE, BoundedScorer, batch_rows, feed_ranks
from .scoring import exact_scorer, query_numel, settles_whole_rows

__all__ = [
    "DEFAULT_MEMORY_BYTES",
    "FastRankBasedEvaluator",
]

#: the memory the score buffers of one batch may take by default: 256 MiB
DEFAULT_MEMORY_BYTES = 256 * 2**20

_SIDES = {LABEL_HEAD, LABEL_TAIL}


@contextmanager
def _evaluation_mode(model: Model) -> Iterator[None]:
    """Score in evaluation mode without gradients, and give the model back in the mode it was in."""
    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(training)


class FastRankBasedEvaluator(RankBasedEvaluator):
    """PyKEEN's rank-based evaluator, scoring all candidates by matrix products where that is exact.

    Use it wherever PyKEEN takes an evaluator, e.g. ``pipeline(..., evaluator=FastRankBasedEvaluator)``.
    """

    def __init__(self, *args: Any, memory_bytes: int = DEFAULT_MEMORY_BYTES, **kwargs: Any):
        """Initialize the evaluator.

        :param args:
            Positional parameters of :class:`~pykeen.evaluation.RankBasedEvaluator`.
        :param memory_bytes:
            The memory the score buffers of one batch may take; batches shrink to fit, whatever ``batch_size``
            :meth:`evaluate` is given.
        :param kwargs:
            Keyword parameters of :class:`~pykeen.evaluation.RankBasedEvaluator`.

        :raises ValueError:
            if ``memory_bytes`` is not a positive number of bytes
        """
        if isinstance(memory_bytes, bool) or not isinstance(memory_bytes, int) or memory_bytes <= 0:
            raise ValueError(f"memory_bytes must be a positive number of bytes, not {memory_bytes!r}")
        super().__init__(*args, **kwargs)
        self.memory_bytes = memory_bytes

    def evaluate(  # noqa: D102
        self,
        model: Model,
        mapped_triples: torch.Tensor,
        batch_size: int | None = None,
        slice_size: int | None = None,
        device: torch.device | None = None,
        use_tqdm: bool = True,
        tqdm_kwargs: Mapping[str, Any] | None = None,
        restrict_entities_to: Collection[int] | None = None,
        restrict_relations_to: Collection[int] | None = None,
        do_time_consuming_checks: bool = True,
        additional_filter_triples: torch.Tensor | list[torch.Tensor] | None = None,
        pre_filtered_triples: bool = True,
        targets: Collection[str] = (LABEL_HEAD, LABEL_TAIL),
    ) -> RankBasedMetricResults:
        covered = (
            self.filtered
            and self.mode is None
            and restrict_entities_to is None
            and restrict_relations_to is None
            and set(targets) <= _SIDES
            and (device is None or torch.device(device) == model.device)
        )
        if covered:
            with _evaluation_mode(model):
                scorer = exact_scorer(model)
                if scorer is not None:
                    rows = batch_rows(model.num_entities, query_numel(model), self.memory_bytes, batch_size)
                    sigmoid = bool(model.predict_with_sigmoid)
                    self._rank(model, scorer, mapped_triples, additional_filter_triples, targets, rows, sigmoid)
                    return self.finalize()
        return super().evaluate(
            model=model,
            mapped_triples=mapped_triples,
            batch_size=batch_size,
            slice_size=slice_size,
            device=device,
            use_tqdm=use_tqdm,
            tqdm_kwargs=tqdm_kwargs,
            restrict_entities_to=restrict_entities_to,
            restrict_relations_to=restrict_relations_to,
            do_time_consuming_checks=do_time_consuming_checks,
            additional_filter_triples=additional_filter_triples,
            pre_filtered_triples=pre_filtered_triples,
            targets=targets,
        )

    def evaluate_parts(
        self,
        model: Model,
        mapped_triples: torch.Tensor,
        parts: Mapping[str, torch.Tensor],
        *,
        additional_filter_triples: torch.Tensor | list[torch.Tensor] | None = None,
        batch_size: int | None = None,
    ) -> dict[str, RankBasedMetricResults | None]:
        """Rank the triples once and report the metrics of several parts of them.

        Every part's ranks are the ranks of its triples among all of them: all ``mapped_triples`` and the additional
        ones are filtered, so an ``overall`` part of every triple gives exactly :meth:`evaluate`'s figures, and a
        partition gives parts whose ranks together are the overall ones. Models without an exact scorer are scored
        with their own :meth:`~pykeen.models.Model.predict`, still in one pass.

        :param model:
            The model to evaluate.
        :param mapped_triples:
            shape: ``(n, 3)``; the triples to rank.
        :param parts:
            A name and a boolean mask of shape ``(n,)`` per part.
        :param additional_filter_triples:
            The triples to filter besides ``mapped_triples``, as for :meth:`evaluate`.
        :param batch_size:
            The largest number of triples to score at once; memory bounds it further.

        :return:
            The metrics of each part, ``None`` for a part without triples.

        :raises ValueError:
            if a mask does not have one entry per triple, or the evaluator is not filtered
        """
        if not self.filtered:
            raise ValueError("evaluate_parts ranks with the filtered protocol; this evaluator has filtered=False")
        masks = {name: self._mask(name, mask, len(mapped_triples)) for name, mask in parts.items()}
        with _evaluation_mode(model):
            scorer = exact_scorer(model)
            if scorer is None:
                # PyKEEN's scoring broadcasts a row per candidate and query; predict applies the sigmoid itself
                numel = model.num_entities * (BYTES_PER_SCORE + 4 * query_numel(model))
                rows = max(1, min(self.memory_bytes // numel, batch_size or len(mapped_triples)))
                scorer, sigmoid = _predictor(model), False
            else:
                rows = batch_rows(model.num_entities, query_numel(model), self.memory_bytes, batch_size)
                sigmoid = bool(model.predict_with_sigmoid)
            self._rank(model, scorer, mapped_triples, additional_filter_triples, _SIDES, rows, sigmoid)
        ranks = {key: np.concatenate(value) for key, value in self.ranks.items()}
        candidates = {key: np.concatenate(value) for key, value in self.num_candidates.items()}
        results = {
            name: self._finalize_part(ranks, candidates, mask) if mask.any() else None for name, mask in masks.items()
        }
        self.clear()
        return results

    @staticmethod
    def _mask(name: str, mask: torch.Tensor, n: int) -> np.ndarray:
        mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool or mask.shape != (n,):
            raise ValueError(
                f"parts[{name!r}] must be a boolean mask of shape ({n},), not {mask.dtype} {tuple(mask.shape)}"
            )
        return mask.cpu().numpy()

    def _finalize_part(
        self, ranks: Mapping[Any, np.ndarray], candidates: Mapping[Any, np.ndarray], mask: np.ndarray
    ) -> RankBasedMetricResults:
        self.ranks = defaultdict(list, {key: [value[mask]] for key, value in ranks.items()})
        self.num_candidates = defaultdict(list, {key: [value[mask]] for key, value in candidates.items()})
        return super().finalize()

    def _rank(
        self,
        model: Model,
        scorer: BoundedScorer,
        mapped_triples: torch.Tensor,
        additional_filter_triples: torch.Tensor | list[torch.Tensor] | None,
        targets: Collection[str],
        rows: int,
        sigmoid: bool,
    ) -> None:
        self.clear()
        mapped_triples = mapped_triples.to(model.device)
        filters = prepare_filter_triples(
            mapped_triples=mapped_triples, additional_filter_triples=additional_filter_triples
        )
        feed_ranks(
            self,
            model,
            scorer,
            mapped_triples,
            filter_index=FilterIndex(filters.to(model.device), model.num_relations),
            targets=[target for target in (LABEL_HEAD, LABEL_TAIL) if target in targets],
            rows=rows,
            sigmoid=sigmoid,
            whole_rows=settles_whole_rows(model),
        )


def _predictor(model: Model) -> BoundedScorer:
    """Score all entities with the model's own :meth:`~pykeen.models.Model.predict`."""

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, None]:
        return model.predict(hrt_batch=batch, target=target), None

    return score
