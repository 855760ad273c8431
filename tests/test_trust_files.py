"""Files are read as a user wrote them, and a file that is not what it claims ends in an error naming it.

Regular files only (a FIFO, a device or a directory is refused at once, never read), UTF-8 with or without a byte-order
mark, truncated or corrupt files named as such, a manifest checked against the files it names, and no NaN or
infinity in reused vectors unless asked for.
"""

from __future__ import annotations

import gzip
import json
import os
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import numpy
import pytest
import torch
from click.testing import CliRunner

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main
from pykeen_backfill.errors import BackfillError, ConfigError, PretrainedFormatError, ShapeMismatchError
from pykeen_backfill.experiments import load_config
from pykeen_backfill.warm_start import (
    export_vectors,
    open_pretrained,
    plan_warm_start,
    read_labels_file,
    read_tensor_file,
)


@pytest.fixture(scope="module")
def exported(real_run: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("export") / "out"
    export_vectors(real_run, out, allow_pickle=True)
    return out


# --- encodings -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".txt", ".json"])
def test_a_byte_order_mark_is_not_part_of_a_label(tmp_path: pathlib.Path, suffix: str) -> None:
    path = tmp_path / f"labels{suffix}"
    text = json.dumps(["burma", "china", "Côte"]) if suffix == ".json" else "burma\nchina\nCôte\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_labels_file(path) == ("burma", "china", "Côte")
    vectors = tmp_path / "vectors.pt"
    torch.save(torch.ones(3, 2), vectors)
    representation = BackfillRepresentation(
        max_id=14, pretrained={"source": vectors, "labels_file": path}, labels="nations"
    )
    # with the mark kept, "burma" would not match and only china would be reused
    assert representation.num_base_ids == 2


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_other_encodings_name_the_file(tmp_path: pathlib.Path, encoding: str) -> None:
    path = tmp_path / "labels.txt"
    path.write_bytes("burma\nCôte d'Ivoire\n".encode(encoding))
    with pytest.raises(PretrainedFormatError, match=r"labels\.txt' is not UTF-8 text: byte .* at line"):
        read_labels_file(path)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_configs_with_a_byte_order_mark(tmp_path: pathlib.Path, suffix: str) -> None:
    config = {"pipeline": {"dataset": "nations", "model": "DistMult"}}
    text = json.dumps(config) if suffix == ".json" else "pipeline:\n  dataset: nations\n  model: DistMult\n"
    path = tmp_path / f"config{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_config(path)["pipeline"] == config["pipeline"]
    path.write_bytes(text.replace("DistMult", "DistMült").encode("latin-1"))
    with pytest.raises(ConfigError, match=rf"config{suffix}' is not UTF-8 text"):
        load_config(path)


# --- not regular files -----------------------------------------------------------------------------------------------


def _not_regular(kind: str, path: pathlib.Path) -> pathlib.Path:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(os.devnull)
    return path


KINDS = {"fifo": "a FIFO", "directory": "a directory", "device": "a device"}


@pytest.mark.parametrize("kind", list(KINDS))
def test_labels_and_tensor_files_must_be_regular(
    tmp_path: pathlib.Path, kind: str, no_hang: Callable[..., Any]
) -> None:
    labels = _not_regular(kind, tmp_path / "labels.txt")
    with no_hang(), pytest.raises(PretrainedFormatError, match=f"not a regular file but {KINDS[kind]}"):
        read_labels_file(labels)
    tensor = _not_regular(kind, tmp_path / "vectors.pt")
    with no_hang(), pytest.raises(PretrainedFormatError, match=f"not a regular file but {KINDS[kind]}"):
        read_tensor_file(tensor)
    good_labels = tmp_path / "good.txt"
    good_labels.write_text("burma\n")
    if kind != "directory":
        with no_hang(), pytest.raises(PretrainedFormatError, match="not a regular file"):
            BackfillRepresentation(
                max_id=14, pretrained={"source": tensor, "labels_file": good_labels}, labels="nations"
            )


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_config_must_be_regular(tmp_path: pathlib.Path, kind: str, no_hang: Callable[..., Any]) -> None:
    path = _not_regular(kind, tmp_path / "config.json")
    with no_hang(), pytest.raises(ConfigError, match="not a regular file"):
        load_config(path)
    with no_hang():
        result = CliRunner().invoke(main, ["run", str(path), "-d", str(tmp_path / "out")])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert "not a regular file" in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["manifest.json", "entity_labels.txt", "entity_0.pt"])
