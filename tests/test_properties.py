"""Property-based tests of the id mapping against a plain-Python reference.

The reference is a dict from global id to ``(part, row)``: base ``k`` serves ``ids_k[i]`` from its row ``i``, and the
backfill serves the remaining ids, in increasing order, from its rows. Every part's row ``i`` holds the vector
``(part, i)``, so a lookup shows where each id was served from.
"""

from __future__ import annotations

import itertools

import numpy
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pykeen.nn import Embedding

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import IdOutOfRangeError, InvalidIdsError

#: the vector of every backfill row starts with this part number
BACKFILL = -1

SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def layouts(draw: st.DrawFn) -> tuple[int, list[list[int]]]:
    """Draw ``max_id`` and one to three disjoint, unsorted, non-empty groups of base ids."""
    max_id = draw(st.integers(min_value=1, max_value=40))
    permutation = draw(st.permutations(range(max_id)))
    num_groups = draw(st.integers(min_value=1, max_value=min(3, max_id)))
    # the groups may cover every id, which leaves no backfill
    covered = draw(st.integers(min_value=num_groups, max_value=max_id))
    cuts = sorted(draw(st.sets(st.integers(1, max(covered - 1, 1)), min_size=num_groups - 1, max_size=num_groups - 1)))
    bounds = [0, *cuts, covered]
    return max_id, [list(permutation[a:b]) for a, b in itertools.pairwise(bounds)]


def _reference(max_id: int, groups: list[list[int]]) -> dict[int, tuple[int, int]]:
    where = {}
    for part, ids in enumerate(groups):
        for row, global_id in enumerate(ids):
            where[global_id] = (part, row)
    rest = sorted(set(range(max_id)) - set(where))
    where.update({global_id: (BACKFILL, row) for row, global_id in enumerate(rest)})
    return where


def _labelled(num_rows: int, part: int) -> Embedding:
    embedding = Embedding(max_id=num_rows, shape=2)
    with torch.no_grad():
        embedding._embeddings.weight[:, 0] = part
        embedding._embeddings.weight[:, 1] = torch.arange(num_rows)
    return embedding


def _as_given(ids: list[int], form: str) -> object:
    if form == "numpy":
        return numpy.asarray(ids, dtype=numpy.int32)
    if form == "tensor":
        return torch.as_tensor(ids)
    if form == "generator":
        return (i for i in ids)
    return ids


def _build(max_id: int, groups: list[list[int]], form: str) -> BackfillRepresentation:
    num_backfill = max_id - sum(map(len, groups))
    backfill = _labelled(num_backfill, BACKFILL) if num_backfill else None
    bases = [_labelled(len(ids), part) for part, ids in enumerate(groups)]
    if len(groups) == 1:
        return BackfillRepresentation(max_id, _as_given(groups[0], form), base=bases[0], backfill=backfill)
    sources = [dict(ids=_as_given(ids, form), base=base) for ids, base in zip(groups, bases, strict=True)]
    return BackfillRepresentation(max_id, sources=sources, backfill=backfill)


def _expected(where: dict[int, tuple[int, int]], indices: torch.Tensor) -> torch.Tensor:
    flat = [where[i] for i in indices.reshape(-1).tolist()]
    return torch.tensor(flat, dtype=torch.float).reshape(*indices.shape, 2)


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, list[list[int]], str, torch.Tensor]:
    """Draw a layout, the form its ids are given in, and indices of random shape and integer dtype."""
    max_id, groups = draw(layouts())
    form = draw(st.sampled_from(["list", "numpy", "tensor", "generator"]))
    dtype = draw(st.sampled_from([numpy.int64, numpy.int32]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    indices = draw(hnp.arrays(dtype=dtype, shape=shape, elements=st.integers(0, max_id - 1)))
    return max_id, groups, form, torch.from_numpy(numpy.array(indices))


@SETTINGS
@given(cases())
def test_forward_equals_the_reference_gather(case: tuple[int, list[list[int]], str, torch.Tensor]) -> None:
    max_id, groups, form, indices = case
    rep = _build(max_id, groups, form)
    where = _reference(max_id, groups)
    with torch.no_grad():
        assert torch.equal(rep(indices), _expected(where, indices))
        assert torch.equal(rep(None), _expected(where, torch.arange(max_id)))
    assert rep.base_ids.tolist() == [i for ids in groups for i in ids]
    assert rep.backfill_ids.tolist() == sorted(i for i, (part, _) in where.items() if part == BACKFILL)
    assert rep.num_base_ids == sum(map(len, groups))


@SETTINGS
@given(layouts(), st.data())
def test_forward_refuses_exactly_the_out_of_range_ids(layout: tuple[int, list[list[int]]], data: st.DataObject) -> None:
    max_id, groups = layout
    rep = _build(max_id, groups, "list")
    values = data.draw(st.lists(st.integers(-2 * max_id - 1, 2 * max_id + 1), max_size=8))
    indices = torch.tensor(values, dtype=torch.long)
    bad = sorted({v for v in values if not 0 <= v < max_id})
    if bad:
        with pytest.raises(IdOutOfRangeError, match=str(bad[0])):
            rep(indices)
    else:
        # in particular, a negative id never wraps around to the end of the table
        assert torch.equal(rep(indices).detach(), _expected(_reference(max_id, groups), indices))


@SETTINGS
@given(st.integers(1, 30), st.lists(st.integers(-3, 33), min_size=1, max_size=12))
def test_construction_refuses_exactly_the_invalid_base_ids(max_id: int, base_ids: list[int]) -> None:
    invalid = len(set(base_ids)) < len(base_ids) or any(not 0 <= i < max_id for i in base_ids)
    if invalid:
        with pytest.raises(InvalidIdsError):
            BackfillRepresentation(max_id, base_ids, shape=2)
    else:
        rep = BackfillRepresentation(max_id, base_ids, shape=2)
        assert rep.base_ids.tolist() == base_ids
        assert sorted(rep.base_ids.tolist() + rep.backfill_ids.tolist()) == list(range(max_id))
