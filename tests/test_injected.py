"""The keyword arguments PyKEEN models inject reach the right part of a backfill representation."""

from __future__ import annotations

import pytest
import torch
from pykeen.datasets import Nations
from pykeen.models import DistMult
from pykeen.nn import Embedding, representation_resolver
from pykeen.nn.init import PretrainedInitializer
from pykeen.regularizers import LpRegularizer

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import ShapeMismatchError, UnknownKeywordError


@pytest.fixture(scope="module")
def nations() -> Nations:
    return Nations()


def test_distmult_builds_backfill_from_string_hints(nations: Nations) -> None:
    model = DistMult(
        triples_factory=nations.training,
        embedding_dim=8,
        entity_representations="backfill",
        entity_representations_kwargs=dict(base_ids=[4, 0, 9]),
        relation_representations="backfill",
        relation_representations_kwargs=dict(base_ids=[1, 2]),
        random_seed=0,
    )
    entities = model.entity_representations[0]
    relations = model.relation_representations[0]
    assert isinstance(entities, BackfillRepresentation)
    assert isinstance(relations, BackfillRepresentation)
    assert entities.max_id == nations.num_entities and entities.shape == (8,)
    assert relations.max_id == nations.num_relations and relations.shape == (8,)
    # DistMult's entity constrainer reaches both freshly built parts ...
    for part in (entities.base, entities.backfill):
        assert part.constrainer is not None
    model.post_parameter_update()
    torch.testing.assert_close(entities(None).norm(dim=-1), torch.ones(nations.num_entities))
    # ... and its relation regularizer applies to the composed output
    assert isinstance(relations.regularizer, LpRegularizer)
    scores = model.score_hrt(nations.training.mapped_triples[:5])
    assert scores.shape == (5, 1)


def test_a_pretrained_base_is_neither_reinitialised_nor_constrained(nations: Nations) -> None:
    # deliberately not unit-norm, so DistMult's normalising constrainer would change it
    tensor = 3.0 * torch.randn(3, 8)
    # the initializer may share memory with the base; compare against a copy taken now
    expected = tensor.clone()
    model = DistMult(
        triples_factory=nations.training,
        embedding_dim=8,
        entity_representations="backfill",
        entity_representations_kwargs=dict(
            base_ids=[4, 0, 9],
            base_kwargs=dict(initializer=PretrainedInitializer(tensor), trainable=False),
        ),
    )
    model.post_parameter_update()
    model.reset_parameters_()
    rep = model.entity_representations[0]
    assert torch.equal(rep(torch.tensor([4, 0, 9])), expected)
    assert torch.equal(tensor, expected)
    assert rep.base.constrainer is None
    assert rep.backfill.constrainer is not None


def test_a_given_trained_base_survives_model_construction(nations: Nations) -> None:
    base = Embedding(max_id=3, shape=(8,), trainable=False)
    with torch.no_grad():
        base._embeddings.weight.copy_(torch.arange(24, dtype=torch.float).view(3, 8))
    expected = base(None).detach().clone()
    model = DistMult(
        triples_factory=nations.training,
        embedding_dim=8,
        entity_representations=BackfillRepresentation(max_id=nations.num_entities, base_ids=[1, 2, 3], base=base),
    )
    assert torch.equal(model.entity_representations[0](torch.tensor([1, 2, 3])), expected)


def test_model_shape_is_checked_against_a_given_base(nations: Nations) -> None:
    base = Embedding(max_id=2, shape=(4,))
    with pytest.raises(ShapeMismatchError, match=r"shape=\(8,\)"):
        DistMult(
            triples_factory=nations.training,
            embedding_dim=8,
            entity_representations="backfill",
            entity_representations_kwargs=dict(base_ids=[0, 1], base=base),
        )


def test_base_kwargs_shape_wins_over_nothing_but_must_agree_with_the_model(nations: Nations) -> None:
    with pytest.raises(ShapeMismatchError):
        DistMult(
            triples_factory=nations.training,
            embedding_dim=8,
            entity_representations="backfill",
            entity_representations_kwargs=dict(base_ids=[0, 1], base_kwargs=dict(shape=6)),
        )


def test_dtype_reaches_parts_built_here() -> None:
    rep = representation_resolver.make(
        "backfill", dict(base_ids=[2, 0]), max_id=5, shape=4, dtype=torch.cfloat, initializer="normal"
    )
    assert rep.base(None).dtype == torch.cfloat
    assert rep.backfill(None).dtype == torch.cfloat
    assert rep(torch.tensor([0, 1, 2])).dtype == torch.cfloat


def test_defaults_are_offered_only_to_classes_that_accept_them() -> None:
    # LowRankRepresentation takes no initializer of its own; a model's default must not break it
    rep = representation_resolver.make(
        "backfill",
        dict(base_ids=[0, 1], backfill="lowrank", backfill_kwargs=dict(num_bases=2)),
        max_id=6,
        shape=3,
        initializer="normal",
    )
    assert rep.backfill.max_id == 4
    assert rep(torch.arange(6)).shape == (6, 3)


def test_unknown_keyword_arguments_are_named() -> None:
    with pytest.raises(UnknownKeywordError, match="triples_factory"):
        BackfillRepresentation(max_id=5, base_ids=[0], base_kwargs=dict(shape=2), triples_factory=None)


def test_a_base_without_any_shape_gets_a_clear_error() -> None:
    with pytest.raises(ShapeMismatchError, match="needs a shape"):
        BackfillRepresentation(max_id=5, base_ids=[0, 1])