def test_an_export_with_a_fifo_inside(
    exported: pathlib.Path, tmp_path: pathlib.Path, name: str, no_hang: Callable[..., Any]
) -> None:
    copy = pathlib.Path(shutil.copytree(exported, tmp_path / "copy"))
    (copy / name).unlink()
    os.mkfifo(copy / name)
    with no_hang(), pytest.raises(PretrainedFormatError, match="not a regular file but a FIFO"):
        plan_warm_start(copy, "nations")


def test_a_run_with_a_fifo_inside(real_run: pathlib.Path, tmp_path: pathlib.Path, no_hang: Callable[..., Any]) -> None:
    copy = pathlib.Path(shutil.copytree(real_run, tmp_path / "copy"))
    id_map = copy / "training_triples" / "entity_to_id.tsv.gz"
    id_map.unlink()
    os.mkfifo(id_map)
    with no_hang(), pytest.raises(PretrainedFormatError, match="not a regular file but a FIFO"):
        plan_warm_start(copy, "nations")
    model = copy / "trained_model.pkl"
    model.unlink()
    os.mkfifo(model)
    with no_hang(), pytest.raises(PretrainedFormatError, match="not a regular file but a FIFO"):
        open_pretrained(copy, allow_pickle=True).table("entity")


# --- truncated and corrupt files -------------------------------------------------------------------------------------


def _cut(path: pathlib.Path, keep: float = 0.6) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize("suffix", [".pt", ".npy"])
@pytest.mark.parametrize("keep", [0.0, 0.05, 0.6, 0.98])
def test_truncated_tensor_files(tmp_path: pathlib.Path, suffix: str, keep: float) -> None:
    path = tmp_path / f"vectors{suffix}"
    if suffix == ".npy":
        numpy.save(path, numpy.ones((20, 8)))
    else:
        torch.save(torch.ones(20, 8), path)
    _cut(path, keep)
    with pytest.raises(PretrainedFormatError, match="truncated or corrupt") as info:
        read_tensor_file(path)
    assert str(path) in str(info.value) and "Python objects" not in str(info.value)


def test_garbage_is_not_called_a_pickle(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "vectors.pt"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(PretrainedFormatError, match="truncated or corrupt") as info:
        read_tensor_file(path)
    assert "Python objects" not in str(info.value)


@pytest.mark.parametrize("keep", [0.0, 0.3, 0.9])
def test_a_truncated_id_map(real_run: pathlib.Path, tmp_path: pathlib.Path, keep: float) -> None:
    copy = pathlib.Path(shutil.copytree(real_run, tmp_path / "copy"))
    _cut(copy / "training_triples" / "entity_to_id.tsv.gz", keep)
    with pytest.raises(PretrainedFormatError, match=r"entity_to_id\.tsv\.gz"):
        plan_warm_start(copy, "nations")


def test_an_id_map_that_is_not_utf8(real_run: pathlib.Path, tmp_path: pathlib.Path) -> None:
    copy = pathlib.Path(shutil.copytree(real_run, tmp_path / "copy"))
    path = copy / "training_triples" / "entity_to_id.tsv.gz"
    path.write_bytes(gzip.compress("id\tlabel\n0\tCôte\n".encode("latin-1")))
    with pytest.raises(PretrainedFormatError, match=r"entity_to_id\.tsv\.gz' is not UTF-8"):
        plan_warm_start(copy, "nations")


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.99])
def test_a_truncated_model(real_run: pathlib.Path, tmp_path: pathlib.Path, keep: float) -> None:
    copy = pathlib.Path(shutil.copytree(real_run, tmp_path / "copy"))
    _cut(copy / "trained_model.pkl", keep)
    with pytest.raises(PretrainedFormatError, match=r"trained_model\.pkl is truncated or corrupt") as info:
        open_pretrained(copy, allow_pickle=True).table("entity")
    assert "Python objects" not in str(info.value)
    result = CliRunner().invoke(main, ["export", str(copy), str(tmp_path / "out")])
    assert result.exit_code == 2 and "truncated or corrupt" in result.output, result.output


