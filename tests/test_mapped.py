"""A frozen base read from a mapped file: the rows it serves, and what it does with files that are broken or change."""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap

import numpy
import pytest
import torch
from pykeen.models import DistMult
from pykeen.nn import Embedding
from pykeen.nn.init import PretrainedInitializer
from pykeen.triples import CoreTriplesFactory, TriplesFactory

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import (
    IdOutOfRangeError,
    MappedFileError,
    MappedRowsError,
    OptionValueError,
    ShapeMismatchError,
)
from pykeen_backfill.representation.mapped import MappedEmbedding
from pykeen_backfill.warm_start import PretrainedSource, export_vectors
from pykeen_backfill.warm_start.stored import chunks_of, write_table


@pytest.fixture
def table() -> torch.Tensor:
    return torch.randn(40, 6, generator=torch.Generator().manual_seed(0))


@pytest.fixture
def path(table: torch.Tensor, tmp_path: pathlib.Path) -> pathlib.Path:
    numpy.save(tmp_path / "table.npy", table.numpy())
    return tmp_path / "table.npy"


def test_lookups_return_the_rows_of_the_file(table: torch.Tensor, path: pathlib.Path) -> None:
    mapped = MappedEmbedding(path)
    indices = torch.tensor([[3, 0], [39, 3]])
    assert torch.equal(mapped(indices), table[indices])
    assert mapped.max_id == 40 and mapped.shape == (6,)
    assert list(mapped.parameters()) == [] and mapped.state_dict() == {}
    assert torch.equal(mapped(None), table)
    with pytest.raises(IdOutOfRangeError, match=r"\[0, 40\)"):
        mapped(torch.tensor([-1]))


def test_selected_rows_and_a_stored_half_precision(table: torch.Tensor, tmp_path: pathlib.Path) -> None:
    for dtype in (torch.float16, torch.bfloat16):
        file = tmp_path / f"{dtype}.npy"
        write_table(file, chunks_of(table, rows=7), num_rows=40, row_shape=(6,), dtype=dtype)
        mapped = MappedEmbedding(file, rows=[5, 1, 7], bfloat16=dtype == torch.bfloat16, dtype=torch.float64)
        x = mapped(torch.tensor([2, 0]))
        # rows are cast to the representation's dtype on lookup, from the stored half precision
        assert x.dtype == torch.float64
        assert torch.equal(x, table[[7, 5]].to(dtype).double())
        assert mapped.stored_dtype == dtype


def test_all_rows_are_refused_above_the_limit(path: pathlib.Path) -> None:
    mapped = MappedEmbedding(path, max_full_bytes=40 * 6 * 4 - 1)
    with pytest.raises(MappedRowsError, match=r"all 40 rows .*table\.npy.*max_full_bytes=None"):
        mapped(None)
    # by id, as a backfill asks its parts for all rows, the same limit
    with pytest.raises(MappedRowsError, match=r"40 rows .*table\.npy"):
        mapped(torch.arange(40))
    backfill = BackfillRepresentation(max_id=50, base_ids=range(10, 50), base=mapped)
    with pytest.raises(MappedRowsError, match=r"40 rows .*table\.npy"):
        backfill(None)
    assert backfill(torch.tensor([0, 10, 49])).shape == (3, 6)


def test_the_same_scores_as_an_in_memory_base(table: torch.Tensor, path: pathlib.Path) -> None:
    factory = CoreTriplesFactory.create(torch.tensor([[0, 0, 1], [2, 1, 3], [41, 0, 40], [40, 1, 5]]))
    ids = list(range(40))

    def model(base: object, **kwargs: object) -> DistMult:
        kwargs = dict(base_ids=ids, base=base, **kwargs)
        return DistMult(
            triples_factory=factory,
            embedding_dim=6,
            entity_representations="backfill",
            entity_representations_kwargs=kwargs,
            random_seed=1,
        )

    mapped = model(MappedEmbedding(path))
    memory = model("embedding", base_kwargs=dict(initializer=PretrainedInitializer(table), trainable=False))
    # the same trainable values in both: the models differ only in where the base's rows come from
    memory.relation_representations.load_state_dict(mapped.relation_representations.state_dict())
    memory.entity_representations[0].backfill.load_state_dict(mapped.entity_representations[0].backfill.state_dict())
    batch = torch.tensor([[0, 0, 41], [40, 1, 3], [39, 0, 12]])
    assert torch.allclose(mapped.score_hrt(batch), memory.score_hrt(batch))
    assert torch.allclose(mapped.score_t(batch[:, :2]), memory.score_t(batch[:, :2]))
    # only the backfill (and the relations) train; the mapped base has nothing to train
    trained = {name for name, p in mapped.named_parameters() if p.requires_grad}
    assert not any("bases" in name for name in trained)


