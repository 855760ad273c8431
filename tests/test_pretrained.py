"""Reading pre-trained vectors and their labels without unpickling, and exporting a trusted run to that format."""

from __future__ import annotations

import json
import pathlib

import numpy
import pytest
import torch
from pykeen.models import ComplEx, DistMult
from pykeen.triples import TriplesFactory

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import ShapeMismatchError
from pykeen_backfill.warm_start import (
    DuplicateLabelsError,
    PretrainedFormatError,
    PretrainedSource,
    UnsafeFileError,
    export_vectors,
    open_pretrained,
    read_labels_file,
)

#: labels that pandas would read as NaN, and one with a line break
AWKWARD = ["NA", "null", "line\nbreak"]


@pytest.fixture(scope="module")
def factory() -> TriplesFactory:
    triples = numpy.array([["a", "r", "b"], ["NA", "s", "null"], ["line\nbreak", "r", "a"], ["b", "s", "c"]])
    return TriplesFactory.from_labeled_triples(triples)


class Payload:
    """A class that only unpickling can rebuild."""


def _save_run(model: torch.nn.Module, factory: TriplesFactory, directory: pathlib.Path) -> pathlib.Path:
    """Save a model like PipelineResult.save_to_directory does; no training is needed to test reading it."""
    directory.mkdir()
    torch.save(model, directory / "trained_model.pkl")
    factory.to_path_binary(directory / "training_triples")
    return directory


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("labels.txt", "b\na\r\nc\n"),
        ("labels.txt", "b\na\nc"),
        ("labels.json", '["b", "a", "c"]'),
        ("labels.json", '{"a": 1, "c": 2, "b": 0}'),
    ],
)
def test_labels_files(tmp_path: pathlib.Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    assert read_labels_file(tmp_path / name) == ("b", "a", "c")


@pytest.mark.parametrize(
    ("name", "text", "error", "match"),
    [
        ("labels.txt", "a\nb\na\nc\nb\na\n", DuplicateLabelsError, r"'a' \(3 times\), 'b' \(2 times\)"),
        ("labels.json", '["x", "x"]', DuplicateLabelsError, r"'x' \(2 times\)"),
        ("labels.txt", "a\n\nb\n", PretrainedFormatError, r"empty lines: \[2\]"),
        ("labels.json", '{"a": 0, "b": 2}', PretrainedFormatError, "must be 0, 1"),
        ("labels.json", "[1, 2]", PretrainedFormatError, "list of strings"),
    ],
)
def test_bad_labels_files(tmp_path: pathlib.Path, name: str, text: str, error: type, match: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(error, match=match):
        read_labels_file(tmp_path / name)


def test_tensor_files_load_without_pickle(tmp_path: pathlib.Path) -> None:
    vectors = torch.rand(3, 4)
    torch.save(vectors, tmp_path / "v.pt")
    numpy.save(tmp_path / "v.npy", vectors.numpy())
    (tmp_path / "labels.txt").write_text("x\ny\nz\n")
    for name in ("v.pt", "v.npy"):
        table = open_pretrained(tmp_path / name, labels_file=tmp_path / "labels.txt").table("entity")
        assert table.labels == ("x", "y", "z") and torch.equal(table.vectors, vectors)


def test_tensor_files_that_need_pickle_are_refused(tmp_path: pathlib.Path) -> None:
    (tmp_path / "labels.txt").write_text("x\n")
    # an instance of an arbitrary class is what makes a pickle dangerous: unpickling it may run its code
    torch.save({"vectors": torch.rand(1, 4), "payload": Payload()}, tmp_path / "v.pt")
    numpy.save(tmp_path / "v.npy", numpy.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name in ("v.pt", "v.npy"):
        with pytest.raises(UnsafeFileError, match="unpickling"):
            open_pretrained(tmp_path / name, labels_file=tmp_path / "labels.txt")


def test_tensor_file_mistakes(tmp_path: pathlib.Path) -> None:
    torch.save(torch.rand(2, 4), tmp_path / "v.pt")
    (tmp_path / "three.txt").write_text("x\ny\nz\n")
    with pytest.raises(PretrainedFormatError, match="needs its labels"):
        open_pretrained(tmp_path / "v.pt")
    with pytest.raises(ShapeMismatchError, match="3 labels for 2 rows"):
        open_pretrained(tmp_path / "v.pt", labels_file=tmp_path / "three.txt")
    torch.save(torch.arange(6).view(3, 2), tmp_path / "ints.pt")
    with pytest.raises(PretrainedFormatError, match=r"floating-point.*torch.int64"):
        open_pretrained(tmp_path / "ints.pt", labels_file=tmp_path / "three.txt")
    with pytest.raises(PretrainedFormatError, match="does not exist"):
        open_pretrained(tmp_path / "missing")


def test_run_labels_are_read_as_written(factory: TriplesFactory, tmp_path: pathlib.Path) -> None:
    """Labels such as "NA" stay strings; reading labels never unpickles the model."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "trained_model.pkl").write_bytes(b"not even a pickle")
    factory.to_path_binary(tmp_path / "run" / "training_triples")
    reader = open_pretrained(tmp_path / "run")
    assert reader.labels("entity") == tuple(sorted(factory.entity_to_id, key=factory.entity_to_id.get))
    assert set(AWKWARD) <= set(reader.labels("entity"))
    with pytest.raises(UnsafeFileError, match="allow_pickle"):
        reader.table("entity")


@pytest.mark.parametrize("tensor_format", ["pt", "npy"])
def test_export_round_trip(factory: TriplesFactory, tmp_path: pathlib.Path, tensor_format: str) -> None:
    model = DistMult(triples_factory=factory, embedding_dim=4)
    run = _save_run(model, factory, tmp_path / "run")
    export_vectors(run, tmp_path / "out", allow_pickle=True, tensor_format=tensor_format)

    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["entity"]["vectors"] == [f"entity_0.{tensor_format}"]
    # a label with a line break cannot be written one per line
    assert manifest["entity"]["labels"] == "entity_labels.json"
    assert manifest["relation"]["labels"] == "relation_labels.txt"
    exported = open_pretrained(tmp_path / "out")
    for target in ("entity", "relation"):
        table = exported.table(target)
        ids = getattr(factory, f"{target}_to_id")
        vectors = getattr(model, f"{target}_representations")[0]().detach()
        assert [ids[label] for label in table.labels] == list(range(len(ids)))
        assert torch.equal(table.vectors, vectors)


def test_export_refuses_a_pickle_unless_allowed(factory: TriplesFactory, tmp_path: pathlib.Path) -> None:
    run = _save_run(DistMult(triples_factory=factory, embedding_dim=4), factory, tmp_path / "run")
    with pytest.raises(UnsafeFileError, match="allow_pickle"):
        export_vectors(run, tmp_path / "out")


def test_complex_vectors_are_reused_exactly(factory: TriplesFactory, tmp_path: pathlib.Path) -> None:
    model = ComplEx(triples_factory=factory, embedding_dim=3)
    run = _save_run(model, factory, tmp_path / "run")
    export_vectors(run, tmp_path / "out", allow_pickle=True)
    grown = TriplesFactory.from_labeled_triples(numpy.concatenate([factory.triples, [["d", "r", "a"]]]))

    representation = BackfillRepresentation.from_pretrained(
        PretrainedSource(tmp_path / "out"), grown, shape=3, dtype=torch.cfloat
    )

    old = model.entity_representations[0]().detach()
    vectors = representation(indices=None).detach()
    assert vectors.dtype == torch.cfloat
    for label, i in factory.entity_to_id.items():
        assert torch.equal(vectors[grown.entity_to_id[label]], old[i]), label
    assert representation.backfill_ids.tolist() == [grown.entity_to_id["d"]]


def test_float64_features_take_the_models_dtype(factory: TriplesFactory, tmp_path: pathlib.Path) -> None:
    """numpy.save often writes float64; the model computes in float32, so the reused rows are cast to it."""
    features = numpy.random.default_rng(0).random((2, 4))
    numpy.save(tmp_path / "features.npy", features)
    (tmp_path / "features.txt").write_text("b\na\n")
    source = {"source": str(tmp_path / "features.npy"), "labels_file": str(tmp_path / "features.txt")}

    representation = BackfillRepresentation.from_pretrained(source, factory)

    vectors = representation(indices=None).detach()
    assert vectors.dtype == torch.float32
    expected = torch.from_numpy(features).float()
    assert torch.equal(vectors[[factory.entity_to_id["b"], factory.entity_to_id["a"]]], expected)
    with pytest.raises(ShapeMismatchError, match="dtype"):
        BackfillRepresentation.from_pretrained(source, factory, dtype=torch.cfloat)
