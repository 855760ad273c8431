"""Start backfilled rows from what is known: each new id at the mean of its known neighbours' vectors.

A graph grows; the vectors of the known entities are reused, and the new ones are backfilled. A randomly initialised
new row knows nothing of where it belongs; the mean of the vectors of the known entities it is linked to in the new
training triples is a far better start (see ``docs/growth.rst`` for the measurements). A new relation starts at the
mean of the known relations that link the same (head, tail) pairs. A new id with no known neighbour keeps the
model's own initializer.

The values are computed once, at construction, and held by the backfill's initializer (:class:`NeighbourInitializer`),
so that every reset of the model, e.g. PyKEEN's ``reset_parameters`` before training, reproduces them.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable, Sequence
from typing import Any

import torch
from pykeen.nn.representation import Embedding, Representation

from ..checks import preview
from ..errors import IdTypeError, InvalidIdsError, InvalidPartError, OptionTypeError, OptionValueError
from .parts import Part

__all__ = [
    "BACKFILL_INITS",
    "NeighbourInitializer",
    "mapped_triples_of",
    "neighbour_means",
    "seed_backfill",
]

#: the ways to initialise backfilled rows: ``None`` keeps the model's initializer
BACKFILL_INITS = ("neighbours",)


class NeighbourInitializer:
    """Initialise rows from precomputed values where there are some, and with a fallback initializer elsewhere."""

    def __init__(self, values: torch.Tensor, mask: torch.Tensor, fallback: Callable[[torch.Tensor], torch.Tensor]):
        """Initialize the initializer.

        :param values:
            shape: ``(num_rows, *shape)``; the starts, as the embedding stores them (complex as pairs of reals).
        :param mask:
            shape: ``(num_rows,)``; which rows take their value from ``values``.
        :param fallback:
            The initializer for the other rows, e.g. the model's own.
        """
        self.values = values.detach().clone()
        self.mask = mask.clone()
        self.fallback = fallback

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Return the initialised tensor."""
        x = self.fallback(x)
        x = x.clone()
        x[self.mask] = self.values[self.mask].to(device=x.device, dtype=x.dtype)
        return x


def mapped_triples_of(triples: Any) -> torch.Tensor:
    """Return the training triples of the new graph as a tensor of ids.

    :param triples:
        A tensor of shape ``(n, 3)``, a triples factory, a dataset (its training triples), a dataset name known to
        PyKEEN, or the path of a saved triples factory or a training triples file.

    :return:
        shape: ``(n, 3)``; the id-based triples.

    :raises OptionTypeError:
        If ``triples`` is none of these.
    """
    from pykeen.datasets import Dataset, get_dataset
    from pykeen.triples import CoreTriplesFactory, TriplesFactory

    if isinstance(triples, Dataset):
        triples = triples.training
    if isinstance(triples, CoreTriplesFactory):
        return triples.mapped_triples
    if isinstance(triples, (str, pathlib.Path)):
        path = pathlib.Path(triples)
        if path.is_dir():
            return TriplesFactory.from_path_binary(path).mapped_triples
        if path.is_file():
            return TriplesFactory.from_path(path).mapped_triples
        return get_dataset(dataset=str(triples)).training.mapped_triples
    if isinstance(triples, torch.Tensor) and triples.ndim == 2 and triples.shape[1] == 3:
        if triples.dtype == torch.bool or triples.is_floating_point() or triples.is_complex():
            raise IdTypeError(f"triples must hold integer ids, but got a tensor of dtype {triples.dtype}")
        return triples.long()
    raise OptionTypeError(
        "triples must be a tensor of shape (n, 3), a TriplesFactory, a Dataset, a dataset name or a path, but got "
        f"{preview(triples)}",
    )


def _check_ids(triples: torch.Tensor, *, max_id: int, target: str) -> None:
    """Refuse triples whose entity (or relation) ids lie outside ``[0, max_id)``: they name no row of this graph."""
    ids = triples[:, [0, 2]] if target == "entity" else triples[:, 1]
    bad = ids[(ids < 0) | (ids >= max_id)].unique()
    if bad.numel():
        raise InvalidIdsError(
            f"triples must hold {target} ids in [0, max_id={max_id}), but hold {preview(bad.tolist())}: "
            "are they the triples of another graph?"
        )


