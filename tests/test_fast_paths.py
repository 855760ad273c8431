"""The two ways a lookup selects rows: against each other and against PyKEEN's built-in.

There is no GPU in CI, so the selection that runs on accelerators (a row per id from every part, merged with
``where``) is run here on the CPU, under a dispatch mode that records every ATen operation and flags those that make
the host wait for the device.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import sys
from collections.abc import Iterator
from typing import Any

import numpy
import pytest
import torch
from pykeen.nn import Embedding
from pykeen.nn import representation as pykeen_representation
from torch.utils._python_dispatch import TorchDispatchMode

from pykeen_backfill import BackfillRepresentation, BaseSource
from pykeen_backfill.errors import IdTypeError
from pykeen_backfill.representation.layout import _from_plain_ints, as_id_tensor

aten = torch.ops.aten

#: operations that copy a device value to the host, or whose output shape depends on values
SYNCHRONISING = {
    aten._local_scalar_dense,
    aten.item,
    aten.is_nonzero,
    aten.nonzero,
    aten.argwhere,
    aten.masked_select,
    aten.equal,
    aten._unique,
    aten._unique2,
    aten.unique_dim,
    aten.unique_consecutive,
}

#: operations that synchronise when an index is a boolean mask
INDEXING = {aten.index, aten.index_put, aten.index_put_, aten._index_put_impl_}


class SyncRecorder(TorchDispatchMode):
    """Record the ATen operations that would synchronise host and device."""

    def __init__(self) -> None:
        super().__init__()
        self.offenders: list[str] = []
        self.seen: set[str] = set()

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        packet = func.overloadpacket
        self.seen.add(packet.__name__)
        if packet in SYNCHRONISING or (packet in INDEXING and _has_mask_index(args)):
            self.offenders.append(str(func))
        return func(*args, **kwargs)


def _has_mask_index(args: tuple) -> bool:
    indices = args[1] if len(args) > 1 else ()
    return any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in indices or ())


def _build(max_id: int, groups: list[list[int]], dim: tuple[int, ...] = (4,), **kwargs: Any) -> BackfillRepresentation:
    torch.manual_seed(0)
    sources = [BaseSource(ids=ids, base=Embedding(max_id=len(ids), shape=dim, trainable=False)) for ids in groups]
    return BackfillRepresentation(max_id=max_id, sources=sources, **kwargs)


LAYOUTS = {
    "one base": (30, [[3, 17, 0, 29, 8]]),
    "bases serve every id": (6, [[5, 0, 3], [1, 4, 2]]),
    "three bases": (40, [[39, 1, 20], [7, 8, 9, 10], [0]]),
    "backfill only above": (12, [list(range(6))]),
}


@pytest.fixture(params=list(LAYOUTS), ids=list(LAYOUTS))
def rep(request: pytest.FixtureRequest) -> BackfillRepresentation:
    max_id, groups = LAYOUTS[request.param]
    return _build(max_id, groups, dim=(2, 3))


@pytest.fixture
def force_sync_free(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Route forward through the accelerator's selection on the CPU."""
    monkeypatch.setattr(BackfillRepresentation, "_reads_exactly", lambda self, rows: False)
    yield


def _sync_free(rep: BackfillRepresentation, indices: torch.Tensor) -> torch.Tensor:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BackfillRepresentation, "_reads_exactly", lambda self, rows: False)
        return rep(indices)


def test_sync_free_path_equals_exact_path(rep: BackfillRepresentation) -> None:
    indices = torch.randint(rep.max_id, size=(200,), generator=torch.Generator().manual_seed(1))
    assert torch.equal(_sync_free(rep, indices), rep(indices))


def test_forward_on_the_sync_free_path_records_no_synchronising_operation(
    rep: BackfillRepresentation, force_sync_free: None
) -> None:
    indices = torch.randint(rep.max_id, size=(5, 7), generator=torch.Generator().manual_seed(2))
    with SyncRecorder() as recorder:
        actual = rep(indices)
    assert recorder.offenders == []
    assert {"index_select", "clamp", "where"} <= recorder.seen or len(rep._parts()) == 1
    expected = torch.stack([_exact(rep, row) for row in indices])
    assert torch.equal(actual, expected)


