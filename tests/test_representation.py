"""Differential tests: our BackfillRepresentation against PyKEEN's built-in class, given the same parts."""

from __future__ import annotations

import numpy
import pytest
import torch
from pykeen.nn import Embedding
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import Representation

from pykeen_backfill import BackfillRepresentation, BaseSource

SHAPES = [(7,), (2, 3), (1, 4, 5)]


def _layout(seed: int, max_id: int, num_base: int) -> list[int]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(max_id, generator=generator)[:num_base].tolist()


def _pair(seed: int, max_id: int, num_base: int, dim: int = 5, **kwargs):
    """Build ours and PyKEEN's around the same (shared) base and backfill modules."""
    torch.manual_seed(seed)
    base_ids = _layout(seed, max_id, num_base)
    base = Embedding(max_id=num_base, shape=(dim,))
    backfill = Embedding(max_id=max_id - num_base, shape=(dim,)) if num_base < max_id else None
    ours = BackfillRepresentation(max_id=max_id, base_ids=base_ids, base=base, backfill=backfill, **kwargs)
    theirs = pykeen_representation.BackfillRepresentation(
        max_id=max_id, base_ids=base_ids, base=base, backfill=backfill, **kwargs
    )
    return ours, theirs


LAYOUTS = [(0, 20, 7), (1, 50, 1), (2, 50, 49), (3, 200, 100), (4, 13, 12), (5, 1000, 333)]


@pytest.mark.parametrize(("seed", "max_id", "num_base"), LAYOUTS)
@pytest.mark.parametrize("prefix", [None, *SHAPES])
def test_outputs_identical(seed: int, max_id: int, num_base: int, prefix: tuple[int, ...] | None) -> None:
    ours, theirs = _pair(seed, max_id, num_base)
    indices = None if prefix is None else torch.randint(max_id, size=prefix)
    expected = theirs(indices)
    actual = ours(indices)
    assert actual.shape == expected.shape
    assert torch.equal(actual, expected)


@pytest.mark.parametrize(("seed", "max_id", "num_base"), LAYOUTS)
@pytest.mark.parametrize("prefix", [None, *SHAPES])
def test_gradients_reach_the_same_rows(seed: int, max_id: int, num_base: int, prefix: tuple[int, ...] | None) -> None:
    ours, theirs = _pair(seed, max_id, num_base)
    indices = None if prefix is None else torch.randint(max_id, size=prefix)
    weights = torch.randn(*ours(indices).shape)
    grads = []
    for module in (theirs, ours):
        module.zero_grad()
        (module(indices) * weights).sum().backward()
        grads.append([p.grad.clone() for p in module.parameters()])
    for expected, actual in zip(*grads, strict=True):
        assert torch.equal(expected != 0, actual != 0)
        torch.testing.assert_close(actual, expected)


def test_the_backfill_serves_the_remaining_ids_in_increasing_order() -> None:
    base_ids = [9, 2, 5]
    base = Embedding(max_id=3, shape=(2,))
    rep = BackfillRepresentation(max_id=10, base_ids=base_ids, base=base)
    for row, global_id in enumerate(base_ids):
        assert torch.equal(rep(torch.tensor([global_id])), base(torch.tensor([row])))
    remaining = [i for i in range(10) if i not in base_ids]
    assert torch.equal(rep(torch.tensor(remaining)), rep.backfill(None))
    assert rep.base_ids.tolist() == base_ids
    assert rep.backfill_ids.tolist() == remaining


@pytest.mark.parametrize(
    "make_ids",
    [
        lambda ids: ids,
        lambda ids: tuple(ids),
        lambda ids: (i for i in ids),
        lambda ids: numpy.asarray(ids, dtype=numpy.int32),
        lambda ids: torch.as_tensor(ids),
    ],
    ids=["list", "tuple", "generator", "numpy", "tensor"],
)
def test_base_ids_accept_any_iterable_of_ints(make_ids) -> None:
    base = Embedding(max_id=4, shape=(3,))
    rep = BackfillRepresentation(max_id=9, base_ids=make_ids([8, 0, 3, 5]), base=base)
    assert rep.base_ids.tolist() == [8, 0, 3, 5]


def test_base_ids_accept_a_range() -> None:
    rep = BackfillRepresentation(max_id=9, base_ids=range(2, 8, 2), base_kwargs=dict(shape=3))
    assert rep.base_ids.tolist() == [2, 4, 6]
    assert rep.backfill.max_id == 6


def test_hints_build_base_with_len_base_ids_and_backfill_with_base_shape() -> None:
    rep = BackfillRepresentation(max_id=30, base_ids=[3, 1, 4], base="embedding", base_kwargs=dict(shape=(2, 3)))
    assert rep.base.max_id == 3
    assert rep.backfill.max_id == 27
    assert rep.backfill.shape == (2, 3)
    assert rep.shape == (2, 3)
    assert rep(torch.tensor([[0, 3], [1, 29]])).shape == (2, 2, 2, 3)