def neighbour_means(
    known: torch.Tensor,
    values: torch.Tensor,
    new_ids: torch.Tensor,
    triples: torch.Tensor,
    *,
    target: str = "entity",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute, for each new id, the mean of the vectors of its known neighbours in the triples.

    For entities, a neighbour is the other end of a triple; every triple counts once (a neighbour linked twice counts
    twice). For relations, a neighbour is a known relation that links the same (head, tail) pair.

    :param known:
        shape: ``(max_id,)``, bool; which ids have a vector.
    :param values:
        shape: ``(max_id, *shape)``; the vectors of the known ids (other rows are ignored).
    :param new_ids:
        shape: ``(k,)``; the ids to compute a start for.
    :param triples:
        shape: ``(n, 3)``; the training triples of the new graph.
    :param target:
        ``"entity"`` or ``"relation"``.

    :return:
        A pair of the means, shape ``(k, *shape)`` (zero where there is none), and a bool mask of shape ``(k,)``
        telling which new ids have at least one known neighbour.

    :raises InvalidIdsError:
        If the triples hold an entity id (a relation id, for relations) outside ``[0, max_id)``.
    """
    max_id = known.shape[0]
    _check_ids(triples, max_id=max_id, target=target)
    pairs = _entity_pairs(triples) if target == "entity" else _relation_pairs(triples, known)
    # (new id, known neighbour) links only
    pairs = pairs[~known[pairs[:, 0]] & known[pairs[:, 1]]]
    flat = values.reshape(max_id, -1)
    sums = torch.zeros_like(flat).index_add_(0, pairs[:, 0], flat[pairs[:, 1]])
    counts = torch.zeros(max_id, dtype=flat.dtype if not flat.is_complex() else torch.float32)
    counts.index_add_(0, pairs[:, 0], torch.ones(len(pairs), dtype=counts.dtype))
    means = sums / counts.clamp_min(1).unsqueeze(1).to(flat.dtype)
    return means[new_ids].reshape(len(new_ids), *values.shape[1:]), counts[new_ids] > 0


def _entity_pairs(triples: torch.Tensor) -> torch.Tensor:
    heads, tails = triples[:, 0], triples[:, 2]
    return torch.cat([torch.stack([heads, tails], 1), torch.stack([tails, heads], 1)])


def _relation_pairs(triples: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Link each relation to every other relation of the same (head, tail) pair."""
    _, pair = torch.unique(triples[:, [0, 2]], dim=0, return_inverse=True)
    relations = triples[:, 1]
    order = torch.argsort(pair)
    pair, relations = pair[order], relations[order]
    # all relations of a pair against all of the same pair: pairs hold few relations, a join on equal keys suffices
    left, right = (
        torch.nonzero(pair.unsqueeze(1) == pair.unsqueeze(0), as_tuple=True) if len(pair) <= 20_000 else (_join(pair))
    )
    keep = left != right
    return torch.stack([relations[left[keep]], relations[right[keep]]], 1)


def _join(keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # keys are sorted: each run of equal keys joins with itself
    _, counts = torch.unique_consecutive(keys, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    left, right = [], []
    for start, count in zip(starts.tolist(), counts.tolist(), strict=True):
        if count > 1:
            idx = torch.arange(start, start + count)
            left.append(idx.repeat_interleave(count))
            right.append(idx.repeat(count))
    if not left:
        return torch.empty(0, dtype=torch.long), torch.empty(0, dtype=torch.long)
    return torch.cat(left), torch.cat(right)


def seed_backfill(
    backfill: Part | None,
    bases: Sequence[Representation],
    order: torch.Tensor,
    *,
    kind: str | None,
    triples: Any,
    target: str,
) -> Part | None:
    """Give a backfill an initializer that starts each new row from its known neighbours.

    :param backfill:
        The backfill; it must be an :class:`~pykeen.nn.representation.Embedding`.
    :param bases:
        The bases, in the order of the layout.
    :param order:
        shape: ``(max_id,)``; the global id of each virtual row: the bases' rows first, then the backfill's.
    :param kind:
        ``"neighbours"``, or ``None`` to leave the backfill as it is.
    :param triples:
        The training triples of the new graph, see :func:`mapped_triples_of`.
    :param target:
        ``"entity"`` or ``"relation"``.

    :return:
        The backfill, whose initializer now gives the starts; a model's reset reproduces them through it.

    :raises OptionValueError:
        If ``kind`` is unknown.
    :raises OptionTypeError:
        If ``triples`` is missing.
    :raises InvalidPartError:
        If the backfill is not an embedding.
    """
    if kind is None:
        if triples is not None:
            raise OptionTypeError("triples only apply to backfill_init='neighbours': pass that too")
        return backfill
    if kind == "relation-aware":
        # the relation-aware start needs the relation vectors and the interaction: a representation has neither
        raise OptionValueError(
            "backfill_init='relation-aware' needs the built model: give the representation backfill_init='neighbours' "
            "and then call pykeen_backfill.growth.relation_aware_start(model, triples) (or pass "
            "pykeen_backfill.growth.RelationAwareStart(triples) as a training callback, or "
            "grow(..., backfill_init='relation-aware'))"
        )
    if kind not in BACKFILL_INITS:
        raise OptionValueError(f"backfill_init must be one of {list(BACKFILL_INITS)} or None, but got {preview(kind)}")
    if triples is None:
        raise OptionTypeError(
            "backfill_init='neighbours' needs triples, the training triples of the new graph: e.g. a dataset name "
            "or a TriplesFactory (`pykeen-backfill run` fills them in from the configuration's dataset)",
        )
    if target not in ("entity", "relation"):
        raise OptionValueError(f"target must be 'entity' or 'relation', but got {preview(target)}")
    if backfill is None:
        return None
    module = backfill.module
    if not isinstance(module, Embedding):
        raise InvalidPartError(f"backfill_init needs an Embedding as backfill, but the backfill is {preview(module)}")
    mapped = mapped_triples_of(triples)
    with torch.no_grad():
        known_values = torch.cat([base(indices=None).detach() for base in bases])
    if known_values.is_complex():
        known_values = torch.view_as_real(known_values)
    num_known = known_values.shape[0]
    max_id = order.shape[0]
    values = torch.zeros(max_id, *known_values.shape[1:], dtype=known_values.dtype)
    values[order[:num_known]] = known_values
    known = torch.zeros(max_id, dtype=torch.bool)
    known[order[:num_known]] = True
    means, mask = neighbour_means(known, values, order[num_known:], mapped, target=target)
    module.initializer = NeighbourInitializer(means, mask, fallback=module.initializer)
    module.reset_parameters()
    # values recorded before would undo the starts at the next reset; the initializer reproduces them itself
    return dataclasses.replace(backfill, kept=None)
