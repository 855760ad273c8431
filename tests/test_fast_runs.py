"""run and optimize: trials and runs train in a frozen heap and evaluate with FastRankBasedEvaluator."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from pykeen.evaluation import RankBasedEvaluator
from pykeen.training.callbacks import TrainingCallback

from pykeen_backfill.evaluation import FastRankBasedEvaluator
from pykeen_backfill.evaluation.choice import fast_evaluator
from pykeen_backfill.experiments import pipeline_from_config
from pykeen_backfill.experiments.optimize import hpo_pipeline


class _FreezeWatch(TrainingCallback):
    """Record how many objects are frozen after each epoch, when PyKEEN collects garbage."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen: list[int] = []

    def post_epoch(self, epoch: int, epoch_loss: float, **kwargs: Any) -> None:
        self.frozen.append(gc.get_freeze_count())


def _config(**pipeline: Any) -> dict[str, Any]:
    return {
        "pipeline": {
            "dataset": "nations",
            "model": "DistMult",
            "model_kwargs": {"embedding_dim": 6},
            "evaluation_kwargs": {"use_tqdm": False},
            "random_seed": 0,
            **pipeline,
        }
    }


@pytest.mark.parametrize("evaluator", [None, "rankbased", "fastrankbased", "RankBasedEvaluator"])
def test_run_trains_frozen_and_evaluates_as_pykeen(nations: Any, evaluator: str | None) -> None:
    watch = _FreezeWatch()
    extra = {} if evaluator is None else {"evaluator": evaluator}
    training = {"num_epochs": 2, "use_tqdm": False, "callbacks": watch}
    result = pipeline_from_config(_config(training_kwargs=training, **extra))
    assert len(watch.frozen) == 2 and min(watch.frozen) > 0
    assert gc.get_freeze_count() == 0
    filters = [nations.training.mapped_triples, nations.validation.mapped_triples]
    theirs = RankBasedEvaluator().evaluate(
        result.model, nations.testing.mapped_triples, additional_filter_triples=filters
    )
    assert result.metric_results.to_flat_dict() == pytest.approx(theirs.to_flat_dict(), abs=1e-6, nan_ok=True)


def test_only_pykeens_rank_based_evaluator_is_replaced() -> None:
    assert fast_evaluator(None) is FastRankBasedEvaluator
    assert fast_evaluator("RankBased") is FastRankBasedEvaluator
    assert fast_evaluator(RankBasedEvaluator) is FastRankBasedEvaluator
    assert fast_evaluator("classification") == "classification"
    instance = RankBasedEvaluator()
    assert fast_evaluator(instance) is instance


def test_study_trials_evaluate_fast_in_a_frozen_heap() -> None:
    watch = _FreezeWatch()
    result = hpo_pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs={"embedding_dim": 4},
        training_kwargs={"num_epochs": 1, "batch_size": 512, "use_tqdm": False, "callbacks": watch},
        evaluation_kwargs={"use_tqdm": False},
        n_trials=1,
    )
    assert result.study.user_attrs["evaluator"] == FastRankBasedEvaluator.get_normalized_name()
    assert watch.frozen and min(watch.frozen) > 0
    assert gc.get_freeze_count() == 0


class _Node:
    """An object in a reference cycle, which only the cyclic collector frees."""

    def __init__(self) -> None:
        self.me = self


def test_frozen_heap_freezes_survivors_of_full_collections_and_gives_all_back() -> None:
    from pykeen_backfill.training import frozen_heap

    assert gc.get_freeze_count() == 0
    with frozen_heap():
        on_entry = gc.get_freeze_count()
        assert on_entry > 0
        kept = [_Node() for _ in range(1000)]
        gc.collect(generation=1)
        assert gc.get_freeze_count() == on_entry
        gc.collect()
        assert gc.get_freeze_count() >= on_entry + 1000
        with frozen_heap():
            pass
        assert gc.get_freeze_count() >= on_entry + 1000
        garbage = _Node()
        del garbage
        assert gc.collect() >= 1
    assert gc.get_freeze_count() == 0
    assert len(kept) == 1000
