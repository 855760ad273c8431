"""What PyTorch modules promise, kept by the parts of a backfill: ours against PyKEEN's built-in, fault class by class.

Ours and the built-in are given the *same* part modules; whatever is attached to a part (a hook, pruning, a
parametrization, dropout) then acts on both, and every test compares outputs and the parts' gradients bit for bit.
The built-in runs with ``unique=False``, so that both ask each part for the same ids in the same order.
"""

from __future__ import annotations

import copy
import io
import pickle
from collections.abc import Callable

import pytest
import torch
from pykeen.nn import Embedding
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import normalizer_resolver
from torch.nn.utils import parametrize, prune

from pykeen_backfill import BackfillRepresentation

MAX_ID, NUM_BASE, DIM = 40, 15, 3
QUERIES = [torch.tensor([3, 3, 39, 0, 17, 22, 3]), torch.arange(MAX_ID).view(5, 8), torch.tensor([], dtype=torch.long)]


def _parts(*, base_trainable: bool = True, **kwargs: object) -> tuple[Embedding, Embedding]:
    torch.manual_seed(0)
    base = Embedding(max_id=NUM_BASE, shape=DIM, trainable=base_trainable, **kwargs)
    return base, Embedding(max_id=MAX_ID - NUM_BASE, shape=DIM, **kwargs)


def _pair(base: Embedding, backfill: Embedding) -> tuple[BackfillRepresentation, torch.nn.Module]:
    base_ids = torch.randperm(MAX_ID, generator=torch.Generator().manual_seed(1))[:NUM_BASE].tolist()
    ours = BackfillRepresentation(max_id=MAX_ID, base_ids=base_ids, base=base, backfill=backfill)
    builtin = pykeen_representation.BackfillRepresentation(
        max_id=MAX_ID, base_ids=base_ids, base=base, backfill=backfill, unique=False
    )
    return ours, builtin


def _outputs_and_grads(rep: torch.nn.Module, indices: torch.Tensor | None, seed: int = 0) -> list[torch.Tensor | None]:
    """Return the output and the gradient of every trainable tensor, for a fixed weighting of the output."""
    parameters = [p for p in rep.parameters() if p.requires_grad]
    for parameter in parameters:
        parameter.grad = None
    torch.manual_seed(seed)
    out = rep(indices)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    if out.requires_grad:
        (out * weights).sum().real.backward()
    return [out.detach(), *(None if p.grad is None else p.grad.clone() for p in parameters)]


def _assert_same(ours: torch.nn.Module, builtin: torch.nn.Module, queries: list[torch.Tensor | None] | None = None):
    for indices in [*QUERIES, None] if queries is None else queries:
        expected = _outputs_and_grads(builtin, indices)
        actual = _outputs_and_grads(ours, indices)
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected, strict=True):
            assert (got is None) == (want is None)
            assert got is None or (got.dtype == want.dtype and torch.equal(got, want)), indices


def _double_output(module: torch.nn.Module, args: tuple, kwargs: dict, output: torch.Tensor) -> torch.Tensor:
    return 2 * output + 1


def _shift_indices(module: torch.nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    # every id one row further, the last row wrapping to the first; None stands for all ids, as PyKEEN defines it
    indices = kwargs.get("indices")
    indices = torch.arange(module.max_id) if indices is None else indices
    return args, {**kwargs, "indices": (indices + 1) % module.max_id}


@pytest.mark.parametrize("where", ["base", "backfill"])
@pytest.mark.parametrize(
    ("kind", "hook"), [("pre", _shift_indices), ("post", _double_output)], ids=["pre-hook", "post-hook"]
)
def test_forward_hooks_on_a_part_apply_as_in_the_built_in(where: str, kind: str, hook: Callable) -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    plain = ours(QUERIES[0]).detach().clone()
    part = base if where == "base" else backfill
    if kind == "pre":
        part.register_forward_pre_hook(hook, with_kwargs=True)
    else:
        part.register_forward_hook(hook, with_kwargs=True)
    _assert_same(ours, builtin)
    assert not torch.equal(ours(QUERIES[0]), plain)


@pytest.mark.parametrize("where", ["base", "backfill"])
def test_a_part_sees_the_ids_the_built_in_asks_for(where: str) -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    seen: list[torch.Tensor] = []
    part = base if where == "base" else backfill
    part.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["indices"]), with_kwargs=True)
    for indices in QUERIES:
        seen.clear()
        builtin(indices)
        expected = [(ids.dtype, ids.tolist()) for ids in seen]
        seen.clear()
        ours(indices)
        assert [(ids.dtype, ids.tolist()) for ids in seen] == expected