def test_built_from_a_class_and_keyword_arguments(table: torch.Tensor, path: pathlib.Path) -> None:
    representation = BackfillRepresentation(
        max_id=42, base_ids=list(range(40)), base=MappedEmbedding, base_kwargs=dict(path=str(path)), shape=6
    )
    assert torch.equal(representation(torch.tensor([39, 0])), table[[39, 0]])
    with pytest.raises(OptionValueError, match="read-only"):
        MappedEmbedding(path, trainable=True)
    with pytest.raises(ShapeMismatchError, match="shape=7"):
        MappedEmbedding(path, shape=7)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[:-5]), "truncated"),
        (lambda p: p.write_bytes(p.read_bytes() + b"x"), "longer than its header"),
        (lambda p: p.write_bytes(b"\x93NUMPY\x01"), "not a complete .npy"),
        (lambda p: numpy.save(p, numpy.zeros((3, 2), dtype=">f4")), "other byte order"),
        (lambda p: numpy.save(p, numpy.zeros((3, 2), dtype="int64")), "int64"),
        (lambda p: numpy.save(p, numpy.asfortranarray(numpy.zeros((3, 2)))), "Fortran"),
        (lambda p: p.unlink(), "cannot open"),
    ],
)
def test_a_broken_file_is_refused_naming_it(path: pathlib.Path, damage: object, message: str) -> None:
    damage(path)
    with pytest.raises(MappedFileError, match=message) as info:
        MappedEmbedding(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: os.truncate(p, 200), "size changed"),
        (lambda p: (p.write_bytes(p.read_bytes()), os.utime(p, ns=(1, 1))), "written to"),
        (
            lambda p: (numpy.save(p.with_name("new.npy"), numpy.zeros((40, 6))), p.with_name("new.npy").replace(p)),
            "replaced",
        ),
        (lambda p: p.unlink(), "removed"),
    ],
)
def test_a_file_changed_under_an_open_representation_is_refused(
    path: pathlib.Path, change: object, message: str
) -> None:
    mapped = MappedEmbedding(path)
    mapped(torch.tensor([1]))
    change(path)
    for _ in range(2):
        # and it stays refused
        with pytest.raises(MappedFileError, match=f"{path}.*changed while in use.*{message}"):
            mapped(torch.tensor([1]))


