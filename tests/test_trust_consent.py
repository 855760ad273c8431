"""Consent means a real boolean: no string, number or None lets a pickle run, and nothing foreign runs without it.

Each hostile pickle here creates a marker file when unpickled; every test asserts that the marker never appears.
"""

from __future__ import annotations

import builtins
import os
import pathlib
import pickle
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import numpy
import pytest
import torch
from click.testing import CliRunner

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main
from pykeen_backfill.errors import OptionTypeError, PretrainedFormatError, UnsafeFileError
from pykeen_backfill.experiments import pipeline_from_config
from pykeen_backfill.warm_start import LabelledVectors, export_vectors, open_pretrained, plan_warm_start

#: values that are not booleans, however much some of them look like one
NOT_BOOLEANS = ["false", "False", "0", "no", "", "true", 0, 1, None, [False], numpy.array([False])]


class _Marker:
    """Unpickling this object creates the marker file: a stand-in for code an attacker would run."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return builtins.open, (str(self.path), "w")


@pytest.fixture
def marker(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "a hostile pickle was unpickled"


def _hostile_run(real_run: pathlib.Path, target: pathlib.Path, marker: pathlib.Path, *, plain: bool) -> pathlib.Path:
    """A copy of a real run whose model is replaced by a hostile pickle (torch.save'd, or a plain pickle)."""
    shutil.copytree(real_run, target)
    model = target / "trained_model.pkl"
    if plain:
        model.write_bytes(pickle.dumps(_Marker(marker)))
    else:
        torch.save(_Marker(marker), model)
    return target


@pytest.mark.parametrize("value", NOT_BOOLEANS, ids=repr)
def test_allow_pickle_must_be_a_boolean(value: Any, real_run: pathlib.Path, tmp_path: pathlib.Path, marker) -> None:
    run = _hostile_run(real_run, tmp_path / "run", marker, plain=False)
    with pytest.raises(OptionTypeError, match=r"allow_pickle must be True or False, but got"):
        BackfillRepresentation(max_id=14, pretrained=run, labels="nations", allow_pickle=value)


@pytest.mark.parametrize("value", ["false", 0, None])
def test_every_door_checks_allow_pickle(value: Any, real_run: pathlib.Path, tmp_path: pathlib.Path, marker) -> None:
    run = _hostile_run(real_run, tmp_path / "run", marker, plain=False)
    doors = [
        lambda: open_pretrained(run, allow_pickle=value).table("entity"),
        lambda: export_vectors(run, tmp_path / "out", allow_pickle=value),
        lambda: plan_warm_start(run, "nations", allow_pickle=value),
        lambda: BackfillRepresentation.from_pretrained(run, _nations(), allow_pickle=value),
    ]
    if value is not None:
        # a source's own None means "the representation's value"
        doors.append(
            lambda: BackfillRepresentation(
                max_id=14, pretrained={"source": run, "allow_pickle": value}, labels="nations"
            )
        )
    for door in doors:
        with pytest.raises(OptionTypeError, match="allow_pickle"):
            door()
    assert not (tmp_path / "out").exists()


def _nations() -> Any:
    from pykeen.datasets import get_dataset

    return get_dataset(dataset="nations").training


def test_a_config_string_is_no_consent(real_run: pathlib.Path, tmp_path: pathlib.Path, marker) -> None:
    run = _hostile_run(real_run, tmp_path / "run", marker, plain=False)
    kwargs = {"pretrained": str(run), "allow_pickle": "false"}
    config = {
        "pipeline": {
            "dataset": "nations",
            "model": "DistMult",
            "model_kwargs": {"embedding_dim": 4, "entity_representations": "backfill"},
            "training_kwargs": {"num_epochs": 1},
        }
    }
    config["pipeline"]["model_kwargs"]["entity_representations_kwargs"] = kwargs
    with pytest.raises(OptionTypeError, match="allow_pickle must be True or False, but got 'false'"):
        pipeline_from_config(config)


def test_options_are_checked_before_any_file_is_opened(tmp_path: pathlib.Path, no_hang: Callable[..., Any]) -> None:
    fifo = tmp_path / "vectors.pt"
    os.mkfifo(fifo)
    with no_hang(), pytest.raises(OptionTypeError, match="allow_pickle"):
        BackfillRepresentation(max_id=14, pretrained=fifo, labels="nations", allow_pickle="no")
    with no_hang(), pytest.raises(OptionTypeError, match="index must be a non-negative integer, but got '1'"):
        BackfillRepresentation(max_id=14, pretrained=fifo, labels="nations", index="1")


# unique=None is PyKEEN's "decide for me", so it is no case here
@pytest.mark.parametrize(
    ("name", "value"),
    [
        (name, value)
        for name in ("trainable", "unique")
        for value in ("false", "no", 1, None)
        if (name, value) != ("unique", None)
    ],
)
def test_other_boolean_options(name: str, value: Any) -> None:
    vectors = LabelledVectors(labels=("burma", "china"), vectors=torch.ones(2, 3))
    with pytest.raises(OptionTypeError, match=f"{name} must be True or False"):
        BackfillRepresentation(max_id=14, pretrained=vectors, labels="nations", **{name: value})


@pytest.mark.parametrize("where", ["base_kwargs", "source"])
def test_a_part_or_source_trainable_must_be_a_boolean(where: str) -> None:
    if where == "base_kwargs":
        with pytest.raises(OptionTypeError, match=r"base_kwargs\['trainable'\] must be True or False"):
            BackfillRepresentation(max_id=5, base_ids=[0, 1], base_kwargs={"shape": 2, "trainable": "false"})
    else:
        vectors = LabelledVectors(labels=("burma",), vectors=torch.ones(1, 3))
        with pytest.raises(OptionTypeError, match="trainable of the pretrained source"):
            BackfillRepresentation(max_id=14, pretrained={"source": vectors, "trainable": "false"}, labels="nations")


def test_numpy_booleans_are_booleans() -> None:
    vectors = LabelledVectors(labels=("burma", "china"), vectors=torch.ones(2, 3))
    frozen = BackfillRepresentation(max_id=14, pretrained=vectors, labels="nations", trainable=numpy.False_)
    tuned = BackfillRepresentation(max_id=14, pretrained=vectors, labels="nations", trainable=numpy.True_)
    assert not frozen.base._embeddings.weight.requires_grad
    assert tuned.base._embeddings.weight.requires_grad


def test_a_plain_pickle_is_never_unpickled(real_run: pathlib.Path, tmp_path: pathlib.Path, marker) -> None:
    # torch.save writes a zip archive; a bare pickle in its place is refused before unpickling, even with consent
    run = _hostile_run(real_run, tmp_path / "run", marker, plain=True)
    with pytest.raises(PretrainedFormatError, match=r"trained_model\.pkl is truncated or corrupt"):
        open_pretrained(run, allow_pickle=True).table("entity")


def test_a_lone_pickle_is_no_run(tmp_path: pathlib.Path, marker) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    torch.save(_Marker(marker), lone / "trained_model.pkl")
    with pytest.raises(PretrainedFormatError, match="is not a PyKEEN run directory"):
        export_vectors(lone, tmp_path / "out", allow_pickle=True, dataset="nations")
    result = CliRunner().invoke(main, ["export", str(lone), str(tmp_path / "out"), "--dataset", "nations"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "not a PyKEEN run directory" in result.output
    # the model file itself, given instead of its directory
    result = CliRunner().invoke(main, ["export", str(lone / "trained_model.pkl"), str(tmp_path / "out")])
    assert result.exit_code == 2 and "not a PyKEEN run directory" in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_export_says_that_it_unpickles() -> None:
    result = CliRunner().invoke(main, ["export", "--help"])
    text = " ".join(result.output.split()).lower()
    assert result.exit_code == 0 and "unpickle" in text and "trust" in text
    overview = " ".join(CliRunner().invoke(main, ["--help"]).output.split()).lower()
    assert "unpickles" in overview


def test_consent_given_properly_still_works(real_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(main, ["export", str(real_run), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    representation = BackfillRepresentation(max_id=14, pretrained=tmp_path / "out", labels="nations")
    assert representation.num_base_ids == 14


@pytest.mark.parametrize("suffix", [".pt", ".npy"])
def test_hostile_tensor_files_never_run(tmp_path: pathlib.Path, marker, suffix: str) -> None:
    path = tmp_path / f"vectors{suffix}"
    if suffix == ".npy":
        numpy.save(path, numpy.array([_Marker(marker), 1.0], dtype=object), allow_pickle=True)
    else:
        torch.save({"weight": torch.ones(2, 2), "payload": _Marker(marker)}, path)
    (tmp_path / "labels.txt").write_text("burma\nchina\n")
    source = {"source": path, "labels_file": tmp_path / "labels.txt", "allow_pickle": True}
    # consent to unpickle a run's model is no consent to unpickle a tensor file
    with pytest.raises(UnsafeFileError, match="can only be read by unpickling"):
        BackfillRepresentation(max_id=14, pretrained=source, labels="nations", allow_pickle=True)