def _exact(rep: BackfillRepresentation, indices: torch.Tensor) -> torch.Tensor:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BackfillRepresentation, "_reads_exactly", lambda self, rows: True)
        return rep(indices)


def test_backward_on_the_sync_free_path_matches_the_exact_path() -> None:
    max_id, groups = LAYOUTS["three bases"]
    rep = _build(max_id, groups)
    for part in rep._parts():
        part.requires_grad_(True)
    indices = torch.randint(max_id, size=(64,), generator=torch.Generator().manual_seed(3))
    weights = torch.randn(64, 4)
    grads = []
    for gather in (_sync_free, _exact):
        rep.zero_grad(set_to_none=True)
        (gather(rep, indices) * weights).sum().backward()
        grads.append([p.grad for p in rep.parameters()])
    for sync_free, exact in zip(*grads, strict=True):
        assert torch.equal(sync_free, exact)


def test_the_recorder_flags_the_exact_path() -> None:
    """The exact path asks each part for exactly its rows, which needs ``nonzero``: the recorder must see it."""
    rep = _build(20, [[1, 5, 7]])
    with SyncRecorder() as recorder:
        rep(torch.tensor([1, 2, 5]))
    assert any("nonzero" in name for name in recorder.offenders)


def test_boolean_mask_indexing_is_flagged() -> None:
    x = torch.arange(6.0)
    with SyncRecorder() as recorder:
        x[x > 2]
    assert recorder.offenders


def test_sync_free_path_runs_on_the_meta_device() -> None:
    """On ``meta`` every value-dependent operation raises, so this runs only if the path needs no values."""
    rep = _build(30, [[3, 17, 0, 29, 8]], dim=(2, 3)).to("meta")
    rows = torch.zeros(11, dtype=torch.long, device="meta")
    assert not rep._reads_exactly(rows)
    assert rep(rows).shape == (11, 2, 3)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_forward_runs_on_the_meta_device_with_and_without_indices(layout: str) -> None:
    """The whole forward of an accelerator, for indices and for all rows, without reading a single value."""
    max_id, groups = LAYOUTS[layout]
    rep = _build(max_id, groups, dim=(2, 3)).to("meta")
    assert rep(torch.zeros(4, 5, dtype=torch.long, device="meta")).shape == (4, 5, 2, 3)
    assert rep(None).shape == (max_id, 2, 3)


def test_nonzero_and_item_fail_on_the_meta_device() -> None:
    """What makes the meta tests above meaningful."""
    x = torch.zeros(3, device="meta")
    with pytest.raises((NotImplementedError, RuntimeError)):
        x.nonzero()
    with pytest.raises((NotImplementedError, RuntimeError)):
        x.sum().item()


def test_the_cpu_takes_the_exact_path_and_side_effects_keep_accelerators_off_the_sync_free_one() -> None:
    rep = _build(30, [[3, 17, 0]])
    assert rep._reads_exactly(torch.zeros(2, dtype=torch.long))
    meta_rows = torch.zeros(2, dtype=torch.long, device="meta")
    assert not rep._reads_exactly(meta_rows)
    rep.backfill.dropout = torch.nn.Dropout(0.1)
    assert rep._reads_exactly(meta_rows)


def _pair(base: Embedding, backfill: Embedding, base_ids: list[int], max_id: int) -> tuple[Any, Any]:
    ours = BackfillRepresentation(max_id=max_id, base_ids=base_ids, base=base, backfill=backfill)
    # the built-in's default unique=True would hand its parts de-duplicated ids, which regularizers see
    theirs = pykeen_representation.BackfillRepresentation(
        max_id=max_id, base_ids=base_ids, base=base, backfill=backfill, unique=False
    )
    return ours, theirs


