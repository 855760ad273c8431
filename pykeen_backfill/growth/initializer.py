"""Starts of backfilled rows, from Python: the neighbour mean, and a relation-aware start that needs the model.

The neighbour-mean start lives next to the representation that uses it (:mod:`pykeen_backfill.representation.
neighbours`), since lower layers must not import this package; this module is its public face for growth workflows.

The relation-aware start (:func:`relation_aware_start`) goes one step further where the interaction says where a new
entity belongs: a new tail ``t`` of a known triple ``(h, r, t)`` belongs near ``h + r`` for TransE, and in the
direction of ``h * r`` for DistMult and ComplEx (the tail that scores highest against a fixed norm); a new head
likewise near ``t - r``, resp. ``r * t`` (``conj(r) * t`` for ComplEx). Each new entity starts at the mean of these
over its triples with a known neighbour and a known relation; a new relation at the mean of ``t - h``, resp.
``h * t`` (``conj(h) * t``), over its triples between known entities. A product term goes along its query as far as
makes its triple score what the relation's triples among known ids score on average (a start as long as the known
neighbour outscores the known answers and crowds them out of the known triples' rankings, see ``docs/growth.rst``);
a relation's product term is as long as the known relations on average. Ids without such a triple
keep what they had (the neighbour mean, or the model's initializer). It needs the relation vectors and the
interaction, so it works on a built model, e.g. through the training callback :class:`RelationAwareStart`.
"""

from __future__ import annotations

from typing import Any

import torch
from pykeen.training.callbacks import TrainingCallback

from ..errors import InvalidPartError, OptionValueError
from ..representation.neighbours import NeighbourInitializer, mapped_triples_of, neighbour_means

__all__ = [
    "INTERACTIONS",
    "NeighbourInitializer",
    "RelationAwareStart",
    "composed_means",
    "neighbour_means",
    "neighbour_start",
    "relation_aware_start",
]

#: the interactions a relation-aware start knows, by the name of PyKEEN's interaction class
INTERACTIONS = {"TransEInteraction": "transe", "DistMultInteraction": "distmult", "ComplExInteraction": "complex"}


def neighbour_start(triples: Any) -> dict[str, Any]:
    """Return the keyword arguments of :class:`~pykeen_backfill.BackfillRepresentation` for a neighbour-mean start.

    :param triples:
        The training triples of the grown graph: a triples factory, a dataset, a dataset name, a path, or a tensor.

    :return:
        ``{"backfill_init": "neighbours", "triples": triples}``, e.g. to merge into ``entity_representations_kwargs``.
    """
    return {"backfill_init": "neighbours", "triples": triples}


def _compose(kind: str, known: torch.Tensor, relation: torch.Tensor, side: str, score: torch.Tensor) -> torch.Tensor:
    """Where the other end of a triple belongs, given its ``known`` end on ``side``, the relation and a target score."""
    if kind == "transe":
        return known + relation if side == "head" else known - relation
    if kind == "complex" and side == "tail":
        # Re(<h, r, conj(t)>) is largest, at a fixed norm of h, along conj(r * conj(t)) = conj(r) * t
        relation = relation.conj()
    query = known * relation
    # along the query, as far as makes the triple score what the relation's known triples score on average: a start
    # as long as its neighbour outscores the known answers and crowds them out of the ranking of known triples
    squared = torch.linalg.vector_norm(query, dim=1, keepdim=True).clamp_min(1e-12) ** 2
    return query * (score.unsqueeze(1) / squared).to(query.dtype)


def _known_scores(kind: str, entities, entity_known, relations, relation_known, triples) -> torch.Tensor:
    """Per relation, the mean score of its training triples among known ids (the mean over all where it has none).

    Not below zero: a start pointing away from where its triples would score well says nothing good.
    """
    heads, rels, tails = triples[:, 0], triples[:, 1], triples[:, 2]
    use = entity_known[heads] & entity_known[tails] & relation_known[rels]
    h, r, t = entities[heads[use]], relations[rels[use]], entities[tails[use]]
    products = h * r * (t.conj() if kind == "complex" else t)
    scores = (products.real if products.is_complex() else products).sum(1).float()
    sums = torch.zeros(relations.shape[0]).index_add_(0, rels[use], scores)
    counts = torch.zeros(relations.shape[0]).index_add_(0, rels[use], torch.ones(len(scores)))
    overall = scores.mean() if len(scores) else torch.tensor(1.0)
    return torch.where(counts > 0, sums / counts.clamp_min(1), overall).clamp_min(0.0)


