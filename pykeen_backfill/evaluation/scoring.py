"""Scores of every candidate entity at once, by matrix products and distance matrices, where that is exact.

PyKEEN scores all candidates of a batch by broadcasting: ``(batch, num_entities, dim)`` intermediates, which on a CPU
cost more in fresh memory pages than in arithmetic. For the interactions below the score of every candidate is the
same function written as a matrix product (or a blocked distance matrix) of a per-query vector with the matrix of all
entity rows, so no intermediate of that size is needed:

- DistMult: ``<h * r, t>`` and ``<r * t, h>``; RESCAL: ``<h R, t>`` and ``<R t, h>``;
- ComplEx: ``Re<h * r, conj(t)>`` and ``Re<r * conj(t), h>`` on the real view of complex rows;
- SimplE: both directions of DistMult over the two entity rows, halved and clamped as its interaction does;
- TransE: ``-||(h + r) - t||_p`` and ``-||(t - r) - h||_p`` for ``p`` of 1 and 2, squared with ``power_norm``
  (for ``p=1`` the power changes nothing);
- RotatE: ``-||h * r - t||`` and ``-||t * conj(r) - h||``, the head side exactly as PyKEEN computes it.

These scores agree with PyKEEN's up to floating-point rounding, as the sums run in another order, so each scorer also
bounds that difference per query (generously: a sum of ``n`` terms errs by at most about ``n`` roundings of the sum
of their magnitudes). :mod:`.ranking` recomputes with PyKEEN's own scoring every score the bound leaves on either side
of the true answer's, so the ranks are PyKEEN's. Anything not listed, wrapped or overridden gets no scorer
(:func:`exact_scorer` returns ``None``) and is left to PyKEEN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from pykeen.models import ERModel, Model
from pykeen.nn.modules import (
    ClampedInteraction,
    ComplExInteraction,
    DistMultInteraction,
    RESCALInteraction,
    RotatEInteraction,
    SimplEInteraction,
    TransEInteraction,
)
from pykeen.typing import LABEL_TAIL

__all__ = [
    "Scorer",
    "exact_scorer",
    "query_numel",
    "settles_whole_rows",
]

#: scores of all entities for a batch of ``(h, r, t)`` ids and a target, shape ``(batch, num_entities)``, and per
#: query a bound on how far each score may lie from the one PyKEEN computes, shape ``(batch,)``
Scorer = Callable[[torch.Tensor, str], tuple[torch.Tensor, torch.Tensor]]


def _rows(model: ERModel, side: str, ids: torch.Tensor | None) -> list[torch.Tensor]:
    representations = model.entity_representations if side == "entity" else model.relation_representations
    return [representation(indices=ids) for representation in representations]


def _real(x: torch.Tensor) -> torch.Tensor:
    """View complex rows as real rows of twice the width (real and imaginary parts interleaved)."""
    return torch.view_as_real(x).flatten(start_dim=-2)


def _given_and_asked(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the ids of the entity that is given and of the relation, for a target of ``head`` or ``tail``."""
    return (batch[:, 0] if target == LABEL_TAIL else batch[:, 2]), batch[:, 1]


def _gamma(terms: int, like: torch.Tensor) -> float:
    """Return a relative rounding bound for a sum of ``terms`` products in the precision of ``like``, with room.

    A floating-point sum of ``n`` terms in any order errs by at most ``n`` units of rounding (half an epsilon each)
    times the sum of the terms' magnitudes; PyKEEN's score and ours each err so, and a few more roundings come from
    the products.
    """
    return (terms + 10) * torch.finfo(like.real.dtype if like.is_complex() else like.dtype).eps


def _distmult(model: ERModel, entities: Sequence[torch.Tensor]) -> Scorer:
    (rows,) = entities
    largest = torch.linalg.vector_norm(rows, dim=-1).max()

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        given, relation = _given_and_asked(batch, target)
        (r,) = _rows(model, "relation", relation)
        query = rows[given] * r
        bound = _gamma(rows.shape[-1], rows) * torch.linalg.vector_norm(query, dim=-1) * largest
        return query @ rows.T, bound

    return score


def _simple(model: ERModel, entities: Sequence[torch.Tensor], clamp: tuple[float, float] | None) -> Scorer:
    forward, backward = entities
    keys = torch.cat([forward, backward], dim=-1)
    largest = torch.linalg.vector_norm(keys, dim=-1).max()

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        given, relation = _given_and_asked(batch, target)
        r_forward, r_backward = _rows(model, "relation", relation)
        query = torch.cat([forward[given] * r_forward, backward[given] * r_backward], dim=-1)
        bound = _gamma(keys.shape[-1], keys) * torch.linalg.vector_norm(query, dim=-1) * largest
        scores = 0.5 * (query @ keys.T)
        return (scores if clamp is None else scores.clamp(min=clamp[0], max=clamp[1])), bound

    return score