def test_without_remaining_ids_there_is_no_backfill() -> None:
    base = Embedding(max_id=4, shape=(3,))
    rep = BackfillRepresentation(max_id=4, base_ids=[3, 2, 1, 0], base=base)
    assert rep.backfill is None
    assert torch.equal(rep(None), base(None).flip(0))


@pytest.mark.parametrize("unique", [True, False])
def test_unique_normalizer_regularizer_keep_their_meaning(unique: bool) -> None:
    kwargs = dict(normalizer="normalize", regularizer="lp", unique=unique)
    ours, theirs = _pair(0, 40, 15, **kwargs)
    assert ours.unique is unique
    indices = torch.randint(40, size=(30,))
    actual = ours(indices)
    torch.testing.assert_close(actual, theirs(indices))
    # PyKEEN's "normalize" normalizes along dim 1, i.e. per row for one-dimensional indices
    torch.testing.assert_close(actual.norm(dim=-1), torch.ones(30))
    torch.testing.assert_close(ours.regularizer.pop_regularization_term(), theirs.regularizer.pop_regularization_term())


def test_unique_defaults_to_false() -> None:
    rep = BackfillRepresentation(max_id=5, base_ids=[0], base_kwargs=dict(shape=2))
    assert rep.unique is False


def test_dropout_applies_to_the_output_in_training_only() -> None:
    rep = BackfillRepresentation(max_id=50, base_ids=range(25), base_kwargs=dict(shape=64), dropout=0.5)
    indices = torch.arange(50)
    rep.train()
    assert (rep(indices) == 0).any()
    rep.eval()
    assert not (rep(indices) == 0).any()


def test_print_shows_the_composition() -> None:
    rep = BackfillRepresentation(max_id=10, base_ids=[1, 2, 3], base_kwargs=dict(shape=4))
    text = str(rep)
    assert "max_id=10" in text
    assert "num_base_ids=3" in text
    assert "num_backfill_ids=7" in text
    assert "(bases)" in text and "(backfill)" in text
    assert "Embedding(3, 4)" in text and "Embedding(7, 4)" in text


def test_docdata_lets_pykeen_tooling_list_it() -> None:
    from docdata import get_docdata

    assert get_docdata(BackfillRepresentation) == {"name": "Backfill"}
    assert "---" not in (BackfillRepresentation.__doc__ or "")


def test_is_a_representation_but_not_pykeens_partition_class() -> None:
    assert issubclass(BackfillRepresentation, Representation)
    assert not issubclass(BackfillRepresentation, pykeen_representation.PartitionRepresentation)


def test_several_sources_match_pykeens_multi_backfill() -> None:
    torch.manual_seed(0)
    first, second = [7, 1, 12], [0, 9]
    base_a = Embedding(max_id=3, shape=(4,))
    base_b = Embedding(max_id=2, shape=(4,))
    backfill = Embedding(max_id=10, shape=(4,))
    ours = BackfillRepresentation(
        max_id=15,
        sources=[BaseSource(ids=first, base=base_a), {"ids": second, "base": base_b}],
        backfill=backfill,
    )
    theirs = pykeen_representation.MultiBackfillRepresentation(
        max_id=15,
        partitions=[pykeen_representation.Partition(first, base_a), pykeen_representation.Partition(second, base_b)],
        backfill=backfill,
    )
    indices = torch.randint(15, size=(4, 6))
    assert torch.equal(ours(indices), theirs(indices))
    assert torch.equal(ours(None), theirs(None))


def test_a_given_base_is_not_reinitialised_by_reset_parameters() -> None:
    base = Embedding(max_id=3, shape=(4,), trainable=False)
    values = base(None).detach().clone()
    rep = BackfillRepresentation(max_id=8, base_ids=[5, 6, 7], base=base)
    # the order of a PyKEEN model's initialisation: deepest modules first, the representation last
    modules = sorted(rep.named_modules(), key=lambda pair: pair[0].count(".") if pair[0] else -1, reverse=True)
    for _, module in modules:
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    assert torch.equal(base(None), values)


def test_indices_on_the_meta_device_are_refused_naming_the_parameter() -> None:
    from pykeen_backfill.errors import InvalidIdsError

    rep = BackfillRepresentation(max_id=10, base_ids=[1, 2], base_kwargs=dict(shape=3))
    with pytest.raises(InvalidIdsError, match=r"indices must hold values.*shape \(4,\) on the meta device"):
        rep(torch.zeros(4, dtype=torch.long, device="meta"))
    # a representation on the meta device infers shapes from such indices
    assert rep.to("meta")(torch.zeros(4, dtype=torch.long, device="meta")).shape == (4, 3)
