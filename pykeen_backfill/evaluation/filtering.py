"""The known true triples of a batch of queries, looked up in sorted keys instead of compared against every triple.

PyKEEN's evaluator finds the triples to filter by comparing each query of a batch with every filter triple, a
``(batch, num_filter_triples)`` mask per batch. :class:`FilterIndex` sorts the filter triples once by their
``(entity, relation)`` key per side, and finds each query's answers with two binary searches.
"""

from __future__ import annotations

import torch
from pykeen.typing import LABEL_HEAD, LABEL_TAIL

__all__ = [
    "FilterIndex",
]


class _Side:
    """The filter triples of one side, sorted by the key of the given entity and the relation."""

    def __init__(self, given: torch.Tensor, relations: torch.Tensor, answers: torch.Tensor, num_relations: int):
        self.num_relations = num_relations
        keys = given * num_relations + relations
        self.keys, order = torch.sort(keys, stable=True)
        self.answers = answers[order]

    def positions(self, given: torch.Tensor, relations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        queries = given * self.num_relations + relations
        start = torch.searchsorted(self.keys, queries, side="left")
        counts = torch.searchsorted(self.keys, queries, side="right") - start
        rows = torch.repeat_interleave(torch.arange(len(queries), device=queries.device), counts)
        offsets = torch.cumsum(counts, dim=0) - counts
        within = torch.arange(len(rows), device=queries.device) - torch.repeat_interleave(offsets, counts)
        return rows, self.answers[torch.repeat_interleave(start, counts) + within]


class FilterIndex:
    """The filter triples, indexed for finding all known answers of a batch of head or tail queries.

    :param triples:
        shape: ``(n, 3)``; the triples to filter (duplicates are harmless).
    :param num_relations:
        The number of relations (at least one more than the largest relation id).
    """

    def __init__(self, triples: torch.Tensor, num_relations: int):
        triples = triples.long()
        heads, relations, tails = triples.unbind(dim=1)
        self._sides = {
            LABEL_TAIL: _Side(heads, relations, tails, num_relations),
            LABEL_HEAD: _Side(tails, relations, heads, num_relations),
        }

    def positions(self, batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the known answers of each query of a batch.

        :param batch:
            shape: ``(b, 3)``; ``(h, r, t)`` ids; for ``target="tail"`` the head and relation are the query.
        :param target:
            ``"head"`` or ``"tail"``.

        :return:
            The row in the batch and the entity id of each known answer, two tensors of equal length.
        """
        given = batch[:, 0] if target == LABEL_TAIL else batch[:, 2]
        return self._sides[target].positions(given, batch[:, 1])