@pytest.mark.parametrize("kind", ["pre", "post"])
def test_forward_hooks_on_the_representation_apply_as_in_the_built_in(kind: str) -> None:
    ours, builtin = _pair(*_parts())
    for rep in (ours, builtin):
        if kind == "pre":
            rep.register_forward_pre_hook(lambda module, args: (args[0].flip(0),) if args[0] is not None else args)
        else:
            rep.register_forward_hook(_double_output, with_kwargs=True)
    _assert_same(ours, builtin, [torch.tensor([5, 0, 39, 0]), None])


def _assert_same_all_rows_without_gradients(ours: torch.nn.Module, builtin: torch.nn.Module) -> None:
    """Compare lookups with gradients, and all rows right after a lookup, without them.

    Asked for all rows (``indices=None``), PyKEEN's :class:`~pykeen.nn.representation.Embedding` reads its inner
    module's ``weight`` attribute as it stands, without calling the module; pruning (and the hook-based
    ``torch.nn.utils.weight_norm``) recompute that attribute at each call of the module only. Both representations
    therefore ask each part for its rows by id.
    """
    _assert_same(ours, builtin, QUERIES)
    with torch.no_grad():
        expected = builtin(None)
        assert torch.equal(ours(None), expected)


def test_all_rows_of_a_pruned_part_are_its_current_values_after_an_update() -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    prune.random_unstructured(backfill._embeddings, name="weight", amount=0.4)
    ours(torch.tensor([0, 39])).sum().backward()
    with torch.no_grad():
        backfill._embeddings.weight_orig.add_(1.0)
    # no lookup since the update: all rows must still show it, as the built-in's do
    assert torch.equal(ours(None), builtin(None))


@pytest.mark.parametrize("where", ["base", "backfill"])
@pytest.mark.parametrize(
    "prune_it",
    [
        lambda module: prune.random_unstructured(module, name="weight", amount=0.4),
        lambda module: prune.l1_unstructured(module, name="weight", amount=0.3),
        lambda module: prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=1),
    ],
    ids=["random", "l1", "structured"],
)
def test_pruning_a_part_applies_as_in_the_built_in(where: str, prune_it: Callable) -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    torch.manual_seed(3)
    prune_it((base if where == "base" else backfill)._embeddings)
    _assert_same_all_rows_without_gradients(ours, builtin)
    # the pruned rows are zero in ours too
    assert (ours(None) == 0).any()


def test_pruning_the_representations_own_parts_by_module_path() -> None:
    ours, builtin = _pair(*_parts())
    prune.global_unstructured(
        [(ours.backfill._embeddings, "weight"), (ours.base._embeddings, "weight")],
        pruning_method=prune.L1Unstructured,
        amount=0.25,
    )
    _assert_same_all_rows_without_gradients(ours, builtin)