# --- a manifest that lies --------------------------------------------------------------------------------------------


def _lie(exported: pathlib.Path, tmp_path: pathlib.Path, change: Callable[[dict, pathlib.Path], None]) -> pathlib.Path:
    copy = pathlib.Path(shutil.copytree(exported, tmp_path / "copy"))
    manifest = json.loads((copy / "manifest.json").read_text())
    change(manifest, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def _remove_a_label(manifest: dict, copy: pathlib.Path) -> None:
    path = copy / manifest["entity"]["labels"]
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))


LIES: dict[str, tuple[Callable[[dict, pathlib.Path], None], type[Exception], str]] = {
    "shape": (lambda m, c: m["entity"].update(shapes=[[5]]), PretrainedFormatError, r"states shape \(5,\)"),
    "shapes count": (lambda m, c: m["entity"].update(shapes=[[4], [4]]), PretrainedFormatError, "one shape per file"),
    "shape text": (lambda m, c: m["entity"].update(shapes=[["4"]]), BackfillError, r"shapes\[0\]"),
    "no vectors": (lambda m, c: m["entity"].update(vectors=[]), PretrainedFormatError, "non-empty list"),
    "vectors a name": (lambda m, c: m["entity"].update(vectors="entity_0.pt"), PretrainedFormatError, "non-empty list"),
    "missing file": (lambda m, c: m["entity"].update(vectors=["gone.pt"]), PretrainedFormatError, "does not exist"),
    "outside": (lambda m, c: m["entity"].update(vectors=["../x.pt"]), PretrainedFormatError, "not a file name"),
    "absolute": (lambda m, c: m["entity"].update(labels="/etc/hostname"), PretrainedFormatError, "not a file name"),
    "missing labels": (lambda m, c: m["entity"].update(labels="gone.txt"), PretrainedFormatError, "does not exist"),
    "a label fewer": (_remove_a_label, ShapeMismatchError, "13 labels for 14 rows"),
    "entry a list": (lambda m, c: m.update(entity=["x"]), PretrainedFormatError, "must be a mapping"),
}


@pytest.mark.parametrize("lie", list(LIES))
def test_a_manifest_that_lies_is_an_error_not_a_plan(exported: pathlib.Path, tmp_path: pathlib.Path, lie: str) -> None:
    change, error, pattern = LIES[lie]
    copy = _lie(exported, tmp_path, change)
    with pytest.raises(error, match=pattern):
        plan_warm_start(copy, "nations")
    result = CliRunner().invoke(main, ["plan", "--pretrained", str(copy), "--dataset", "nations"])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output


def test_an_honest_manifest_plans(exported: pathlib.Path) -> None:
    plan = plan_warm_start(exported, "nations")
    assert {target.target: target.shapes for target in plan.targets} == {"entity": ((4,),), "relation": ((4,),)}


