"""The relation-aware start: each new row at the mean of where its known triples put it, else what it had."""

from __future__ import annotations

import pytest
import torch
from pykeen.models import ERModel
from pykeen.nn.init import PretrainedInitializer
from pykeen.nn.representation import Embedding
from pykeen.training import SLCWATrainingLoop

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import OptionValueError
from pykeen_backfill.growth import RelationAwareStart, relation_aware_start

ENTITY_BASE = [0, 2, 3, 5, 8, 9, 11]
DIM = 4


def _values(rows: int, complex_: bool, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if complex_:
        return torch.randn(rows, DIM, 2, generator=generator)
    return torch.randn(rows, DIM, generator=generator)


def _model(nations, kind: str, relation_base: list[int], triples: torch.Tensor) -> ERModel:
    complex_ = kind == "complex"
    dtype = torch.cfloat if complex_ else torch.float

    def backfill(base_ids: list[int], seed: int, target: str):
        values = _values(len(base_ids), complex_, seed)
        max_id = nations.num_entities if target == "entity" else nations.num_relations
        if len(base_ids) == max_id:
            # nothing new: the values as they are
            return Embedding(max_id=max_id, shape=DIM, dtype=dtype, initializer=lambda x: values.clone())
        return BackfillRepresentation(
            max_id=max_id,
            base_ids=base_ids,
            base="embedding",
            base_kwargs=dict(shape=DIM, dtype=dtype, initializer=PretrainedInitializer(values)),
            backfill_kwargs=dict(shape=DIM, dtype=dtype, initializer="ones_"),
            backfill_init="neighbours",
            triples=triples,
            target=target,
        )

    return ERModel(
        triples_factory=nations.training,
        interaction=kind,
        interaction_kwargs=dict(p=2) if kind == "transe" else None,
        entity_representations=backfill(ENTITY_BASE, 1, "entity"),
        relation_representations=backfill(relation_base, 2, "relation"),
        random_seed=0,
    )


def _score(kind: str, head: torch.Tensor, relation: torch.Tensor, tail: torch.Tensor) -> float:
    product = head * relation * (tail.conj() if kind == "complex" else tail)
    return float(product.real.sum() if product.is_complex() else product.sum())


def _target_score(kind: str, triples, entities, known_e, relations, relation: int) -> float:
    """The mean score of the relation's triples among known entities; of all such triples where it has none."""
    own, every = [], []
    for h, r, t in triples.tolist():
        if known_e[h] and known_e[t]:
            value = _score(kind, entities[h], relations[r], entities[t])
            every.append(value)
            if r == relation:
                own.append(value)
    found = own or every
    return max(sum(found) / len(found) if found else 1.0, 0.0)


def _term(kind: str, known: torch.Tensor, relation: torch.Tensor, new_is_tail: bool, score: float) -> torch.Tensor:
    """Where one triple puts its new end, written out per interaction."""
    if kind == "transe":
        return known + relation if new_is_tail else known - relation
    # ComplEx scores Re(<h, r, conj(t)>): a new head belongs along conj(r) * t
    query = relation.conj() * known if kind == "complex" and not new_is_tail else known * relation
    # along the query, so far that the triple scores what the relation's known triples score
    return query * score / torch.linalg.vector_norm(query) ** 2


def _expected(kind: str, triples, entities, known_e, relations, known_r, new_id) -> torch.Tensor | None:
    terms = []
    for head, relation, tail in triples.tolist():
        if not known_r[relation]:
            continue
        score = _target_score(kind, triples, entities, known_e, relations, relation)
        if tail == new_id and known_e[head]:
            terms.append(_term(kind, entities[head], relations[relation], True, score))
        if head == new_id and known_e[tail]:
            terms.append(_term(kind, entities[tail], relations[relation], False, score))
    return torch.stack(terms).mean(0) if terms else None


@pytest.mark.parametrize("kind", ["transe", "distmult", "complex"])
def test_each_new_entity_starts_at_the_mean_of_its_composed_neighbours(nations, kind: str) -> None:
    # a part of the triples: some new entities then have no triple with a known neighbour
    triples = nations.training.mapped_triples[:12]
    model = _model(nations, kind, list(range(nations.num_relations)), triples)
    representation = model.entity_representations[0]
    before = representation(indices=None).detach().clone()
    started = relation_aware_start(model, triples)
    after = representation(indices=None).detach()
    relations = model.relation_representations[0](indices=None).detach()
    known_e = torch.zeros(nations.num_entities, dtype=torch.bool)
    known_e[ENTITY_BASE] = True
    known_r = torch.ones(nations.num_relations, dtype=torch.bool)
    news = [i for i in range(nations.num_entities) if not known_e[i]]
    expected = {i: _expected(kind, triples, before, known_e, relations, known_r, i) for i in news}
    assert started["entity"] == sum(value is not None for value in expected.values())
    # not all at the origin: the target scores are positive
    assert any(value is not None and bool(value.abs().sum() > 0) for value in expected.values())
    assert 0 < started["entity"] < len(news)
    for new_id, want in expected.items():
        # no triple with a known neighbour: the neighbour mean (or the model's initializer) it had
        want = before[new_id] if want is None else want
        assert torch.allclose(after[new_id], want, atol=1e-5), new_id
    assert torch.equal(after[ENTITY_BASE], before[ENTITY_BASE])
    # PyKEEN resets the model before training: the starts come back
    model.reset_parameters_()
    assert torch.equal(representation(indices=None).detach(), after)


def test_new_relations_start_from_their_known_pairs_and_new_entities_use_them(nations) -> None:
    triples = nations.training.mapped_triples
    relation_base = list(range(0, nations.num_relations, 2))
    model = _model(nations, "transe", relation_base, triples)
    entities_before = model.entity_representations[0](indices=None).detach().clone()
    relations_before = model.relation_representations[0](indices=None).detach().clone()
    started = relation_aware_start(model, triples)
    relations = model.relation_representations[0](indices=None).detach()
    known_e = torch.zeros(nations.num_entities, dtype=torch.bool)
    known_e[ENTITY_BASE] = True
    for relation in range(1, nations.num_relations, 2):
        differences = [
            entities_before[t] - entities_before[h]
            for h, r, t in triples.tolist()
            if r == relation and known_e[h] and known_e[t]
        ]
        want = torch.stack(differences).mean(0) if differences else relations_before[relation]
        assert torch.allclose(relations[relation], want, atol=1e-5), relation
    assert torch.equal(relations[relation_base], relations_before[relation_base])
    assert started["relation"] > 0
    # the entities see every relation that has a start now, the new ones included
    known_r = torch.zeros(nations.num_relations, dtype=torch.bool)
    known_r[relation_base] = True
    for relation in range(1, nations.num_relations, 2):
        known_r[relation] = any(r == relation and known_e[h] and known_e[t] for h, r, t in triples.tolist())
    entities = model.entity_representations[0](indices=None).detach()
    for new_id in range(nations.num_entities):
        if known_e[new_id]:
            continue
        want = _expected("transe", triples, entities_before, known_e, relations, known_r, new_id)
        assert torch.allclose(entities[new_id], entities_before[new_id] if want is None else want, atol=1e-5)


def test_a_reset_keeps_the_starts_also_over_chosen_backfill_values(nations) -> None:
    triples = nations.training.mapped_triples
    representation = BackfillRepresentation(
        max_id=nations.num_entities,
        base_ids=ENTITY_BASE,
        base="embedding",
        base_kwargs=dict(shape=DIM, initializer=PretrainedInitializer(_values(len(ENTITY_BASE), False, 1))),
        backfill_kwargs=dict(shape=DIM, initializer="ones_"),
    )
    model = ERModel(
        triples_factory=nations.training,
        interaction="distmult",
        entity_representations=representation,
        relation_representations=Embedding(max_id=nations.num_relations, shape=DIM),
        random_seed=0,
    )
    relation_aware_start(model, triples)
    started = representation(indices=None).detach().clone()
    assert not torch.equal(started, torch.ones_like(started))
    model.reset_parameters_()
    # the relations were reset too, the entity starts stay as computed
    assert torch.equal(representation(indices=None).detach(), started)


@pytest.mark.parametrize("kind", ["distmult", "complex"])
def test_new_relations_of_a_bilinear_model_start_along_the_products_of_their_known_pairs(nations, kind: str) -> None:
    triples = nations.training.mapped_triples
    relation_base = list(range(0, nations.num_relations, 2))
    model = _model(nations, kind, relation_base, triples)
    entities = model.entity_representations[0](indices=None).detach().clone()
    before = model.relation_representations[0](indices=None).detach().clone()
    relation_aware_start(model, triples)
    relations = model.relation_representations[0](indices=None).detach()
    known_e = torch.zeros(nations.num_entities, dtype=torch.bool)
    known_e[ENTITY_BASE] = True
    # each product as long as the known relations are on average
    length = torch.linalg.vector_norm(before[relation_base], dim=1).mean()
    for relation in range(1, nations.num_relations, 2):
        terms = []
        for h, r, t in triples.tolist():
            if r == relation and known_e[h] and known_e[t]:
                product = (entities[h].conj() if kind == "complex" else entities[h]) * entities[t]
                terms.append(product / torch.linalg.vector_norm(product) * length)
        want = torch.stack(terms).mean(0) if terms else before[relation]
        assert torch.allclose(relations[relation], want, atol=1e-5), relation
    assert torch.equal(relations[relation_base], before[relation_base])


def test_the_callback_starts_before_training_and_other_interactions_are_refused(nations) -> None:
    triples = nations.training.mapped_triples
    model = _model(nations, "distmult", list(range(nations.num_relations)), triples)
    reference = _model(nations, "distmult", list(range(nations.num_relations)), triples)
    relation_aware_start(reference, triples)
    callback = RelationAwareStart(triples)
    loop = SLCWATrainingLoop(model=model, triples_factory=nations.training)
    # zero learning rate: what the model holds after training is its start
    loop.optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loop.train(nations.training, num_epochs=1, batch_size=512, use_tqdm=False, callbacks=callback)
    assert callback.started is not None and callback.started["entity"] == 7
    assert torch.allclose(
        model.entity_representations[0](indices=None), reference.entity_representations[0](indices=None)
    )
    other = ERModel(
        triples_factory=nations.training,
        interaction="ermlp",
        interaction_kwargs=dict(embedding_dim=DIM),
        entity_representations=Embedding(max_id=nations.num_entities, shape=DIM),
        relation_representations=Embedding(max_id=nations.num_relations, shape=DIM),
    )
    with pytest.raises(OptionValueError, match="relation-aware"):
        relation_aware_start(other, triples)
    # a representation alone cannot do it, and says what can
    with pytest.raises(OptionValueError, match="relation_aware_start"):
        BackfillRepresentation(
            max_id=14, base_ids=[0], base_kwargs=dict(shape=4), backfill_init="relation-aware", triples=triples
        )


def test_grow_with_a_relation_aware_start(old_nations_run) -> None:
    from pykeen_backfill.errors import ConfigError
    from pykeen_backfill.growth import grow
    from pykeen_backfill.representation.neighbours import NeighbourInitializer

    directory = old_nations_run
    config = {
        "pipeline": {
            "dataset": "nations",
            "model": "DistMult",
            "model_kwargs": {"embedding_dim": 8},
            "training_kwargs": {"num_epochs": 1, "batch_size": 256, "use_tqdm": False},
            "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
            "random_seed": 1,
        }
    }
    growth = grow(directory, config, allow_pickle=True, backfill_init="relation-aware")
    backfill = growth.result.model.entity_representations[0].backfill
    # the relation-aware starts over the neighbour means
    assert isinstance(backfill.initializer, NeighbourInitializer)
    assert isinstance(backfill.initializer.fallback, NeighbourInitializer)
    assert bool(backfill.initializer.mask.all())
    assert growth.split["new"]["triples"] > 0
    with pytest.raises(ConfigError, match="relations"):
        grow(directory, config, allow_pickle=True, backfill_init="relation-aware", relations=False)
