"""Growth strategies: which known rows learn, on which triples, for how long."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch
from pykeen.models import ERModel
from pykeen.nn.init import PretrainedInitializer
from pykeen.training import SLCWATrainingLoop

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import OptionValueError
from pykeen_backfill.growth import STRATEGIES, get_strategy
from pykeen_backfill.growth.strategies import RestrictRows, Strategy, new_triples, replayed, touched_ids

KNOWN = list(range(10))


def _model(nations: Any, trainable: bool) -> ERModel:
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(len(KNOWN), 8, generator=generator)
    entities = BackfillRepresentation(
        max_id=nations.num_entities,
        base_ids=KNOWN,
        base="embedding",
        base_kwargs=dict(shape=8, initializer=PretrainedInitializer(values), trainable=trainable),
        backfill_kwargs=dict(shape=8),
    )
    return ERModel(
        triples_factory=nations.training,
        interaction="distmult",
        entity_representations=entities,
        relation_representations_kwargs=dict(shape=8),
        random_seed=0,
    )


def test_only_touched_known_rows_learn_and_the_hooks_come_off(nations: Any) -> None:
    model = _model(nations, trainable=True)
    mapped = nations.training.mapped_triples
    # the "new" triples: those among the entities 0, 1 and 2
    fresh = (mapped[:, [0, 2]] < 3).all(1)
    touched, _ = touched_ids(mapped[fresh], nations.num_entities, nations.num_relations)
    before = model.entity_representations[0](indices=None).detach().clone()
    callback = RestrictRows({"entity": touched}, pull=0.0)
    loop = SLCWATrainingLoop(model=model, triples_factory=nations.training, optimizer="adam")
    loop.train(nations.training, num_epochs=2, batch_size=256, callbacks=[callback], use_tqdm=False)
    after = model.entity_representations[0](indices=None).detach()
    # the reset before training restores the given values of the base: compare with what it started from
    known = torch.as_tensor(KNOWN)
    for entity in KNOWN:
        if touched[entity]:
            assert not torch.equal(after[entity], before[entity]), entity
        else:
            assert torch.equal(after[entity], before[entity]), entity
    assert not torch.equal(after[len(KNOWN) :], before[len(KNOWN) :])
    assert bool(touched[known].any()) and not bool(touched[known].all())
    # no hook is left: the model pickles and a further step changes every learning row again
    assert callback.handles == []
    torch.save(model, io.BytesIO())


def test_a_pull_keeps_touched_rows_closer_to_their_earlier_values(nations: Any) -> None:
    drifts = []
    for pull in (0.0, 10.0):
        model = _model(nations, trainable=True)
        before = model.entity_representations[0](indices=torch.as_tensor(KNOWN)).detach().clone()
        learn = torch.ones(nations.num_entities, dtype=torch.bool)
        loop = SLCWATrainingLoop(model=model, triples_factory=nations.training, optimizer="adam")
        callbacks = [RestrictRows({"entity": learn}, pull=pull)]
        loop.train(nations.training, num_epochs=3, batch_size=256, callbacks=callbacks, use_tqdm=False)
        after = model.entity_representations[0](indices=torch.as_tensor(KNOWN)).detach()
        drifts.append(float((after - before).abs().max()))
    assert drifts[1] < drifts[0]


def test_new_triples_replay_and_epochs() -> None:
    grown = torch.tensor([[0, 0, 1], [1, 0, 2], [2, 1, 3], [3, 1, 0]])
    earlier = torch.tensor([[0, 0, 1], [2, 1, 3]])
    assert new_triples(grown, earlier, (4, 2)).tolist() == [False, True, False, True]
    assert bool(new_triples(grown, None, (4, 2)).all())
    selected = torch.tensor([True, False, False, False, False, False])
    drawn = replayed(selected, 2.0, seed=0)
    assert bool(drawn[0]) and int(drawn.sum()) == 3
    assert int(replayed(selected, 100.0).sum()) == 6
    assert STRATEGIES["brief"].num_epochs(20) == 5
    assert STRATEGIES["frozen"].num_epochs(20) == 20
    # a quarter of a retraining's work: 20 epochs of 1000 triples are 5000 passes over 250 triples
    budget = Strategy("b", known_rows="all", triples="new", budget=0.25)
    assert budget.num_epochs(20, trained=250, total=1000) == 20
    assert budget.num_epochs(20, trained=500, total=1000) == 10


def test_an_unknown_strategy_is_refused_by_name() -> None:
    with pytest.raises(OptionValueError, match="'fast'"):
        get_strategy("fast")
    assert get_strategy(STRATEGIES["full"]) is STRATEGIES["full"]
