"""The ``pykeen-backfill`` command line: ``run`` on configs PyKEEN's own models refuse, ``demo``, help, errors."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner
from pykeen.models import ERModel, TransE

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main


def _cli(*args: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pykeen_backfill.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_help_lists_the_commands(tmp_path: pathlib.Path) -> None:
    completed = _cli("--help", cwd=tmp_path)
    assert completed.returncode == 0
    commands = completed.stdout.split("Commands:")[1].split()
    assert {"run", "demo"} <= set(commands)


def test_run_transe(configs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(main, ["run", str(configs / "transe_backfill.json"), "-d", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "MRR: 0." in result.output and "Hits@10: " in result.output
    out = tmp_path / "out"
    assert {"trained_model.pkl", "results.json", "metadata.json", "configuration_copied.json"} <= {
        path.name for path in out.iterdir()
    }
    model = torch.load(out / "trained_model.pkl", weights_only=False)
    assert type(model) is TransE
    entities = model.entity_representations[0]
    assert type(entities) is BackfillRepresentation and entities.base_ids.tolist() == [3, 0, 7]


def test_run_interaction_and_dimensions(configs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(configs / "interaction_backfill.yaml"), "--directory", str(out)])
    assert result.exit_code == 0, result.output
    # PyKEEN's ad-hoc model class cannot be pickled; the saved model is the ERModel it derives from
    model = torch.load(out / "trained_model.pkl", weights_only=False)
    assert type(model) is ERModel
    entities, relations = model.entity_representations[0], model.relation_representations[0]
    assert type(entities) is BackfillRepresentation and entities.shape == (8,)
    assert type(relations) is BackfillRepresentation and relations.base_ids.tolist() == [10, 2, 5, 1]
    scores = model.score_hrt(torch.as_tensor([[0, 1, 2], [13, 54, 3]]))
    assert scores.shape == (2, 1) and torch.isfinite(scores).all()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("missing.json", None, "Error: config file 'missing.json' does not exist"),
        ("broken.json", '{"pipeline": {"model": }}', "Error: config 'broken.json' is not valid JSON"),
        ("broken.yaml", "pipeline:\n  model: [TransE\n", "Error: config 'broken.yaml' is not valid YAML"),
        ("config.txt", "", "must end in .json, .yaml or .yml"),
    ],
)
def test_unreadable_config_is_one_line_and_exit_2(tmp_path: pathlib.Path, name: str, text: str | None, message: str):
    if text is not None:
        (tmp_path / name).write_text(text)
    completed = _cli("run", name, cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and completed.stderr.startswith("Error: "), completed.stderr
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not any(path.name != name for path in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ('{"dataset": "nations", "model": "TransX"}', "pipeline.model='TransX'"),
        ('{"dataset": "nations", "model": "TransE", "model_kwargs": {"embeding_dim": 8}}', "embeding_dim"),
        (
            '{"dataset": "nations", "model": "TransE", "model_kwargs": {"entity_representations": "backfill",'
            ' "entity_representations_kwargs": {"base_ids": [3, 14]}}}',
            "14",
        ),
        (
            '{"dataset": "nations", "model": "TransE", "model_kwargs": {"entity_representations_kwargs": '
            '{"base_ids": [3, 4]}}}',
            'add entity_representations: "backfill"',
        ),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path: pathlib.Path, pipeline: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(f'{{"pipeline": {pipeline}}}')
    result = CliRunner().invoke(main, ["run", str(path), "-d", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr
    assert not (tmp_path / "out" / "trained_model.pkl").exists()


def test_demo() -> None:
    result = CliRunner().invoke(main, ["demo", "--epochs", "2", "--dim", "8"])
    assert result.exit_code == 0, result.output
    assert "BackfillRepresentation(" in result.output and "num_base_ids=4" in result.output
    assert "MRR" in result.output and "Hits@10" in result.output
    assert result.output.rstrip().endswith("frozen rows unchanged: True")
