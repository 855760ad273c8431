"""The neighbour start refuses triples that name ids outside the graph, instead of skipping them."""

from __future__ import annotations

import pytest
import torch
from pykeen.nn import Embedding

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import IdTypeError, InvalidIdsError


def _start(triples: torch.Tensor, *, target: str = "entity") -> BackfillRepresentation:
    base = Embedding(max_id=3, shape=2, trainable=False)
    return BackfillRepresentation(
        max_id=6, base_ids=[0, 1, 2], base=base, backfill_init="neighbours", triples=triples, target=target
    )


@pytest.mark.parametrize(
    ("triples", "bad"),
    [
        ([[0, 0, 3], [99, 0, 4]], "99"),
        ([[0, 0, 3], [1, 0, 6]], "6"),
        ([[-1, 0, 3]], "-1"),
    ],
    ids=["far beyond", "max_id itself", "negative"],
)
def test_entity_ids_outside_max_id_are_refused_naming_them(triples: list[list[int]], bad: str) -> None:
    with pytest.raises(InvalidIdsError, match=rf"triples must hold entity ids in \[0, max_id=6\), but hold \[{bad}\]"):
        _start(torch.tensor(triples))


def test_relation_ids_are_checked_against_the_relations_max_id() -> None:
    # entity ids beyond 6 are another id space here, and fine
    _start(torch.tensor([[10, 0, 11], [10, 4, 11]]), target="relation")
    with pytest.raises(InvalidIdsError, match=r"relation ids in \[0, max_id=6\), but hold \[7\]"):
        _start(torch.tensor([[0, 7, 1]]), target="relation")


def test_float_triples_are_refused_rather_than_truncated() -> None:
    with pytest.raises(IdTypeError, match=r"triples must hold integer ids, but got a tensor of dtype torch\.float32"):
        _start(torch.tensor([[0.0, 0.0, 3.5]]))


def test_triples_within_range_start_new_rows_at_their_neighbours() -> None:
    rep = _start(torch.tensor([[0, 0, 3], [1, 0, 3], [2, 0, 5]]))
    with torch.no_grad():
        known = rep(torch.tensor([0, 1, 2]))
        assert torch.allclose(rep(torch.tensor([3]))[0], known[:2].mean(dim=0))
        assert torch.equal(rep(torch.tensor([5]))[0], known[2])
