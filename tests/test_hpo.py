"""Hyperparameter searches with a backfill: the backfill's options fixed in every trial, the model's searched.

Each study is tiny (two trials of one epoch on nations). The trials' models are saved and inspected: each has our
backfill with the frozen rows as built, and the trials differ in the searched size.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
import torch

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import ConfigError
from pykeen_backfill.experiments import pipeline_from_path
from pykeen_backfill.experiments.optimize import hpo_pipeline, hpo_pipeline_from_path

CONFIG = pathlib.Path(__file__).parent / "configs" / "hpo_transe_backfill.json"
BASE_IDS = [3, 0, 7]
#: a frozen base whose rows are known whatever the trial's size: all ones
FROZEN = {"base_ids": BASE_IDS, "base_kwargs": {"initializer": "ones", "trainable": False}}
TINY = dict(
    dataset="nations",
    training_kwargs={"num_epochs": 1, "batch_size": 512, "use_tqdm": False},
    evaluation_kwargs={"use_tqdm": False},
    sampler="random",
    sampler_kwargs={"seed": 3},
    n_trials=2,
)
SIZES = {"embedding_dim": {"type": int, "low": 4, "high": 12, "q": 4}}


def _trial_models(directory: pathlib.Path) -> list[torch.nn.Module]:
    return [torch.load(path, weights_only=False) for path in sorted(directory.glob("*/trained_model.pkl"))]


def _check_trials(result, directory: pathlib.Path) -> None:
    assert [trial.state.name for trial in result.study.trials] == ["COMPLETE", "COMPLETE"]
    models = _trial_models(directory)
    assert len(models) == 2
    sizes = set()
    for model in models:
        representation = model.entity_representations[0]
        assert isinstance(representation, BackfillRepresentation)
        rows = representation(torch.tensor(BASE_IDS))
        sizes.add(rows.shape[-1])
        # the frozen rows are as built after training, whatever size the trial sampled
        assert torch.equal(rows, torch.ones_like(rows))
        assert not any(p.requires_grad for p in representation.base.parameters())
    assert len(sizes) == 2, "the two trials should have sampled different sizes"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["DistMult", "TransE"])
def test_a_study_keeps_the_backfill_fixed_and_searches_the_model(model: str, tmp_path: pathlib.Path) -> None:
    """DistMult takes representation kwargs itself, TransE refuses them in its constructor: both search the same."""
    result = hpo_pipeline(
        model=model,
        model_kwargs={"entity_representations": "backfill", "entity_representations_kwargs": FROZEN},
        model_kwargs_ranges=SIZES,
        save_model_directory=str(tmp_path),
        **TINY,
    )
    _check_trials(result, tmp_path)
    best = result._get_best_study_config()["pipeline"]["model_kwargs"]
    assert best["entity_representations_kwargs"] == FROZEN


@pytest.mark.slow
def test_pykeens_own_search_cannot_build_transe_with_representation_kwargs() -> None:
    """What the glue is for: PyKEEN's hpo_pipeline passes them to TransE, whose constructor refuses them."""
    from pykeen.hpo import hpo_pipeline as pykeen_hpo_pipeline

    with pytest.raises(TypeError, match="entity_representations_kwargs"):
        pykeen_hpo_pipeline(
            model="TransE",
            model_kwargs={"entity_representations": "backfill", "entity_representations_kwargs": FROZEN},
            **{**TINY, "n_trials": 1},
        )


@pytest.mark.slow
def test_optimize_runs_an_unchanged_optimize_config_and_its_best_config_runs(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "study"
    done = subprocess.run(
        [sys.executable, "-m", "pykeen_backfill.cli", "optimize", str(CONFIG), "-d", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "best trial:" in done.stdout
    study = json.loads((out / "study.json").read_text())
    assert study["model"] == "transe"
    assert len((out / "trials.tsv").read_text().splitlines()) == 1 + 2
    best = out / "best_pipeline" / "pipeline_config.json"
    assert json.loads(best.read_text())["pipeline"]["model_kwargs"]["entity_representations"] == "backfill"
    # the best configuration is one pykeen-backfill run takes, the backfill in place
    model = pipeline_from_path(best).model
    assert isinstance(model.entity_representations[0], BackfillRepresentation)


def test_a_study_in_threads_is_refused_before_its_first_trial() -> None:
    with pytest.raises(ConfigError, match="n_jobs=2"):
        hpo_pipeline(
            model="TransE",
            model_kwargs={"entity_representations": "backfill", "entity_representations_kwargs": FROZEN},
            **{**TINY, "n_jobs": 2},
        )


def test_unknown_keys_and_models_are_refused_before_the_first_trial(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="n_trails"):
        hpo_pipeline(model="TransE", **{**TINY, "n_trails": 2})
    with pytest.raises(ConfigError, match="'TransX'"):
        hpo_pipeline(model="TransX", **TINY)
    config = json.loads(CONFIG.read_text())
    config["pipeline"]["model_kwargs"]["entity_representations_kwargs"]["base_kwargs"]["shape"] = 8
    path = tmp_path / "fixed_shape.json"
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError, match="Drop shape"):
        hpo_pipeline_from_path(path)


def test_optimize_refuses_a_fixed_shape_in_one_line(tmp_path: pathlib.Path) -> None:
    config = json.loads(CONFIG.read_text())
    config["pipeline"]["model_kwargs"]["entity_representations_kwargs"]["base_kwargs"]["shape"] = 8
    path = tmp_path / "fixed_shape.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    out = tmp_path / "study"
    done = subprocess.run(
        [sys.executable, "-m", "pykeen_backfill.cli", "optimize", str(path), "-d", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr[-3000:]
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "Drop shape" in line
    assert not out.exists()
