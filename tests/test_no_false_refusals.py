"""The checks before a run refuse only what PyKEEN would not run, and a study only what some trial would fail on."""

from __future__ import annotations

import pytest
from pykeen.models import LiteralModel, model_resolver

from pykeen_backfill.errors import ConfigError
from pykeen_backfill.experiments import check_config
from pykeen_backfill.experiments.search import check_searched_shapes, searched_model_keys


def _config(model: str, **model_kwargs: object) -> dict:
    return {"pipeline": {"dataset": "nations", "model": model, "model_kwargs": model_kwargs}}


@pytest.mark.parametrize("key", sorted(model_resolver.lookup_dict))
def test_every_keyword_pykeens_own_search_sets_is_accepted(key: str) -> None:
    """PyKEEN's HPO passes each key of a model's ``hpo_default`` to the model: none may be refused here."""
    cls = model_resolver.lookup(key)
    values = {name: _a_value(strategy) for name, strategy in getattr(cls, "hpo_default", {}).items()}
    config = _config(key, **values)
    if issubclass(cls, LiteralModel):
        config["pipeline"]["dataset"] = "nationsliteral"
    check_config(config)


def _a_value(strategy: dict) -> object:
    """A value a trial may sample."""
    if strategy["type"] == "categorical":
        return strategy["choices"][0]
    if strategy["type"] in ("bool", bool):
        return True
    return strategy["low"]


def test_keywords_the_mock_model_ignores_are_accepted() -> None:
    check_config(_config("fixed", anything=1))


def test_an_unknown_keyword_is_still_refused() -> None:
    with pytest.raises(ConfigError, match=r"TransE does not accept: \['embeding_dim'\]"):
        check_config(_config("transe", embeding_dim=8))


def _study(model_kwargs: dict, ranges: dict | None = None, model: str = "DistMult") -> dict:
    return {"model": model, "model_kwargs": model_kwargs, "model_kwargs_ranges": ranges}


BACKFILL = {"entity_representations": "backfill"}
FROZEN = {"base_ids": [0, 1], "base_kwargs": {"trainable": False}}


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"base_ids": [0, 1], "base_kwargs": {"shape": 32}}, "entity_representations_kwargs.base_kwargs.shape=32"),
        ({"base_ids": [0, 1], "backfill_kwargs": {"embedding_dim": 32}}, "backfill_kwargs.embedding_dim=32"),
        ({"base_ids": [0, 1], "shape": 32}, "entity_representations_kwargs.shape=32"),
        ([{"base_ids": [0, 1], "base_kwargs": {"shape": 32}}], "entity_representations_kwargs[0].base_kwargs.shape"),
    ],
)
def test_a_fixed_shape_with_a_searched_size_is_refused_before_the_study(kwargs: object, where: str) -> None:
    study = _study({**BACKFILL, "entity_representations_kwargs": kwargs})
    with pytest.raises(ConfigError, match="Drop") as info:
        check_searched_shapes(study)
    assert where in str(info.value) and "['embedding_dim']" in str(info.value)


def test_a_pretrained_base_with_a_searched_size_is_refused_before_the_study() -> None:
    study = _study({**BACKFILL, "entity_representations_kwargs": {"pretrained": "old_run"}})
    with pytest.raises(ConfigError, match="Fix embedding_dim in model_kwargs"):
        check_searched_shapes(study)


@pytest.mark.parametrize(
    "study",
    [
        # the size is fixed, so a shape that repeats it is redundant, not wrong
        _study({**BACKFILL, "embedding_dim": 32, "entity_representations_kwargs": {"base_kwargs": {"shape": 32}}}),
        # nothing fixes a size: the model gives each trial's to the parts
        _study(
            {**BACKFILL, "entity_representations_kwargs": {"base_ids": [0, 1], "base_kwargs": {"trainable": False}}}
        ),
    ],
)
def test_studies_that_every_trial_can_run_are_accepted(study: dict) -> None:
    check_searched_shapes(study)


def test_searched_keys_follow_pykeen() -> None:
    cls = model_resolver.lookup("transr")
    searched = searched_model_keys(cls, {"embedding_dim": 8}, {"scoring_fct_norm": {"type": int, "low": 1, "high": 2}})
    assert "embedding_dim" not in searched and {"relation_dim", "scoring_fct_norm"} <= searched


def test_a_study_without_a_fixed_shape_runs_trials_of_different_sizes() -> None:
    """What the check asks for works: each trial's size reaches the backfill's parts."""
    from pykeen.hpo import hpo_pipeline

    study = _study(
        {**BACKFILL, "entity_representations_kwargs": FROZEN},
        {"embedding_dim": {"type": int, "low": 4, "high": 12, "q": 4}},
    )
    check_searched_shapes(study)
    result = hpo_pipeline(
        n_trials=2,
        dataset="nations",
        **study,
        training_kwargs={"num_epochs": 1, "batch_size": 512, "use_tqdm": False},
        evaluation_kwargs={"use_tqdm": False},
        sampler="random",
        sampler_kwargs={"seed": 3},
    )
    trials = result.study.trials
    assert [trial.state.name for trial in trials] == ["COMPLETE", "COMPLETE"]
    assert len({trial.params["model.embedding_dim"] for trial in trials}) == 2
