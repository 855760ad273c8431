"""Where this package's runs put :class:`.FastRankBasedEvaluator` in place of PyKEEN's rank-based evaluator."""

from __future__ import annotations

from typing import Any

from pykeen.evaluation import RankBasedEvaluator, evaluator_resolver

from .evaluator import FastRankBasedEvaluator

__all__ = [
    "fast_evaluator",
]

_NAMES = {evaluator_resolver.normalize_cls(RankBasedEvaluator), FastRankBasedEvaluator.get_normalized_name()}


def fast_evaluator(evaluator: Any) -> Any:
    """Return :class:`.FastRankBasedEvaluator` for PyKEEN's default evaluator, else the evaluator unchanged.

    Both give the same figures; the metrics :class:`~pykeen.evaluation.RankBasedEvaluator` is asked for through
    ``evaluator_kwargs`` work the same way. ``"fastrankbased"``, the name PyKEEN's hyperparameter search writes into
    the best configuration of a study that used it, resolves to it too.

    :param evaluator:
        The ``evaluator`` of :func:`pykeen.pipeline.pipeline`: ``None``, a name, a class or an instance.

    :return:
        :class:`.FastRankBasedEvaluator` for ``None``, ``RankBasedEvaluator``'s class or names and its own; anything
        else, instances included, as given.
    """
    if evaluator is None or evaluator is RankBasedEvaluator:
        return FastRankBasedEvaluator
    if isinstance(evaluator, str) and evaluator_resolver.normalize(evaluator) in _NAMES:
        return FastRankBasedEvaluator
    return evaluator