class _Doubled(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x


@pytest.mark.parametrize("where", ["base", "backfill"])
@pytest.mark.parametrize(
    "parametrize_it",
    [
        lambda module: parametrize.register_parametrization(module, "weight", _Doubled()),
        torch.nn.utils.parametrizations.weight_norm,
        torch.nn.utils.parametrizations.spectral_norm,
    ],
    ids=["custom", "weight norm", "spectral norm"],
)
def test_parametrizations_of_a_part_apply_as_in_the_built_in(where: str, parametrize_it: Callable) -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    before = ours(QUERIES[0]).detach().clone()
    torch.manual_seed(4)
    parametrize_it((base if where == "base" else backfill)._embeddings)
    # spectral norm's power iteration advances at each call in training mode: compare in evaluation mode
    for rep in (ours, builtin):
        rep.eval()
    _assert_same(ours, builtin)
    # weight norm starts as the identity
    assert parametrize_it is torch.nn.utils.parametrizations.weight_norm or not torch.equal(ours(QUERIES[0]), before)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_hook_based_weight_norm_applies_as_in_the_built_in() -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    torch.nn.utils.weight_norm(backfill._embeddings)
    _assert_same_all_rows_without_gradients(ours, builtin)


def test_dropout_in_a_part_draws_the_same_mask_as_the_built_in() -> None:
    base, backfill = _parts(dropout=0.5)
    ours, builtin = _pair(base, backfill)
    for rep in (ours, builtin):
        rep.train()
    # the same seed before each call (see _outputs_and_grads): the same ids per part in the same order draw equally
    _assert_same(ours, builtin, QUERIES[:2])
    assert (ours(torch.arange(MAX_ID)) == 0).any()


def test_normalizers_and_regularizers_of_parts_see_the_same_rows() -> None:
    base, backfill = _parts(normalizer="normalize", regularizer="lp")
    ours, builtin = _pair(base, backfill)
    for indices in QUERIES[:2]:
        expected = _outputs_and_grads(builtin, indices)
        terms = [part.regularizer.pop_regularization_term() for part in (base, backfill)]
        actual = _outputs_and_grads(ours, indices)
        assert all(torch.equal(a, b) for a, b in zip(actual, expected, strict=True))
        assert [part.regularizer.pop_regularization_term() for part in (base, backfill)] == terms


def test_functional_call_with_other_weights_equals_the_built_in() -> None:
    ours, builtin = _pair(*_parts())
    generator = torch.Generator().manual_seed(5)
    replaced = {
        "base._embeddings.weight": torch.randn(NUM_BASE, DIM, generator=generator, requires_grad=True),
        "backfill._embeddings.weight": torch.randn(MAX_ID - NUM_BASE, DIM, generator=generator, requires_grad=True),
    }
    own_names = {"bases.0._embeddings.weight": replaced["base._embeddings.weight"]}
    own_names["backfill._embeddings.weight"] = replaced["backfill._embeddings.weight"]
    builtin_names = {"bases.0._embeddings.weight": own_names["bases.0._embeddings.weight"]}
    builtin_names["bases.1._embeddings.weight"] = own_names["backfill._embeddings.weight"]
    for indices in (QUERIES[0], None):
        expected = torch.func.functional_call(builtin, builtin_names, (indices,))
        actual = torch.func.functional_call(ours, own_names, (indices,))
        assert torch.equal(actual, expected)
        assert not torch.equal(actual, ours(indices))
        grads = [torch.autograd.grad(x.sum(), list(replaced.values())) for x in (expected, actual)]
        assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))


def test_torch_func_grad_equals_the_built_in() -> None:
    ours, builtin = _pair(*_parts())
    weights = {"bases.0._embeddings.weight": ours.base._embeddings.weight.detach()}
    weights["backfill._embeddings.weight"] = ours.backfill._embeddings.weight.detach()
    builtin_weights = {"bases.0._embeddings.weight": weights["bases.0._embeddings.weight"]}
    builtin_weights["bases.1._embeddings.weight"] = weights["backfill._embeddings.weight"]
    indices = QUERIES[0]

    def loss(module: torch.nn.Module) -> Callable:
        return lambda params: torch.func.functional_call(module, params, (indices,)).square().sum()

    ours_grad = torch.func.grad(loss(ours))(weights)
    builtin_grad = torch.func.grad(loss(builtin))(builtin_weights)
    assert torch.equal(ours_grad["bases.0._embeddings.weight"], builtin_grad["bases.0._embeddings.weight"])
    assert torch.equal(ours_grad["backfill._embeddings.weight"], builtin_grad["bases.1._embeddings.weight"])