def _relation_terms(kind: str, heads: torch.Tensor, tails: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
    """Where the relation of a triple between two known entities belongs."""
    if kind == "transe":
        return tails - heads
    composed = (heads.conj() if kind == "complex" else heads) * tails
    return composed / torch.linalg.vector_norm(composed, dim=1, keepdim=True).clamp_min(1e-12) * length


def composed_means(
    kind: str,
    entities: torch.Tensor,
    entity_known: torch.Tensor,
    relations: torch.Tensor,
    relation_known: torch.Tensor,
    triples: torch.Tensor,
    *,
    target: str = "entity",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Compute the relation-aware start of every id of a target, see the module's description.

    :param kind:
        ``"transe"``, ``"distmult"`` or ``"complex"``.
    :param entities:
        shape: ``(num_entities, dim)``; the entity vectors (complex for ComplEx); only known rows are read.
    :param entity_known:
        shape: ``(num_entities,)``, bool.
    :param relations:
        shape: ``(num_relations, dim)``; the relation vectors; only known rows are read.
    :param relation_known:
        shape: ``(num_relations,)``, bool.
    :param triples:
        shape: ``(n, 3)``; the training triples of the grown graph.
    :param target:
        ``"entity"``: starts of entities, from triples with one known end and a known relation; ``"relation"``:
        starts of relations, from triples between known entities.

    :return:
        The starts, shape ``(num_ids, dim)`` (zero where there is none), and a bool mask of the ids that have one.
        Known ids get one too where they have such triples; callers use the rows of new ids.
    """
    if kind not in INTERACTIONS.values():
        raise OptionValueError(f"a relation-aware start knows {sorted(INTERACTIONS.values())}, not {kind!r}")
    heads, rels, tails = triples[:, 0], triples[:, 1], triples[:, 2]
    if target == "relation":
        use = entity_known[heads] & entity_known[tails]
        # a product's norm says nothing: as long as the known relations are on average (the entities, if none)
        lengths = torch.linalg.vector_norm(relations[relation_known] if relation_known.any() else entities, dim=1)
        ids = rels[use]
        terms = _relation_terms(kind, entities[heads[use]], entities[tails[use]], lengths.mean())
        num_ids = relations.shape[0]
    else:
        use_tail = entity_known[heads] & relation_known[rels] & ~entity_known[tails]
        use_head = entity_known[tails] & relation_known[rels] & ~entity_known[heads]
        ids = torch.cat([tails[use_tail], heads[use_head]])
        scores = _known_scores(kind, entities, entity_known, relations, relation_known, triples)
        terms = torch.cat(
            [
                _compose(kind, entities[heads[use_tail]], relations[rels[use_tail]], "head", scores[rels[use_tail]]),
                _compose(kind, entities[tails[use_head]], relations[rels[use_head]], "tail", scores[rels[use_head]]),
            ]
        )
        num_ids = entities.shape[0]
    sums = torch.zeros(num_ids, terms.shape[1], dtype=terms.dtype).index_add_(0, ids, terms)
    counts = torch.zeros(num_ids).index_add_(0, ids, torch.ones(len(ids)))
    return sums / counts.clamp_min(1).unsqueeze(1).to(sums.dtype), counts > 0


def _interaction_kind(model: Any) -> str:
    for cls in type(model.interaction).__mro__:
        if cls.__name__ in INTERACTIONS:
            return INTERACTIONS[cls.__name__]
    raise OptionValueError(
        f"a relation-aware start knows the interactions {sorted(INTERACTIONS)}, not "
        f"{type(model.interaction).__name__}: use backfill_init='neighbours'"
    )


def _vectors_and_known(representation: Any, kind: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """All vectors of a representation, flat (complex for ComplEx), and which ids it serves from its bases."""
    from ..representation import BackfillRepresentation

    with torch.no_grad():
        values = representation(indices=None).detach().cpu()
    known = torch.ones(values.shape[0], dtype=torch.bool)
    if isinstance(representation, BackfillRepresentation):
        known[:] = False
        known[representation.order[: representation.num_base_ids].cpu()] = True
    values = values.reshape(values.shape[0], -1)
    return (_as_complex(values) if kind == "complex" else values), known


def relation_aware_start(model: Any, triples: Any, *, relations: bool = True) -> dict[str, int]:
    """Start the backfilled entities (and relations) of a built model where its interaction says they belong.

    The starts become part of each backfill's initializer, so a later reset of the model (PyKEEN resets before
    training) reproduces them; rows without a relation-aware start keep their previous initializer, e.g. the
    neighbour mean of ``backfill_init="neighbours"``.

    :param model:
        A PyKEEN :class:`~pykeen.models.ERModel` with a TransE, DistMult or ComplEx interaction whose entity (and
        relation) representation is a :class:`~pykeen_backfill.BackfillRepresentation` with an embedding backfill.
    :param triples:
        The training triples of the grown graph, see
        :func:`~pykeen_backfill.representation.neighbours.mapped_triples_of`; all of them, also those not trained on.
    :param relations:
        Whether backfilled relations get a relation-aware start too.

    :return:
        Per target, the number of new rows that got a relation-aware start.

    :raises OptionValueError:
        If the interaction is none of these.
    :raises InvalidPartError:
        If the entity representation has no backfill to start.
    """
    from pykeen.nn.representation import Embedding

    from ..representation import BackfillRepresentation

    kind = _interaction_kind(model)
    mapped = mapped_triples_of(triples).cpu()
    entity_rep, relation_rep = model.entity_representations[0], model.relation_representations[0]
    if not isinstance(entity_rep, BackfillRepresentation) or not isinstance(entity_rep.backfill, Embedding):
        raise InvalidPartError("a relation-aware start needs a BackfillRepresentation with an embedding backfill")
    started: dict[str, int] = {}
    relation_values, relation_known = _vectors_and_known(relation_rep, kind)
    # relations first: new entities linked by a new relation then start from that relation's start too
    if relations and isinstance(relation_rep, BackfillRepresentation) and relation_rep.backfill is not None:
        entities, entity_known = _vectors_and_known(entity_rep, kind)
        means, mask = composed_means(
            kind, entities, entity_known, relation_values, relation_known, mapped, target="relation"
        )
        new_ids = relation_rep.order[relation_rep.num_base_ids :].cpu()
        _install(relation_rep, means[new_ids], mask[new_ids])
        started["relation"] = int(mask[new_ids].sum())
        relation_values, _ = _vectors_and_known(relation_rep, kind)
        relation_known = relation_known | mask
    entities, entity_known = _vectors_and_known(entity_rep, kind)
    means, mask = composed_means(kind, entities, entity_known, relation_values, relation_known, mapped)
    new_ids = entity_rep.order[entity_rep.num_base_ids :].cpu()
    _install(entity_rep, means[new_ids], mask[new_ids])
    started["entity"] = int(mask[new_ids].sum())
    return started


def _as_complex(values: torch.Tensor) -> torch.Tensor:
    return values if values.is_complex() else torch.view_as_complex(values.reshape(values.shape[0], -1, 2))


def _install(representation: Any, values: torch.Tensor, mask: torch.Tensor) -> None:
    """Make the starts part of the backfill's initializer, over what it had, and apply them."""
    backfill = representation.backfill
    # values chosen for the backfill (an initializer in backfill_kwargs) are recorded and given back at every reset,
    # which would undo the starts; the initializer reproduces them now, as with backfill_init
    representation.release_backfill()
    if values.is_complex():
        values = torch.view_as_real(values)
    # the initializer sees the rows as the embedding stores them, complex numbers as pairs of reals
    values = values.reshape(len(values), *getattr(backfill, "_shape", backfill.shape))
    backfill.initializer = NeighbourInitializer(values, mask, fallback=backfill.initializer)
    backfill.reset_parameters()


class RelationAwareStart(TrainingCallback):
    """A PyKEEN training callback that gives a model its relation-aware start before the first epoch.

    PyKEEN registers callbacks before it resets the model for training; the starts are put into the backfills'
    initializers here, so that reset reproduces them. Pass it as ``training_kwargs=dict(callbacks=...)``.
    """

    def __init__(self, triples: Any, relations: bool = True) -> None:
        """Initialize the callback.

        :param triples:
            The training triples of the grown graph, see :func:`relation_aware_start`.
        :param relations:
            Whether backfilled relations get a relation-aware start too.
        """
        super().__init__()
        self.triples = triples
        self.relations = relations
        self.started: dict[str, int] | None = None

    def register_training_loop(self, training_loop: Any) -> None:  # noqa: D102
        super().register_training_loop(training_loop)
        # a continued training keeps what it has learned
        if self.started is None:
            self.started = relation_aware_start(training_loop.model, self.triples, relations=self.relations)