# --- NaN and infinity ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "dtype"), [(float("nan"), torch.float32), (float("inf"), torch.float64), (-float("inf"), torch.cfloat)]
)
def test_vectors_that_are_not_finite(tmp_path: pathlib.Path, bad: float, dtype: torch.dtype) -> None:
    vectors = torch.ones(3, 2, dtype=dtype)
    vectors[1, 1] = bad
    torch.save(vectors, tmp_path / "vectors.pt")
    (tmp_path / "labels.txt").write_text("burma\nchina\ncuba\n")
    source = {"source": tmp_path / "vectors.pt", "labels_file": tmp_path / "labels.txt"}
    with pytest.raises(
        PretrainedFormatError, match=r"vectors\.pt hold NaN or infinity in 1 row\(s\), the first labelled 'china'"
    ):
        BackfillRepresentation(max_id=14, pretrained=source, labels="nations")
    allowed = BackfillRepresentation(max_id=14, pretrained={**source, "allow_nonfinite": True}, labels="nations")
    assert allowed.num_base_ids == 3


def test_a_fifo_as_the_new_id_space(
    exported: pathlib.Path, tmp_path: pathlib.Path, no_hang: Callable[..., Any]
) -> None:
    fifo = _not_regular("fifo", tmp_path / "train.tsv")
    with no_hang(), pytest.raises(PretrainedFormatError, match=r"triples file .* not a regular file but a FIFO"):
        BackfillRepresentation(max_id=14, pretrained=exported, labels=fifo)
    with no_hang():
        result = CliRunner().invoke(main, ["plan", "--pretrained", str(exported), "--training", str(fifo)])
    assert result.exit_code == 2 and "not a regular file" in result.output, result.output


def test_foreign_byte_order_and_odd_dtypes(tmp_path: pathlib.Path) -> None:
    numpy.save(tmp_path / "big_endian.npy", numpy.arange(6, dtype=">f4").reshape(3, 2))
    assert torch.equal(read_tensor_file(tmp_path / "big_endian.npy"), torch.arange(6.0).reshape(3, 2))
    numpy.save(tmp_path / "long_double.npy", numpy.ones((3, 2), dtype=numpy.longdouble))
    with pytest.raises(PretrainedFormatError, match="which torch cannot hold"):
        read_tensor_file(tmp_path / "long_double.npy")
    torch.save(torch.eye(3).to_sparse(), tmp_path / "sparse.pt")
    assert torch.equal(read_tensor_file(tmp_path / "sparse.pt"), torch.eye(3))


def test_a_model_file_given_instead_of_its_run(real_run: pathlib.Path) -> None:
    with pytest.raises(PretrainedFormatError, match="give the run directory"):
        BackfillRepresentation(max_id=14, pretrained=real_run / "trained_model.pkl", labels="nations")


def test_deeply_nested_json_and_yaml(tmp_path: pathlib.Path, exported: pathlib.Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    (tmp_path / "labels.json").write_text(deep)
    with pytest.raises(PretrainedFormatError, match=r"labels\.json is not valid JSON"):
        read_labels_file(tmp_path / "labels.json")
    for suffix in (".json", ".yaml"):
        (tmp_path / f"config{suffix}").write_text(deep)
        with pytest.raises(ConfigError, match="nested too deeply"):
            load_config(tmp_path / f"config{suffix}")
    copy = pathlib.Path(shutil.copytree(exported, tmp_path / "copy"))
    (copy / "manifest.json").write_text(deep)
    with pytest.raises(PretrainedFormatError, match=r"manifest\.json is not valid JSON"):
        plan_warm_start(copy, "nations")


@pytest.mark.parametrize("key", ["training", "testing", "dataset"])
def test_a_config_naming_a_fifo_as_data(tmp_path: pathlib.Path, key: str, no_hang: Callable[..., Any]) -> None:
    fifo = _not_regular("fifo", tmp_path / "train.tsv")
    (tmp_path / "test.tsv").write_text("a\tr\tb\n")
    pipeline = {"model": "DistMult", "training": str(tmp_path / "test.tsv"), "testing": str(tmp_path / "test.tsv")}
    pipeline = {**pipeline, key: str(fifo)}
    (tmp_path / "config.json").write_text(json.dumps({"pipeline": pipeline}))
    with no_hang(), pytest.raises(ConfigError, match=rf"pipeline\.{key} .* not a regular file but a FIFO"):
        load_config(tmp_path / "config.json")