@pytest.mark.parametrize("assign", [False, True])
def test_a_state_dict_round_trip_gives_the_same_lookups(assign: bool) -> None:
    ours, _ = _pair(*_parts())
    other, builtin = _pair(*_parts(base_trainable=True))
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(1.0)
    state = ours.state_dict()
    assert {"position", "order"} <= state.keys()
    other.load_state_dict(copy.deepcopy(state), assign=assign)
    for indices in [*QUERIES, None]:
        assert torch.equal(other(indices), ours(indices))
    # loaded in place into the shared parts, the built-in agrees too
    _assert_same(other, builtin)


def test_a_state_dict_loaded_by_assignment_is_read() -> None:
    ours, builtin = _pair(*_parts())
    state = {
        key: torch.randn_like(value) if value.is_floating_point() else value for key, value in ours.state_dict().items()
    }
    ours.load_state_dict(state, assign=True)
    assert torch.equal(ours.backfill(indices=None), state["backfill._embeddings.weight"])
    assert torch.equal(ours(torch.arange(MAX_ID)), builtin(torch.arange(MAX_ID)))


def test_a_replaced_weight_and_a_normalizer_added_later_are_seen() -> None:
    base, backfill = _parts()
    ours, builtin = _pair(base, backfill)
    _assert_same(ours, builtin)
    backfill._embeddings.weight = torch.nn.Parameter(torch.randn(MAX_ID - NUM_BASE, DIM))
    _assert_same(ours, builtin)
    backfill.normalizer = normalizer_resolver.make("normalize")
    _assert_same(ours, builtin)


def test_a_cast_and_unfreezing_are_seen() -> None:
    base, backfill = _parts(base_trainable=False)
    ours, builtin = _pair(base, backfill)
    ours.double()
    assert ours(QUERIES[0]).dtype == torch.float64
    base.requires_grad_(True)
    _assert_same(ours, builtin)


@pytest.mark.parametrize("base_trainable", [False, True])
def test_gradients_of_repeated_ids_are_summed_in_the_built_ins_order(base_trainable: bool) -> None:
    base, backfill = _parts(base_trainable=base_trainable, dtype=torch.float64)
    ours, builtin = _pair(base, backfill)
    _assert_same(ours, builtin, [torch.randint(MAX_ID, (2000,), generator=torch.Generator().manual_seed(1)), None])


def test_the_all_rows_output_is_resized_like_any_tensor() -> None:
    ours, builtin = _pair(*_parts())
    with torch.no_grad():
        ours_rows, builtin_rows = ours(None), builtin(None)
        for rows in (ours_rows, builtin_rows):
            rows.resize_(2 * MAX_ID, DIM)
            rows[MAX_ID:] = 0
    assert torch.equal(ours_rows[:MAX_ID], builtin_rows[:MAX_ID])
    grown = ours(None).detach()
    grown.resize_(MAX_ID + 1, DIM)
    assert grown.shape == (MAX_ID + 1, DIM)


def test_pickles_and_deep_copies_look_up_as_before() -> None:
    ours, builtin = _pair(*_parts())
    buffer = io.BytesIO()
    torch.save(ours, buffer)
    buffer.seek(0)
    for clone in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours), torch.load(buffer, weights_only=False)):
        for indices in [*QUERIES, None]:
            assert torch.equal(clone(indices), builtin(indices))


class _NoAllRows(Embedding):
    """A part that serves ids but refuses to materialise all of its rows."""

    def _plain_forward(self, indices: torch.Tensor | None = None) -> torch.Tensor:
        if indices is None:
            raise MemoryError("this part does not materialise all rows")
        return super()._plain_forward(indices)


def test_a_part_that_refuses_to_materialise_all_rows_is_asked_by_id_also_for_all_rows() -> None:
    torch.manual_seed(0)
    base, backfill = _NoAllRows(max_id=NUM_BASE, shape=DIM), Embedding(max_id=MAX_ID - NUM_BASE, shape=DIM)
    ours, builtin = _pair(base, backfill)
    _assert_same(ours, builtin, [*QUERIES, None])
