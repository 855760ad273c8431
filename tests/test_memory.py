"""Host buffers, wide row copies and lazily zeroed gradients: the same bits as PyTorch's own operations.

The paths for large tables start at :data:`~pykeen_backfill.representation.memory.LARGE` bytes; the tests lower that
threshold so that small tables take them.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from pykeen.nn import Embedding
from pykeen.nn import representation as pykeen_representation

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.representation import memory
from pykeen_backfill.representation.memory import copy_rows, host_buffer, host_copy

DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.complex64,
    torch.complex128,
    torch.int64,
    torch.uint8,
    torch.bool,
]


@pytest.fixture
def everything_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """Route every table, whatever its size, through the paths for large ones."""
    monkeypatch.setattr(memory, "LARGE", 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("width", [1, 2, 3, 8, 33, 128])
def test_copy_rows_moves_the_bytes_as_they_are(dtype: torch.dtype, width: int) -> None:
    generator = torch.Generator().manual_seed(width)
    high = 2 if dtype == torch.bool else 256
    row_bytes = width * torch.empty((), dtype=dtype).element_size()
    # arbitrary bit patterns, NaN payloads and subnormals included
    source = torch.randint(0, high, (20, row_bytes), dtype=torch.uint8, generator=generator)
    target_bits = torch.randint(0, high, (31, row_bytes), dtype=torch.uint8, generator=generator)
    rows = torch.randperm(31, generator=generator)[:20]
    expected = target_bits.clone()
    expected[rows] = source
    out = copy_rows(target_bits.view(dtype), rows, source.view(dtype))
    assert out.data_ptr() == target_bits.data_ptr()
    assert torch.equal(target_bits, expected)


def test_copy_rows_keeps_autograd_where_gradients_flow() -> None:
    x = torch.randn(3, 4, requires_grad=True)
    out = copy_rows(torch.zeros(5, 4), torch.tensor([4, 0, 2]), x)
    out.sum().backward()
    assert torch.equal(x.grad, torch.ones(3, 4))


@pytest.mark.usefixtures("everything_large")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.complex64])
def test_host_buffers_are_zero_writable_and_of_the_asked_shape(dtype: torch.dtype) -> None:
    buffer = host_buffer((1000, 3, 2), dtype)
    assert buffer.shape == (1000, 3, 2) and buffer.dtype == dtype and not buffer.any()
    buffer[17] = 1
    assert int(buffer.count_nonzero()) == 6
    source = torch.randn(50, 7, dtype=torch.float64)[:, ::2]  # not contiguous
    copy = host_copy(source)
    assert torch.equal(copy, source) and copy.data_ptr() != source.data_ptr()


def _pair(num: int, dim: int, *, base_trainable: bool) -> tuple[torch.nn.Module, torch.nn.Module, list[torch.Tensor]]:
    """Return ours, the built-in over the same parts, and the parts' weights."""
    generator = torch.Generator().manual_seed(num)
    base_ids = torch.randperm(num, generator=generator)[: num // 2]
    torch.manual_seed(num)
    base = Embedding(max_id=len(base_ids), shape=dim, trainable=base_trainable, dtype=torch.float64)
    backfill = Embedding(max_id=num - len(base_ids), shape=dim, dtype=torch.float64)
    ours = BackfillRepresentation(max_id=num, base_ids=base_ids, base=base, backfill=backfill)
    builtin = pykeen_representation.BackfillRepresentation(
        max_id=num, base_ids=base_ids.tolist(), base=base, backfill=backfill
    )
    return ours, builtin, [base._embeddings.weight, backfill._embeddings.weight]


@pytest.mark.usefixtures("everything_large")
@pytest.mark.parametrize("base_trainable", [False, True])
@pytest.mark.parametrize("query", ["batch", "all"])
def test_outputs_and_gradients_for_large_tables_equal_the_built_ins(base_trainable: bool, query: str) -> None:
    ours, builtin, parameters = _pair(300, 5, base_trainable=base_trainable)
    # repeated ids: each row's gradient is a sum, whose order must be the built-in's
    indices = None if query == "all" else torch.randint(300, (2000,), generator=torch.Generator().manual_seed(1))
    weights = torch.randn(300 if indices is None else 2000, 5, dtype=torch.float64)
    results = []
    for rep in (builtin, ours):
        for parameter in parameters:
            parameter.grad = None
        out = rep(indices)
        (out * weights).sum().backward()
        results.append([out.detach(), *(None if p.grad is None else p.grad.clone() for p in parameters)])
    for built_in, own in zip(*results, strict=True):
        if built_in is None:
            assert own is None
        else:
            torch.testing.assert_close(own, built_in, rtol=0, atol=0)


@pytest.mark.usefixtures("everything_large")
def test_the_lazily_zeroed_gradient_is_f_embeddings_bit_for_bit() -> None:
    from pykeen_backfill.representation.lookup import LazyGradientRows

    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(1000, 16, generator=generator, requires_grad=True)
    rows = torch.randint(1000, (5000,), generator=generator, dtype=torch.long).int()
    upstream = torch.randn(5000, 16, generator=generator)
    F.embedding(rows, weight).backward(upstream)
    expected, weight.grad = weight.grad, None
    out = LazyGradientRows.apply(weight, rows)
    assert torch.equal(out, F.embedding(rows, weight))
    out.backward(upstream)
    assert torch.equal(weight.grad, expected)
    # a second backward accumulates into the gradient as usual
    LazyGradientRows.apply(weight, rows).backward(upstream)
    assert torch.equal(weight.grad, expected + expected)


@pytest.mark.usefixtures("everything_large")
def test_given_parts_keep_their_values_through_a_model_reset_with_host_copies() -> None:
    base = Embedding(max_id=3, shape=4, trainable=False)
    before = base(indices=None).detach().clone()
    rep = BackfillRepresentation(max_id=10, base_ids=[4, 1, 7], base=base)
    base.reset_parameters()
    rep.reset_parameters()
    assert torch.equal(rep(torch.tensor([4, 1, 7])), before)


@pytest.mark.usefixtures("everything_large")
def test_a_refused_mapping_falls_back_to_pytorchs_allocator(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise OSError(12, "Cannot allocate memory")

    monkeypatch.setattr(memory.mmap, "mmap", refuse)
    buffer = host_buffer((10, 3), torch.float32)
    assert buffer.shape == (10, 3) and not buffer.any()
    buffer.resize_(20, 3)  # an ordinary tensor of PyTorch's allocator
