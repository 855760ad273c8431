"""Compiled code is as safe as eager code: equal outputs and gradients, our range check, no graph break of ours.

Compiling is slow, so the compiled objects are built once per module and shared by the tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from pykeen.datasets import Nations
from pykeen.models import DistMult
from pykeen.nn import Embedding

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import IdOutOfRangeError
from pykeen_backfill.representation.layout import virtual_rows

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

MAX_ID = 20
# at least two ids each: a compiled function specialises on a batch of one, which would cost another compilation
BAD_IDS = [[-1, 2], [0, MAX_ID], [3, -7, 5], [2**40, 1]]


def _representation() -> BackfillRepresentation:
    torch.manual_seed(0)
    base = Embedding(max_id=5, shape=(2, 3), trainable=False)
    return BackfillRepresentation(max_id=MAX_ID, base_ids=[3, 17, 0, 19, 8], base=base)


@pytest.fixture(scope="module")
def rep() -> BackfillRepresentation:
    return _representation()


@pytest.fixture(scope="module", params=["inductor", "eager"])
def compiled(request: pytest.FixtureRequest, rep: BackfillRepresentation) -> Callable[..., torch.Tensor]:
    torch._dynamo.reset()
    # dynamic shapes from the start: one graph serves every batch size of the tests
    return torch.compile(rep, backend=request.param, dynamic=True)


@pytest.fixture(scope="module")
def model() -> DistMult:
    torch.manual_seed(0)
    training = Nations().training
    base = Embedding(max_id=4, shape=8, trainable=False)
    return DistMult(
        triples_factory=training,
        embedding_dim=8,
        entity_representations=BackfillRepresentation,
        entity_representations_kwargs=dict(base_ids=[0, 5, 9, 13], base=base),
        random_seed=0,
    )


@pytest.mark.slow
def test_compiled_outputs_equal_eager(compiled: Callable[..., torch.Tensor]) -> None:
    rep = compiled._orig_mod  # type: ignore[attr-defined]
    for indices in (torch.tensor([0, 3, 19, 4, 8, 8]), torch.tensor([7, 17, 0, 0, 1, 2, 3, 5, 6, 11])):
        assert torch.equal(compiled(indices), rep(indices))


@pytest.mark.slow
def test_compiled_outputs_equal_eager_for_other_shapes_and_dtypes(rep: BackfillRepresentation) -> None:
    # each shape and dtype is a compilation of its own: the quick backend checks what our code does with them
    torch._dynamo.reset()
    compiled = torch.compile(rep, backend="eager")
    for indices in (torch.tensor([[1, 17], [0, 2]]), torch.tensor([5, 6], dtype=torch.int32)):
        assert torch.equal(compiled(indices), rep(indices))


@pytest.mark.slow
@pytest.mark.parametrize("bad", BAD_IDS, ids=[str(b) for b in BAD_IDS])
def test_compiled_lookup_refuses_ids_out_of_range_with_our_error(
    compiled: Callable[..., torch.Tensor], bad: list[int]
) -> None:
    with pytest.raises(IdOutOfRangeError, match=r"max_id=20"):
        compiled(torch.tensor(bad))


@pytest.mark.slow
def test_compiled_gradients_equal_eager(compiled: Callable[..., torch.Tensor]) -> None:
    rep = compiled._orig_mod  # type: ignore[attr-defined]
    indices = torch.tensor([0, 1, 3, 19, 1, 12])
    weights = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(0))
    grads = []
    for fn in (rep, compiled):
        rep.zero_grad(set_to_none=True)
        (fn(indices) * weights).sum().backward()
        grads.append(rep.backfill._embeddings.weight.grad.clone())
    assert torch.equal(*grads)


@pytest.mark.slow
def test_our_code_causes_no_graph_break(rep: BackfillRepresentation, model: DistMult) -> None:
    hrt = Nations().training.mapped_triples[:5]
    for fn, args in ((rep, (torch.tensor([1, 2, 3]),)), (model.score_hrt, (hrt,))):
        torch._dynamo.reset()
        explanation = torch._dynamo.explain(fn)(*args)
        assert explanation.graph_break_count == 0, explanation.break_reasons


@pytest.mark.slow
def test_compiled_score_hrt_equals_eager_and_checks_the_range(model: DistMult) -> None:
    torch._dynamo.reset()
    score_hrt = torch.compile(model.score_hrt)
    hrt = Nations().training.mapped_triples[:2]
    # inductor may reorder the interaction's float sums; the looked-up rows themselves are equal bit for bit
    torch.testing.assert_close(score_hrt(hrt), model.score_hrt(hrt), rtol=1e-6, atol=1e-6)
    num_entities = model.num_entities
    for bad in (-1, num_entities):
        with pytest.raises(IdOutOfRangeError, match=f"max_id={num_entities}"):
            score_hrt(torch.tensor([[0, 0, bad], [1, 1, 1]]))


@pytest.mark.parametrize("bad", BAD_IDS, ids=[str(b) for b in BAD_IDS])
def test_the_sync_free_path_refuses_ids_out_of_range_with_our_error(
    monkeypatch: pytest.MonkeyPatch, bad: list[int]
) -> None:
    rep = _representation()
    exact = rep(torch.tensor([4, 3, 2]))
    monkeypatch.setattr(BackfillRepresentation, "_reads_exactly", lambda self, rows: False)
    assert torch.equal(rep(torch.tensor([4, 3, 2])), exact)
    with pytest.raises(IdOutOfRangeError, match=r"max_id=20"):
        rep(torch.tensor(bad))


@pytest.mark.parametrize("bad", BAD_IDS, ids=[str(b) for b in BAD_IDS])
def test_the_operator_compiled_code_calls_refuses_ids_out_of_range(bad: list[int]) -> None:
    position = torch.arange(MAX_ID, dtype=torch.int32).flip(0)
    assert torch.equal(virtual_rows(position, torch.tensor([0, 19])), torch.tensor([19, 0], dtype=torch.int32))
    with pytest.raises(IdOutOfRangeError, match=r"max_id=20"):
        virtual_rows(position, torch.tensor(bad))


def test_the_operator_infers_shapes_without_values() -> None:
    position = torch.zeros(MAX_ID, dtype=torch.int32, device="meta")
    out = virtual_rows(position, torch.zeros(7, dtype=torch.long, device="meta"))
    assert out.shape == (7,) and out.dtype == torch.int32