@pytest.mark.parametrize(
    ("base_trainable", "backfill_trainable", "num_base"),
    [(False, True, 50), (True, False, 50), (True, True, 30), (False, True, 80), (True, True, 80)],
)
def test_lead_path_gradients_are_the_built_ins(base_trainable: bool, backfill_trainable: bool, num_base: int) -> None:
    torch.manual_seed(0)
    max_id = 100
    base_ids = torch.randperm(max_id)[:num_base].tolist()
    base = Embedding(max_id=num_base, shape=3, trainable=base_trainable)
    backfill = Embedding(max_id=max_id - num_base, shape=3, trainable=backfill_trainable)
    ours, theirs = _pair(base, backfill, base_ids, max_id)
    indices = torch.randint(max_id, size=(300,))
    weights = torch.randn(300, 3)
    grads = []
    for module in (theirs, ours):
        module.zero_grad(set_to_none=True)
        out = module(indices)
        (out * weights).sum().backward()
        grads.append((out, [p.grad for p in module.parameters() if p.requires_grad]))
    (expected, expected_grads), (actual, actual_grads) = grads
    assert torch.equal(actual, expected)
    for a, e in zip(actual_grads, expected_grads, strict=True):
        assert torch.equal(a, e)


@pytest.mark.parametrize(
    "side_effect",
    [
        dict(normalizer="normalize"),
        dict(regularizer="lp"),
        dict(dropout=0.0),
    ],
    ids=["normalizer", "regularizer", "dropout"],
)
def test_parts_that_are_not_plain_lookups_are_asked_for_exactly_their_rows(side_effect: dict) -> None:
    torch.manual_seed(0)
    base_ids = [9, 2, 5, 11, 0]
    base = Embedding(max_id=5, shape=4, **side_effect)
    backfill = Embedding(max_id=10, shape=4, **side_effect)
    ours, theirs = _pair(base, backfill, base_ids, 15)
    indices = torch.randint(15, size=(40,))
    terms = []
    for module in (theirs, ours):
        output = module(indices)
        terms.append([part.regularizer.pop_regularization_term() for part in (base, backfill) if part.regularizer])
    assert torch.equal(output, theirs(indices))
    assert terms[0] == terms[1]


def test_mixed_dtypes_are_promoted_like_the_built_in() -> None:
    torch.manual_seed(0)
    base = Embedding(max_id=4, shape=3, dtype=torch.float64)
    backfill = Embedding(max_id=6, shape=3)
    ours, theirs = _pair(base, backfill, [1, 8, 3, 4], 10)
    indices = torch.tensor([0, 1, 8, 9, 3])
    for query in (indices, None):
        expected = theirs(query)
        actual = ours(query)
        assert actual.dtype == expected.dtype == torch.float64
        assert torch.equal(actual, expected)


@pytest.mark.parametrize(
    "base_ids",
    [list(range(4)), list(range(6, 10)), list(range(3, 7)), [3, 2, 1, 0], [0, 1, 2, 4]],
    ids=["first ids", "last ids", "middle run", "reversed run", "almost a run"],
)
def test_all_rows_for_runs_of_consecutive_ids(base_ids: list[int]) -> None:
    torch.manual_seed(0)
    base = Embedding(max_id=len(base_ids), shape=2)
    backfill = Embedding(max_id=10 - len(base_ids), shape=2)
    ours, theirs = _pair(base, backfill, base_ids, 10)
    actual = ours(None)
    assert torch.equal(actual, theirs(None))
    actual.sum().backward()
    assert torch.equal(base._embeddings.weight.grad, torch.ones(len(base_ids), 2))
    assert torch.equal(backfill._embeddings.weight.grad, torch.ones(10 - len(base_ids), 2))


def test_complex_parts_are_looked_up_like_the_built_in() -> None:
    torch.manual_seed(0)
    base = Embedding(max_id=4, shape=3, dtype=torch.cfloat)
    backfill = Embedding(max_id=8, shape=3, dtype=torch.cfloat)
    ours, theirs = _pair(base, backfill, [10, 0, 5, 2], 12)
    indices = torch.randint(12, size=(3, 9))
    assert torch.equal(ours(indices), theirs(indices))
    assert torch.equal(ours(None), theirs(None))


