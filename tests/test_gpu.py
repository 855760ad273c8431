"""The representation on a CUDA device: the same answers as on the CPU, and no host-device synchronisation.

Every test here is skipped where no CUDA device is present (as in CI). Run them on a GPU machine with
``pytest tests/test_gpu.py``. Lookups run under ``torch.cuda.set_sync_debug_mode("error")``, which turns any operation
that makes the host wait for the device into an error.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
import torch
from pykeen.nn import Embedding
from pykeen.nn import representation as pykeen_representation

from pykeen_backfill import BackfillRepresentation, BaseSource

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

CUDA = torch.device("cuda")


@contextlib.contextmanager
def no_sync() -> Iterator[None]:
    """Fail on any operation that makes the host wait for the device (copies to the device are done before)."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


def _pair(num: int = 1000, dim: int = 8, *, seed: int = 0) -> tuple[BackfillRepresentation, torch.nn.Module]:
    """Return ours on the CPU and PyKEEN's built-in over copies of the same parts, also on the CPU."""
    generator = torch.Generator().manual_seed(seed)
    base_ids = torch.randperm(num, generator=generator)[: num // 3]
    torch.manual_seed(seed)
    base = Embedding(max_id=len(base_ids), shape=dim, trainable=False)
    backfill = Embedding(max_id=num - len(base_ids), shape=dim)
    ours = BackfillRepresentation(max_id=num, base_ids=base_ids, base=base, backfill=backfill)
    builtin = pykeen_representation.BackfillRepresentation(
        max_id=num, base_ids=base_ids.tolist(), base=base, backfill=backfill
    )
    return ours, builtin


def _queries(num: int) -> list[torch.Tensor | None]:
    generator = torch.Generator().manual_seed(1)
    return [
        torch.randint(num, (512,), generator=generator),
        torch.randint(num, (7, 5), generator=generator),
        torch.arange(num),
        torch.randint(num, (1,), generator=generator),
        None,
    ]


def test_cuda_outputs_equal_the_built_in_on_the_cpu_without_a_sync() -> None:
    ours, builtin = _pair()
    expected = [builtin(q).detach() for q in _queries(1000)]
    on_gpu = ours.to(CUDA)
    assert on_gpu.position.is_cuda and on_gpu.order.is_cuda
    queries = [None if q is None else q.to(CUDA) for q in _queries(1000)]
    with torch.no_grad(), no_sync():
        got = [on_gpu(q) for q in queries]
    for x, y in zip(got, expected, strict=True):
        assert x.is_cuda
        assert torch.equal(x.cpu(), y)


def test_cuda_gradients_equal_the_cpu_ones() -> None:
    cpu, _ = _pair(seed=2)
    gpu, _ = _pair(seed=2)
    gpu = gpu.to(CUDA)
    query = torch.randint(1000, (4096,), generator=torch.Generator().manual_seed(3))
    weights = torch.randn(4096, 8, generator=torch.Generator().manual_seed(4))
    query_on_gpu, weights_on_gpu = query.to(CUDA), weights.to(CUDA)
    with no_sync():
        (gpu(query_on_gpu) * weights_on_gpu).sum().backward()
    (cpu(query) * weights).sum().backward()
    assert gpu.base._embeddings.weight.grad is None
    torch.testing.assert_close(gpu.backfill._embeddings.weight.grad.cpu(), cpu.backfill._embeddings.weight.grad)


def test_int32_and_uint8_indices_on_cuda() -> None:
    ours, builtin = _pair(num=200)
    query = torch.arange(200).remainder(100)
    expected = builtin(query).detach()
    gpu = ours.to(CUDA)
    for dtype in (torch.int32, torch.uint8, torch.int16):
        on_gpu = query.to(dtype).to(CUDA)
        with no_sync():
            got = gpu(on_gpu).detach()
        assert torch.equal(got.cpu(), expected)


def test_several_sources_and_complex_parts_on_cuda() -> None:
    first = Embedding(max_id=3, shape=4, dtype=torch.cfloat, trainable=False)
    second = Embedding(max_id=2, shape=4, dtype=torch.cfloat, trainable=False)
    rep = BackfillRepresentation(
        max_id=10,
        sources=[BaseSource(ids=[9, 0, 4], base=first), BaseSource(ids=[2, 7], base=second)],
        dtype=torch.cfloat,
    )
    expected = rep(torch.arange(10)).detach()
    first_row = first(torch.tensor([0]))[0].detach()
    gpu = rep.to(CUDA)
    ids = torch.arange(10, device=CUDA)
    with no_sync():
        got = gpu(ids).detach()
    assert got.dtype == torch.cfloat
    assert torch.equal(got.cpu(), expected)
    assert torch.equal(got[9].cpu(), first_row)


@pytest.mark.parametrize("bad", [-1, 10, 2**32 + 3, 2**40, -(2**40)])
def test_an_id_out_of_range_fails_on_the_device(bad: int) -> None:
    # ids beyond 32 bits included: a kernel that wrapped them would answer a valid row.
    # A failed device-side assertion leaves the CUDA context unusable: each case runs in a process of its own.
    code = textwrap.dedent(
        f"""
        import torch
        from pykeen.nn import Embedding
        from pykeen_backfill import BackfillRepresentation

        rep = BackfillRepresentation(max_id=10, base_ids=[1, 2], base=Embedding(max_id=2, shape=3)).cuda()
        try:
            rep(torch.tensor([3, {bad}], device="cuda"))
            torch.cuda.synchronize()
        except (RuntimeError, IndexError) as error:
            print("refused:", type(error).__name__, str(error).splitlines()[0][:200])
        else:
            print("accepted")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert "refused" in done.stdout, done.stdout + done.stderr
    assert "accepted" not in done.stdout


def test_compiled_lookup_on_cuda_equals_eager_and_checks_the_range() -> None:
    from pykeen_backfill.errors import IdOutOfRangeError

    ours, _ = _pair(seed=5)
    gpu = ours.to(CUDA)
    compiled = torch.compile(gpu)
    query = torch.randint(1000, (2048,), device=CUDA)
    with torch.no_grad():
        assert torch.equal(compiled(query), gpu(query))
    with pytest.raises(IdOutOfRangeError):
        compiled(torch.tensor([0, 1000], device=CUDA))


def test_distmult_trains_on_nations_on_cuda_with_the_known_rows_unchanged() -> None:
    from pykeen.pipeline import pipeline

    base = Embedding(max_id=7, shape=16, trainable=False)
    before = base(indices=None).detach().clone()
    result = pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=16,
            entity_representations="backfill",
            entity_representations_kwargs=dict(base_ids=list(range(7)), base=base),
        ),
        training_kwargs=dict(num_epochs=2, batch_size=128, use_tqdm=False),
        evaluation_kwargs=dict(use_tqdm=False),
        device="cuda",
        random_seed=0,
    )
    rep = result.model.entity_representations[0]
    assert rep.position.is_cuda
    assert torch.equal(rep(torch.arange(7, device=CUDA)).detach().cpu(), before)
    assert result.metric_results.get_metric("both.realistic.inverse_harmonic_mean_rank") > 0