def _rescal(model: ERModel, entities: Sequence[torch.Tensor]) -> Scorer:
    (rows,) = entities
    largest = torch.linalg.vector_norm(rows, dim=-1).max()

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        given, relation = _given_and_asked(batch, target)
        (r,) = _rows(model, "relation", relation)
        equation = "bd,bde->be" if target == LABEL_TAIL else "be,bde->bd"
        magnitudes = torch.einsum(equation, rows[given].abs(), r.abs())
        bound = _gamma(rows.shape[-1] ** 2, rows) * torch.linalg.vector_norm(magnitudes, dim=-1) * largest
        return torch.einsum(equation, rows[given], r) @ rows.T, bound

    return score


def _complex(model: ERModel, entities: Sequence[torch.Tensor]) -> Scorer:
    (rows,) = entities
    keys = _real(rows)
    largest = torch.linalg.vector_norm(keys, dim=-1).max()

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        given, relation = _given_and_asked(batch, target)
        (r,) = _rows(model, "relation", relation)
        # Re<q, conj(t)> is the real dot product of the real views; Re<w, h> that of conj(w) with h
        query = _real(
            (rows[given] * r if target == LABEL_TAIL else torch.conj(r * torch.conj(rows[given]))).resolve_conj()
        )
        bound = _gamma(keys.shape[-1], keys) * torch.linalg.vector_norm(query, dim=-1) * largest
        return query @ keys.T, bound

    return score


def _transe(model: ERModel, entities: Sequence[torch.Tensor], p: float, power_norm: bool) -> Scorer:
    (rows,) = entities
    largest = torch.linalg.vector_norm(rows, ord=p, dim=-1).max()

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        given, relation = _given_and_asked(batch, target)
        (r,) = _rows(model, "relation", relation)
        query = rows[given] + r if target == LABEL_TAIL else rows[given] - r
        # each difference errs by a rounding of its operands' magnitudes, the norm by the sum's
        magnitude = torch.linalg.vector_norm(rows[given].abs() + r.abs(), ord=p, dim=-1) + largest
        if p == 1:
            return -_manhattan(query, rows), _gamma(rows.shape[-1], rows) * magnitude
        if power_norm:
            return -_euclidean(query, rows, squared=True), 3 * _gamma(rows.shape[-1], rows) * magnitude.square()
        return -_euclidean(query, rows, squared=False), _gamma(rows.shape[-1], rows) * magnitude

    return score


def _rotate(model: ERModel, entities: Sequence[torch.Tensor]) -> Scorer:
    (rows,) = entities
    keys = _real(rows)
    largest = torch.linalg.vector_norm(keys, dim=-1).max()

    def score(batch: torch.Tensor, target: str) -> tuple[torch.Tensor, torch.Tensor]:
        given, relation = _given_and_asked(batch, target)
        (r,) = _rows(model, "relation", relation)
        query = rows[given] * r if target == LABEL_TAIL else rows[given] * torch.conj(r)
        magnitude = torch.linalg.vector_norm(rows[given].abs() * r.abs(), dim=-1) + largest
        bound = _gamma(keys.shape[-1], keys) * magnitude
        return -_euclidean(_real(query.resolve_conj()), keys, squared=False), bound

    return score


#: entity rows per block of a distance matrix, and queries per block of an L1 distance matrix: the L1 block's
#: differences, ``(queries, rows, dim)``, stay small enough for the processor's cache
_ROWS, _L1_ROWS, _L1_QUERIES = 4096, 512, 16


def _euclidean(queries: torch.Tensor, keys: torch.Tensor, squared: bool) -> torch.Tensor:
    """Return Euclidean distances (or their squares) of each query to each key row.

    As ``|q|^2 + |k|^2 - 2 <q, k>`` in double precision, a block of keys at a time: the products of single-precision
    numbers are exact there and the sums lose far less than the single-precision rounding of the result, so the
    cancellation of the expansion does not show; identical rows give identical distances.
    """
    queries64 = queries.double()
    query_norms = queries64.square().sum(dim=-1, keepdim=True)
    out = torch.empty(len(queries), len(keys), dtype=queries.dtype, device=queries.device)
    for start in range(0, len(keys), _ROWS):
        block = keys[start : start + _ROWS].double()
        squares = (query_norms + block.square().sum(dim=-1)).sub_(queries64 @ block.T, alpha=2).clamp_(min=0)
        out[:, start : start + _ROWS] = squares if squared else squares.sqrt_()
    return out


