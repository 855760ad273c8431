"""Warm start from the output of ``pykeen experiments run``: no ``training_triples/``, the id space from elsewhere."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
import torch
from click.testing import CliRunner
from pykeen.datasets import get_dataset
from pykeen.experiments.cli import experiments

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main
from pykeen_backfill.errors import PretrainedFormatError
from pykeen_backfill.experiments import pipeline_from_config
from pykeen_backfill.warm_start import export_vectors, open_pretrained

FAST = {
    "training_kwargs": {"num_epochs": 1, "batch_size": 512, "use_tqdm": False},
    "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
    "random_seed": 0,
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The directory given to ``pykeen experiments run -d``: a plain DistMult run on Nations."""
    directory = tmp_path_factory.mktemp("experiments")
    config = {
        "metadata": {"title": "DistMult"},
        "pipeline": {"dataset": "nations", "model": "DistMult", "model_kwargs": {"embedding_dim": 8}, **FAST},
    }
    path = directory / "distmult.json"
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(experiments, ["run", str(path), "-d", str(directory / "out")])
    assert result.exit_code == 0, result.output
    return directory / "out"


def _replicate(runs: pathlib.Path) -> pathlib.Path:
    (replicate,) = runs.glob("*/replicates/replicate-00000")
    assert not replicate.joinpath("training_triples").exists()
    return replicate


def _trained_vectors(runs: pathlib.Path) -> torch.Tensor:
    model = torch.load(_replicate(runs) / "trained_model.pkl", weights_only=False)
    return model.entity_representations[0](indices=None).detach()


@pytest.mark.parametrize("depth", ["output", "experiment", "replicate"])
def test_labels_come_from_the_configured_dataset(runs: pathlib.Path, depth: str) -> None:
    path = {"output": runs, "experiment": _replicate(runs).parent.parent, "replicate": _replicate(runs)}[depth]
    table = open_pretrained(path, allow_pickle=True).table("entity")
    nations = get_dataset(dataset="nations").training
    assert table.labels == tuple(sorted(nations.entity_to_id, key=nations.entity_to_id.get))
    assert torch.equal(table.vectors, _trained_vectors(runs))


def test_warm_start_through_a_config(runs: pathlib.Path) -> None:
    config = {
        "pipeline": {
            "dataset": "nations",
            "model": "TransE",
            "model_kwargs": {
                "embedding_dim": 8,
                "entity_representations": "backfill",
                "entity_representations_kwargs": {"pretrained": str(runs), "allow_pickle": True},
            },
            **FAST,
        }
    }
    entities = pipeline_from_config(config).model.entity_representations[0]
    assert isinstance(entities, BackfillRepresentation) and entities.num_base_ids == 14
    # every nation was known: all rows are the earlier run's, frozen
    assert torch.equal(entities(indices=None).detach(), _trained_vectors(runs))


def test_plan_and_export_accept_it(runs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    runner = CliRunner()
    shown = runner.invoke(main, ["plan", "--pretrained", str(runs), "--dataset", "nations"])
    assert shown.exit_code == 0, shown.output
    assert "14" in shown.output
    exported = runner.invoke(main, ["export", str(runs), str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    assert torch.equal(open_pretrained(tmp_path / "export").table("entity").vectors, _trained_vectors(runs))


def test_without_its_configuration_the_dataset_must_be_given(runs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    alone = shutil.copytree(_replicate(runs), tmp_path / "alone")
    expected = r'no training_triples/.*"dataset": "nations".*--pretrained-dataset'
    with pytest.raises(PretrainedFormatError, match=expected):
        open_pretrained(alone, allow_pickle=True)
    table = open_pretrained(alone, allow_pickle=True, dataset="nations").table("relation")
    assert len(table.labels) == 55

    runner = CliRunner()
    refused = runner.invoke(main, ["plan", "--pretrained", str(alone), "--dataset", "nations"])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1 and "--pretrained-dataset" in refused.output
    given = ["plan", "--pretrained", str(alone), "--pretrained-dataset", "nations", "--dataset", "nations"]
    assert runner.invoke(main, given).exit_code == 0
    exported = runner.invoke(main, ["export", str(alone), str(tmp_path / "export"), "--dataset", "nations"])
    assert exported.exit_code == 0, exported.output
    assert export_vectors(alone, tmp_path / "again", allow_pickle=True, dataset="nations").is_file()


def test_several_replicates_must_be_chosen_from(runs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    experiment = shutil.copytree(_replicate(runs).parent.parent, tmp_path / "experiment")
    shutil.copytree(experiment / "replicates" / "replicate-00000", experiment / "replicates" / "replicate-00001")
    with pytest.raises(PretrainedFormatError, match=r"several replicates; name one of .*replicate-00000.*00001"):
        open_pretrained(experiment, allow_pickle=True)
    chosen = open_pretrained(experiment / "replicates" / "replicate-00001", allow_pickle=True)
    assert torch.equal(chosen.table("entity").vectors, _trained_vectors(runs))