def test_a_page_lost_between_check_and_read_ends_the_process_loudly(tmp_path: pathlib.Path) -> None:
    """The one race left: a truncation after the check. The process dies by SIGBUS, with a traceback, not silently."""
    path = tmp_path / "table.npy"
    numpy.save(path, numpy.ones((4000, 6), dtype=numpy.float32))
    script = textwrap.dedent(f"""
        import os, torch
        from pykeen_backfill.representation.mapped import MappedEmbedding
        mapped = MappedEmbedding({str(path)!r})
        mapped._table.check = lambda: None  # the race, made certain
        os.truncate({str(path)!r}, 128)
        mapped(torch.tensor([3999]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -7  # SIGBUS
    assert "Bus error" in done.stderr and "_read" in done.stderr


def test_a_pickle_holds_the_path_and_refuses_another_file(table: torch.Tensor, path: pathlib.Path) -> None:
    mapped = MappedEmbedding(path, rows=[3, 2])
    data = pickle.dumps(mapped)
    assert len(data) < 4000
    assert torch.equal(pickle.loads(data)(torch.tensor([0])), table[[3]])
    numpy.save(path, numpy.zeros((40, 6), dtype=numpy.float32))
    with pytest.raises(MappedFileError, match="not the file the model was saved with"):
        pickle.loads(data)


def test_touched_pages_are_released(tmp_path: pathlib.Path) -> None:
    big = tmp_path / "big.npy"
    write_table(big, [torch.ones(20000, 256)], num_rows=20000, row_shape=(256,), dtype=torch.float32)
    mapped = MappedEmbedding(big, resident_bytes=2**20)
    start = mapped._table.touched()
    for ids in torch.arange(20000).split(4096):
        mapped(ids)
    # 20 MB were read; at most the budget plus one measuring interval stays resident
    assert mapped._table.touched() - start < 2**20 + 8192 * 1024


def _run(factory: TriplesFactory, directory: pathlib.Path) -> pathlib.Path:
    directory.mkdir()
    model = DistMult(triples_factory=factory, embedding_dim=6, random_seed=0)
    torch.save(model, directory / "trained_model.pkl")
    factory.to_path_binary(directory / "training_triples")
    return directory


def test_an_export_is_served_mapped_when_frozen(tmp_path: pathlib.Path) -> None:
    triples = numpy.array([["a", "r", "b"], ["b", "r", "c"], ["c", "s", "d"]])
    old = TriplesFactory.from_labeled_triples(triples)
    run = _run(old, tmp_path / "run")
    export_vectors(run, tmp_path / "out", allow_pickle=True, tensor_format="npy", dtype="float16")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["entity"]["mapped"][0]["dtype"] == "float16"
    grown = TriplesFactory.from_labeled_triples(numpy.concatenate([triples, [["e", "r", "a"]]]))
    model = torch.load(run / "trained_model.pkl", weights_only=False)
    expected = model.entity_representations[0](None).detach().half().float()

    frozen = BackfillRepresentation.from_pretrained(PretrainedSource(tmp_path / "out"), grown, shape=6)
    trainable = BackfillRepresentation.from_pretrained(
        PretrainedSource(tmp_path / "out", trainable=True), grown, shape=6
    )
    assert isinstance(frozen.bases[0], MappedEmbedding) and isinstance(trainable.bases[0], Embedding)
    for representation in (frozen, trainable):
        ids = torch.tensor([grown.entity_to_id[label] for label in "abcd"])
        assert torch.equal(representation(ids).detach(), expected[[old.entity_to_id[label] for label in "abcd"]])

    entity = tmp_path / "out" / "entity_0.npy"
    entity.write_bytes(entity.read_bytes()[:-2] + b"\x00\x01")
    with pytest.raises(MappedFileError, match=r"entity_0\.npy.*fingerprint"):
        BackfillRepresentation.from_pretrained(PretrainedSource(tmp_path / "out"), grown, shape=6)


def test_export_in_half_precision_and_grow_from_it(
    nations, tmp_path: pathlib.Path, old_nations_run: pathlib.Path
) -> None:
    cli = [sys.executable, "-m", "pykeen_backfill.cli"]
    out = tmp_path / "export"
    done = subprocess.run(
        [*cli, "export", str(old_nations_run), str(out), "--format", "npy", "--dtype", "float16"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    config = tmp_path / "grown.json"
    config.write_text(
        json.dumps(
            dict(
                pipeline=dict(
                    dataset="nations",
                    model="DistMult",
                    model_kwargs=dict(embedding_dim=8),
                    training_kwargs=dict(num_epochs=1, batch_size=256),
                    random_seed=0,
                )
            )
        )
    )
    grown = tmp_path / "grown"
    done = subprocess.run(
        # frozen: known rows that learn are loaded into memory, frozen ones are served from the file
        [*cli, "grow", str(out), str(config), "-d", str(grown), "--init", "model", "--strategy", "frozen"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "entity  : 10 reused, 4 new, 0 dropped" in done.stdout
    old = torch.load(old_nations_run / "trained_model.pkl", weights_only=False).entity_representations[0]
    new = torch.load(grown / "trained_model.pkl", weights_only=False).entity_representations[0]
    assert isinstance(new.bases[0], MappedEmbedding) and new.bases[0].path == out / "entity_0.npy"
    old_ids = TriplesFactory.from_path_binary(old_nations_run / "training_triples").entity_to_id
    for label, old_id in old_ids.items():
        expected = old(torch.tensor([old_id])).detach().half().float()
        assert torch.equal(new(torch.tensor([nations.training.entity_to_id[label]])).detach(), expected), label
