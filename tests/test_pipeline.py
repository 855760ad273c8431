"""Our representation inside PyKEEN's pipeline on nations: the seed's scenario, and string hints with DistMult."""

from __future__ import annotations

import torch
from pykeen.datasets import get_dataset
from pykeen.nn import Embedding, init
from pykeen.pipeline import pipeline

from pykeen_backfill import BackfillRepresentation

FAST = dict(
    training_kwargs=dict(num_epochs=3, batch_size=256, use_tqdm=False),
    evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
    random_seed=0,
)


def test_seed_example_keeps_frozen_rows_exact() -> None:
    """The example of PyKEEN's documentation, with our class in place of PyKEEN's."""
    dataset_large = get_dataset(dataset="nations")
    dataset = dataset_large.restrict(entities=["burma", "china", "india", "indonesia"])
    embedding_dim = 8
    result = pipeline(dataset=dataset, interaction="distmult", dimensions=dict(d=embedding_dim), **FAST)
    old_repr = result.model.entity_representations[0]
    old_vectors = old_repr().detach().clone()
    initializer = init.PretrainedInitializer(tensor=old_repr())
    known_ids = dataset_large.training.entities_to_ids(dataset.entity_to_id)
    base_repr = Embedding(max_id=len(known_ids), shape=(embedding_dim,), initializer=initializer, trainable=False)
    entity_repr = BackfillRepresentation(base_ids=known_ids, max_id=dataset_large.num_entities, base=base_repr)

    result = pipeline(
        dataset=dataset_large,
        interaction="distmult",
        dimensions=dict(d=embedding_dim),
        model_kwargs=dict(entity_representations=entity_repr),
        **FAST,
    )

    assert result.model.entity_representations[0] is entity_repr
    served = entity_repr(indices=torch.as_tensor(known_ids)).detach()
    assert torch.equal(served, old_vectors)
    new_ids = sorted(set(range(dataset_large.num_entities)) - set(known_ids))
    assert entity_repr.backfill_ids.tolist() == new_ids
    assert result.losses[-1] < result.losses[0]


def test_distmult_with_string_hints_trains_and_evaluates() -> None:
    result = pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=8,
            entity_representations="backfill",
            entity_representations_kwargs=dict(base_ids=[5, 1, 9], base_kwargs=dict(shape=8)),
            relation_representations="backfill",
            relation_representations_kwargs=dict(base_ids=range(3)),
        ),
        **FAST,
    )
    entities = result.model.entity_representations[0]
    relations = result.model.relation_representations[0]
    assert isinstance(entities, BackfillRepresentation) and isinstance(relations, BackfillRepresentation)
    assert entities.base_ids.tolist() == [5, 1, 9]
    assert relations.base_ids.tolist() == [0, 1, 2]
    assert (entities.max_id, relations.max_id) == (14, 55)
    assert 0.0 < result.get_metric("hits_at_10") <= 1.0


def test_distmult_keeps_a_pretrained_base_given_by_hint_exact() -> None:
    """A frozen base built from a hint: neither the model's initializer nor its entity constrainer may touch it."""
    vectors = torch.rand(3, 8) * 5  # far from unit norm, which DistMult's constrainer would enforce
    result = pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=8,
            entity_representations="backfill",
            entity_representations_kwargs=dict(
                base_ids=[12, 0, 4],
                base_kwargs=dict(initializer=init.PretrainedInitializer(tensor=vectors), trainable=False),
            ),
        ),
        **FAST,
    )
    entities = result.model.entity_representations[0]
    assert torch.equal(entities(indices=torch.as_tensor([12, 0, 4])).detach(), vectors)
    # the backfill is the model's: constrained to unit norm after each step
    backfilled = entities(indices=entities.backfill_ids).detach()
    assert torch.allclose(backfilled.norm(dim=-1), torch.ones(11), atol=1e-5)
