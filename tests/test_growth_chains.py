"""Growth step after step: a grown run is the earlier run of the next step; snapshots as files; labels stay labels."""

from __future__ import annotations

import gzip
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest
import torch
from pykeen.pipeline import pipeline
from pykeen.triples import TriplesFactory

from pykeen_backfill.errors import ConfigError
from pykeen_backfill.experiments.run import save_result
from pykeen_backfill.growth import grow
from pykeen_backfill.growth.snapshots import read_triples, snapshot_dataset
from pykeen_backfill.warm_start.labels import read_id_map

ENTITY = pathlib.Path(__file__).resolve().parent.parent.parent / "shared" / "datasets" / "ckge" / "ENTITY"

#: labels that number parsers (PyKEEN's binary triples factory among them) read as numbers or missing values
NUMBER_LIKE = ["00452098", "1e5", "nan", "NA", "007", "inf", "-0", "True"]

TRAINING = dict(num_epochs=2, batch_size=256, use_tqdm=False)


def _write(path: pathlib.Path, triples: list[tuple[str, str, str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as file:
        file.writelines(f"{h}\t{r}\t{t}\n" for h, r, t in triples)


def _config(root: pathlib.Path, step: int, **training: Any) -> dict[str, Any]:
    """A configuration naming the union of snapshots 0..step by lists of files."""
    files = {
        key: [str(root / str(i) / f"{name}.txt.gz") for i in range(step + 1)]
        for key, name in (("training", "train"), ("testing", "test"), ("validation", "valid"))
    }
    return {
        "pipeline": {
            **files,
            "model": "DistMult",
            "model_kwargs": {"embedding_dim": 8},
            "training_kwargs": {**TRAINING, **training},
            "evaluation_kwargs": {"use_tqdm": False},
            "random_seed": 0,
        }
    }


def _first_run(root: pathlib.Path, directory: pathlib.Path) -> pathlib.Path:
    """Train on snapshot 0 and save the run, as ``pykeen-backfill run`` would."""
    training = TriplesFactory.from_labeled_triples(read_triples([root / "0" / "train.txt.gz"]))
    result = pipeline(
        training=training,
        testing=training,
        model="DistMult",
        model_kwargs=dict(embedding_dim=8),
        training_kwargs=TRAINING,
        evaluation_kwargs=dict(use_tqdm=False),
        random_seed=0,
    )
    return save_result(result, directory)


@pytest.fixture
def number_like_snapshots(nations: Any, tmp_path: pathlib.Path) -> pathlib.Path:
    """Nations in three snapshots (8, then 11, then 14 entities), with labels that look like numbers."""
    labels = sorted(nations.training.entity_to_id)
    rename = dict(zip(labels, NUMBER_LIKE + labels[len(NUMBER_LIKE) :], strict=True))
    splits = {"train": nations.training.triples, "test": nations.testing.triples, "valid": nations.validation.triples}
    earlier: set[str] = set()
    for step, size in enumerate((8, 11, 14)):
        known = set(labels[:size])
        folder = tmp_path / "snapshots" / str(step)
        folder.mkdir(parents=True)
        for name, triples in splits.items():
            # a snapshot holds only what is new in it
            chosen = [(rename[h], r, rename[t]) for h, r, t in triples if {h, t} <= known and not {h, t} <= earlier]
            _write(folder / f"{name}.txt.gz", chosen)
        earlier = known
    return tmp_path / "snapshots"


def test_snapshot_files_are_read_as_labels_and_united(number_like_snapshots: pathlib.Path) -> None:
    root = number_like_snapshots
    first = read_triples([root / "0" / "train.txt.gz"])
    both = read_triples([root / "0" / "train.txt.gz", root / "1" / "train.txt.gz"])
    assert set(first[:, [0, 2]].ravel()) == set(NUMBER_LIKE)
    assert len(both) > len(first) and (both[: len(first)] == first).all()
    splits = snapshot_dataset(_config(root, 1)["pipeline"])
    assert splits["training"].num_entities == 11 and "00452098" in splits["training"].entity_to_id
    assert splits["testing"].entity_to_id == splits["training"].entity_to_id
    with pytest.raises(ConfigError, match=r"pipeline\.training"):
        snapshot_dataset({"training": [], "testing": str(root / "0" / "test.txt.gz")})


def test_a_line_that_is_no_triple_is_refused_with_its_number(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "broken.txt.gz"
    with gzip.open(path, "wt") as file:
        file.write("a\tr\tb\nc\td\n")
    with pytest.raises(ConfigError, match="line 2"):
        read_triples([path])


@pytest.mark.slow
def test_a_grown_run_is_the_earlier_run_of_the_next_step(number_like_snapshots: pathlib.Path, tmp_path) -> None:
    root = number_like_snapshots
    old = _first_run(root, tmp_path / "run0")
    vectors = {}
    for step in (1, 2):
        out = tmp_path / f"run{step}"
        growth = grow(old, _config(root, step), out, strategy="frozen", allow_pickle=True)
        assert growth.counts["entity"]["reused"] == (8, 11)[step - 1]
        assert growth.drift == {"entity": 0.0, "relation": 0.0}
        # the saved run holds the whole grown graph, labels as written
        labels = read_id_map(out / "training_triples" / "entity_to_id.tsv.gz")
        assert set(NUMBER_LIKE) <= set(labels)
        model = torch.load(out / "trained_model.pkl", weights_only=False)
        values = model.entity_representations[0](indices=None).detach()
        vectors[step] = {label: values[i] for i, label in enumerate(labels)}
        old = out
    # frozen along the chain: every label known at step 1 keeps its vector bit for bit
    for label, value in vectors[1].items():
        assert torch.equal(vectors[2][label], value), label


@pytest.mark.slow
def test_grow_reads_the_earlier_run_once(
    number_like_snapshots: pathlib.Path, tmp_path: pathlib.Path, monkeypatch
) -> None:
    from pykeen_backfill.warm_start import readers

    old = _first_run(number_like_snapshots, tmp_path / "run0")
    loads = []
    original = readers.torch.load
    monkeypatch.setattr(readers.torch, "load", lambda *a, **k: loads.append(1) or original(*a, **k))
    growth = grow(old, _config(number_like_snapshots, 1), strategy="touched", allow_pickle=True)
    assert len(loads) == 1
    assert growth.strategy is not None and growth.strategy.name == "touched"


def _entity_slice(tmp_path: pathlib.Path, steps: int = 5, train: int = 600, other: int = 100) -> pathlib.Path:
    """The first lines of each snapshot of ENTITY: a small growing graph of real labels."""
    root = tmp_path / "entity"
    for step in range(steps):
        folder = root / str(step)
        folder.mkdir(parents=True)
        for name, size in (("train", train), ("valid", other), ("test", other)):
            with gzip.open(ENTITY / str(step) / f"{name}.txt.gz", "rt", encoding="utf-8") as file:
                lines = [next(file) for _ in range(size)]
            with gzip.open(folder / f"{name}.txt.gz", "wt", encoding="utf-8") as file:
                file.writelines(lines)
    return root


@pytest.mark.slow
@pytest.mark.skipif(not ENTITY.is_dir(), reason="the ckge datasets are not there")
def test_a_four_step_chain_over_entity(tmp_path: pathlib.Path) -> None:
    root = _entity_slice(tmp_path)
    old = _first_run(root, tmp_path / "step0")
    entities = TriplesFactory.from_labeled_triples(read_triples([root / "0" / "train.txt.gz"])).num_entities
    strategies = {1: "frozen", 2: "touched", 3: "full"}
    for step in (1, 2, 3):
        growth = grow(old, _config(root, step), tmp_path / f"step{step}", strategy=strategies[step], allow_pickle=True)
        assert growth.counts["entity"]["reused"] == entities
        split = growth.split
        assert split["known"]["triples"] + split["new"]["triples"] == split["overall"]["triples"] > 0
        entities = growth.result.training.num_entities
        old = tmp_path / f"step{step}"
    # the fourth step as a user runs it, with the command line's defaults
    config = tmp_path / "step4.json"
    config.write_text(json.dumps(_config(root, 4)))
    command = [sys.executable, "-m", "pykeen_backfill.cli", "grow", str(old), str(config)]
    done = subprocess.run(
        [*command, "-d", str(tmp_path / "step4"), "--allow-pickle"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "step4" / "growth.json").read_text())
    assert summary["counts"]["entity"]["reused"] == entities
    assert summary["strategy"]["name"] == "brief"
    assert summary["drift"]["entity"] > 0
    assert "strategy brief" in done.stdout


def test_the_command_line_refuses_contradicting_strategies(tmp_path: pathlib.Path) -> None:
    from click.testing import CliRunner

    from pykeen_backfill.cli import main

    config = tmp_path / "grown.json"
    config.write_text(json.dumps({"pipeline": {"dataset": "nations", "model": "DistMult"}}))
    (tmp_path / "old").mkdir()
    arguments = ["grow", str(tmp_path / "old"), str(config), "-d", str(tmp_path / "out"), "--trainable"]
    result = CliRunner().invoke(main, [*arguments, "--strategy", "frozen"])
    assert result.exit_code == 2 and "--strategy frozen" in result.output
    result = CliRunner().invoke(main, [*arguments[:-1], "--strategy", "fast"])
    assert result.exit_code == 2 and "fast" in result.output
    assert not (tmp_path / "out").exists()