def _manhattan(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Return the L1 distances of each query to each key row, a small block of differences at a time."""
    out = torch.empty(len(queries), len(keys), dtype=queries.dtype, device=queries.device)
    buffer = queries.new_empty(_L1_QUERIES, _L1_ROWS, queries.shape[-1])
    for first in range(0, len(queries), _L1_QUERIES):
        query = queries[first : first + _L1_QUERIES, None, :]
        for start in range(0, len(keys), _L1_ROWS):
            block = keys[start : start + _L1_ROWS]
            differences = buffer[: len(query), : len(block)]
            torch.sub(query, block[None], out=differences).abs_()
            torch.sum(differences, dim=-1, out=out[first : first + _L1_QUERIES, start : start + _L1_ROWS])
    return out


def _is_plain(model: Model) -> bool:
    """Tell whether the model scores through :class:`~pykeen.models.ERModel`'s own code, unchanged."""
    if not isinstance(model, ERModel) or model.use_inverse_triples:
        return False
    methods = ("score_h", "score_t", "predict_h", "predict_t", "_get_representations")
    return all(getattr(type(model), name) is getattr(ERModel, name) for name in methods)


def _complex_rows(rows: list[torch.Tensor]) -> list[torch.Tensor] | None:
    return rows if all(row.is_complex() for row in rows) else None


def _builder(model: ERModel) -> Callable[[list[torch.Tensor]], Scorer | None] | None:
    interaction = model.interaction
    kind = type(interaction)
    if kind is DistMultInteraction:
        return lambda rows: _distmult(model, rows)
    if kind is RESCALInteraction:
        return lambda rows: _rescal(model, rows)
    if kind is ComplExInteraction:
        return lambda rows: None if _complex_rows(rows) is None else _complex(model, rows)
    if kind is RotatEInteraction:
        return lambda rows: None if _complex_rows(rows) is None else _rotate(model, rows)
    if kind is TransEInteraction and interaction.p in (1, 2):
        p, power_norm = float(interaction.p), bool(interaction.power_norm)
        return lambda rows: _transe(model, rows, p, power_norm)
    if kind is ClampedInteraction and type(interaction.base) is SimplEInteraction:
        clamp = interaction.clamp_score
        return lambda rows: _simple(model, rows, None if clamp is None else (float(clamp[0]), float(clamp[1])))
    if kind is SimplEInteraction:
        return lambda rows: _simple(model, rows, None)
    return None


def _shapes_fit(model: ERModel, rows: list[torch.Tensor]) -> bool:
    expected = 2 if len(model.interaction.entity_shape) == 2 else 1
    return (
        len(rows) == expected
        and tuple(model.interaction.head_indices) == tuple(range(expected))
        and tuple(model.interaction.tail_indices) == tuple(range(expected))
        and all(row.ndim == 2 and row.shape[0] == model.num_entities for row in rows)
    )


def exact_scorer(model: Model) -> Scorer | None:
    """Build a scorer of all entities that computes the model's own scores by matrix products, if there is one.

    Call it in evaluation mode and without gradients: it reads every entity row once, through the model's entity
    representations (so any representation works, not only embeddings), and scores from those rows.

    :param model:
        The model to score with.

    :return:
        A function of a batch of ``(h, r, t)`` ids and a target (``"head"`` or ``"tail"``) returning the scores of all
        entities as that target, before PyKEEN's ``predict_with_sigmoid``, and per query a bound on their distance to
        PyKEEN's scores; ``None`` where the model's interaction,
        representations or methods are not ones this module can prove it reproduces.
    """
    if not _is_plain(model):
        return None
    builder = _builder(model)
    if builder is None:
        return None
    rows = _rows(model, "entity", None)
    if not _shapes_fit(model, rows):
        return None
    return builder(rows)


def settles_whole_rows(model: Model) -> bool:
    """Tell whether PyKEEN's scores of some candidates differ from its scores of all, for this model's interaction.

    PyKEEN computes ComplEx and RESCAL with :func:`torch.einsum`, whose order of summation depends on the shapes, so
    a score recomputed for a few candidates may differ by a rounding from the same score among all candidates; the
    element-wise interactions give the very same numbers either way.

    :param model:
        A model :func:`exact_scorer` scores.

    :return:
        Whether to recompute undecided scores with whole rows of candidates.
    """
    interaction = getattr(model, "interaction", None)
    return isinstance(interaction, ComplExInteraction | RESCALInteraction)


def query_numel(model: Model) -> int:
    """Return how many numbers one query of a batch holds at most, to bound the memory of a batch.

    :param model:
        The model.

    :return:
        The largest number of elements of one relation row, and at least that of one entity row.
    """
    representations = (*model.entity_representations, *model.relation_representations)
    return max((torch.Size(representation.shape).numel() for representation in representations), default=1)
