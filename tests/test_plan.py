"""The lookup decided once (``representation/plan.py``): the same tensors as the general path, renewed when it must be.

The plan takes its decisions from the parts and their weights; every test here changes one of those after a first
lookup and checks that the next lookup sees the change, against PyKEEN's built-in over the same parts.
"""

from __future__ import annotations

import pickle

import pytest
import torch
from pykeen.nn import Embedding
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import normalizer_resolver

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.representation.plan import PlainLookup

NUM = 40


@pytest.fixture
def parts() -> tuple[Embedding, Embedding]:
    torch.manual_seed(0)
    return Embedding(max_id=15, shape=3, trainable=False), Embedding(max_id=NUM - 15, shape=3)


def _pair(parts: tuple[Embedding, Embedding]) -> tuple[BackfillRepresentation, torch.nn.Module]:
    base_ids = torch.randperm(NUM, generator=torch.Generator().manual_seed(1))[:15]
    base, backfill = parts
    ours = BackfillRepresentation(max_id=NUM, base_ids=base_ids, base=base, backfill=backfill)
    builtin = pykeen_representation.BackfillRepresentation(
        max_id=NUM, base_ids=base_ids.tolist(), base=base, backfill=backfill
    )
    return ours, builtin


QUERIES = [
    torch.arange(NUM),
    torch.tensor([3, 3, 39, 0]),
    torch.arange(NUM).view(5, 8),
    torch.tensor([], dtype=torch.long),
]


def _agree(ours: torch.nn.Module, builtin: torch.nn.Module) -> None:
    for query in QUERIES:
        assert torch.equal(ours(query), builtin(query)), query
    assert torch.equal(ours(QUERIES[0].int()), builtin(QUERIES[0]))


def test_plain_parts_take_the_plan_and_agree_with_the_built_in(parts: tuple[Embedding, Embedding]) -> None:
    ours, builtin = _pair(parts)
    _agree(ours, builtin)
    assert isinstance(ours._plan(), PlainLookup)


def test_a_replaced_weight_is_read(parts: tuple[Embedding, Embedding]) -> None:
    ours, builtin = _pair(parts)
    _agree(ours, builtin)
    parts[1]._embeddings.weight = torch.nn.Parameter(torch.randn(NUM - 15, 3))
    _agree(ours, builtin)


def test_a_state_dict_loaded_by_assignment_is_read(parts: tuple[Embedding, Embedding]) -> None:
    ours, builtin = _pair(parts)
    _agree(ours, builtin)
    state = {
        key: torch.randn_like(value) if value.is_floating_point() else value for key, value in ours.state_dict().items()
    }
    ours.load_state_dict(state, assign=True)
    assert torch.equal(ours(torch.arange(NUM)), builtin(torch.arange(NUM)))
    assert torch.equal(ours.backfill(indices=None), state["backfill._embeddings.weight"])


def test_a_normalizer_added_to_a_part_later_is_applied(parts: tuple[Embedding, Embedding]) -> None:
    ours, builtin = _pair(parts)
    _agree(ours, builtin)
    parts[1].normalizer = normalizer_resolver.make("normalize")
    _agree(ours, builtin)
    assert ours._plan() is None


def test_a_cast_and_unfreezing_are_seen(parts: tuple[Embedding, Embedding]) -> None:
    ours, builtin = _pair(parts)
    _agree(ours, builtin)
    ours.double()
    builtin.double()
    _agree(ours, builtin)
    assert ours(torch.arange(3)).dtype == torch.float64
    parts[0].requires_grad_(True)
    weights = torch.randn(NUM, 3, dtype=torch.float64)
    grads = []
    for rep in (builtin, ours):
        for part in parts:
            part.zero_grad(set_to_none=True)
        (rep(torch.arange(NUM)) * weights).sum().backward()
        grads.append([part._embeddings.weight.grad.clone() for part in parts])
    for expected, got in zip(*grads, strict=True):
        assert torch.equal(got, expected)


def test_a_pickle_holds_no_plan_and_looks_up_as_before(parts: tuple[Embedding, Embedding]) -> None:
    ours, builtin = _pair(parts)
    _agree(ours, builtin)
    assert "_plan_cache" in ours.__dict__
    copy = pickle.loads(pickle.dumps(ours))
    assert "_plan_cache" not in copy.__dict__
    assert torch.equal(copy(torch.arange(NUM)), ours(torch.arange(NUM)))


@pytest.mark.parametrize("groups", [[[39, 1, 20], [7, 8, 9, 10], [0]], [[5, 0, 3], list(range(6, 40))]])
def test_several_bases_take_the_plan_and_agree_with_the_general_path(groups: list[list[int]]) -> None:
    from pykeen_backfill import BaseSource

    torch.manual_seed(2)
    sources = [BaseSource(ids=ids, base=Embedding(max_id=len(ids), shape=3, trainable=False)) for ids in groups]
    rep = BackfillRepresentation(max_id=NUM, sources=sources)
    query = torch.randint(NUM, (500,), generator=torch.Generator().manual_seed(3))
    assert isinstance(rep._plan(), PlainLookup)
    assert torch.equal(rep(query), rep._gather_exact(rep._rows(query)))
    with pytest.raises(IndexError, match=r"max_id=40\), but got \[-1, 40\]"):
        rep(torch.tensor([0, 40, -1]))


def test_the_plans_accelerator_path_agrees_on_the_cpu_and_runs_on_meta(parts: tuple[Embedding, Embedding]) -> None:
    """The path a GPU takes (gather, clamp, where; no nonzero), run on the CPU: outputs and gradients."""
    ours, builtin = _pair(parts)
    parts[0].requires_grad_(True)
    plan = ours._plan()
    query = torch.randint(NUM, (300,), generator=torch.Generator().manual_seed(4))
    weights = torch.randn(300, 3)
    grads = []
    for lookup in (builtin, plan._sync_free):
        for part in parts:
            part.zero_grad(set_to_none=True)
        out = lookup(query)
        (out * weights).sum().backward()
        grads.append([out.detach(), *(part._embeddings.weight.grad.clone() for part in parts)])
    for expected, got in zip(*grads, strict=True):
        assert torch.equal(got, expected)
    meta = BackfillRepresentation(max_id=NUM, base_ids=list(range(15)), shape=3).to("meta")
    assert meta(torch.zeros(7, dtype=torch.long, device="meta")).shape == (7, 3)