def test_index_costs_eight_bytes_per_id() -> None:
    rep = _build(1000, [list(range(0, 1000, 3))])
    own = [buffer for name, buffer in rep.named_buffers() if "." not in name]
    assert {buffer.dtype for buffer in own} == {torch.int32}
    assert sum(b.numel() * b.element_size() for b in own) == 8 * rep.max_id


def _load_benchmark() -> Any:
    path = pathlib.Path(__file__).parents[1] / "benchmarks" / "bench.py"
    spec = importlib.util.spec_from_file_location("pykeen_backfill_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _load_benchmark()
    tiny = dict(max_id=600, dim=4, batch=64, small_batch=8, rounds=3, calls={"large": 1, "small": 1, "slow": 1})
    monkeypatch.setattr(bench, "QUICK", bench.Config(**tiny))
    committed = {path: path.stat().st_mtime_ns for path in bench.DOCS_STATIC.glob("benchmark.*")}
    bench.main(["--quick", "--no-compile", "--out", str(tmp_path)])
    summary = json.loads((tmp_path / "benchmark.json").read_text())
    assert len(summary["rows"]) == 12 and all(len(row["cpu_ms"]) == 3 for row in summary["rows"])
    assert "lookup of 64 ids" in (tmp_path / "benchmark.txt").read_text()
    # without --docs, nothing committed is touched
    assert {path: path.stat().st_mtime_ns for path in bench.DOCS_STATIC.glob("benchmark.*")} == committed
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "benchmark.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([5, 0, 2**40, 7], [5, 0, 2**40, 7]),
        ([3, True], IdTypeError),
        ([3, 1.0], IdTypeError),
        ([numpy.int16(3), 4], [3, 4]),
        ([torch.tensor(6), 1], [6, 1]),
    ],
    ids=["plain ints", "a bool", "a float", "a numpy scalar", "a 0-d tensor"],
)
def test_lists_take_the_fast_conversion_only_when_every_value_is_a_python_int(ids: list, expected: Any) -> None:
    plain = all(type(value) is int for value in ids)
    assert (_from_plain_ints(ids) is not None) is plain
    if isinstance(expected, list):
        tensor = as_id_tensor(ids, name="base_ids")
        assert tensor.dtype == torch.long and tensor.tolist() == expected
    else:
        with pytest.raises(expected, match="base_ids"):
            as_id_tensor(ids, name="base_ids")


GRAD_MODES = {
    "grad": torch.enable_grad,
    "no_grad": torch.no_grad,
    "inference_mode": torch.inference_mode,
}


@pytest.mark.parametrize("mode", list(GRAD_MODES))
@pytest.mark.parametrize(
    ("dtypes", "shape", "num_base"),
    [
        ((torch.float32, torch.float32), (5,), 40),
        ((torch.float32, torch.float32), (2, 3), 90),
        ((torch.float64, torch.float32), (4,), 10),
        ((torch.cfloat, torch.cfloat), (3,), 50),
        ((torch.bfloat16, torch.bfloat16), (6,), 70),
    ],
    ids=["float", "matrix", "promoted", "complex", "bfloat16"],
)
def test_row_copies_match_the_built_in_with_and_without_autograd(
    mode: str, dtypes: tuple[torch.dtype, torch.dtype], shape: tuple[int, ...], num_base: int
) -> None:
    """Outputs are the built-in's whether or not autograd records them, for every dtype of the parts."""
    torch.manual_seed(0)
    max_id = 100
    base_ids = torch.randperm(max_id)[:num_base].tolist()
    base = Embedding(max_id=num_base, shape=shape, dtype=dtypes[0], trainable=False)
    backfill = Embedding(max_id=max_id - num_base, shape=shape, dtype=dtypes[1])
    ours, theirs = _pair(base, backfill, base_ids, max_id)
    indices = torch.randint(max_id, size=(7, 30))
    for query in (indices, None):
        expected = theirs(query).detach()
        with GRAD_MODES[mode]():
            actual = ours(query)
        assert actual.dtype == expected.dtype
        assert torch.equal(actual, expected)
        assert actual.requires_grad is (mode == "grad")
