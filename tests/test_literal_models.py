"""Literal models: a backfill for the learned half of their entity representations, the literals kept as they are."""

from __future__ import annotations

import json
import pathlib

import numpy
import pytest
import torch
from click.testing import CliRunner
from pykeen.datasets import get_dataset
from pykeen.models import DistMultLiteral
from pykeen.nn import init
from pykeen.triples import TriplesNumericLiteralsFactory

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main
from pykeen_backfill.errors import ConfigError
from pykeen_backfill.experiments import check_config, pipeline_from_config, with_representation_kwargs

KNOWN = [3, 0, 7, 11]


@pytest.fixture(scope="module")
def literals() -> numpy.ndarray:
    return numpy.random.default_rng(1).standard_normal((14, 2)).astype(numpy.float32)


@pytest.fixture(scope="module")
def factories(literals: numpy.ndarray) -> dict[str, TriplesNumericLiteralsFactory]:
    """Nations' splits, each with two generated numeric literals per entity."""
    dataset = get_dataset(dataset="nations")
    return {
        split: TriplesNumericLiteralsFactory(
            mapped_triples=factory.mapped_triples,
            entity_to_id=factory.entity_to_id,
            relation_to_id=factory.relation_to_id,
            numeric_literals=literals,
            literals_to_id={"population": 0, "area": 1},
        )
        for split, factory in dict(
            training=dataset.training, testing=dataset.testing, validation=dataset.validation
        ).items()
    }


@pytest.mark.parametrize("model", ["DistMultLiteral", "ComplExLiteral"])
def test_literal_model_trains_with_a_frozen_base(
    model: str, factories: dict[str, TriplesNumericLiteralsFactory], literals: numpy.ndarray
) -> None:
    # ComplEx keeps its complex vectors as pairs of real numbers
    vectors = torch.rand(len(KNOWN), 8, 2) if model == "ComplExLiteral" else torch.rand(len(KNOWN), 8)
    config = dict(
        pipeline=dict(
            model=model,
            model_kwargs=dict(
                embedding_dim=8,
                entity_representations="backfill",
                entity_representations_kwargs=dict(
                    base_ids=KNOWN,
                    base_kwargs=dict(initializer=init.PretrainedInitializer(tensor=vectors), trainable=False),
                ),
            ),
            training_kwargs=dict(num_epochs=2, batch_size=512, use_tqdm=False),
            evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
            random_seed=0,
            **factories,
        )
    )
    result = pipeline_from_config(config)
    combined = result.model.entity_representations[0]
    entities, literal_part = combined.base
    assert isinstance(entities, BackfillRepresentation) and entities.base_ids.tolist() == KNOWN
    served = entities(indices=torch.as_tensor(KNOWN)).detach()
    assert torch.equal(torch.view_as_real(served) if served.is_complex() else served, vectors)
    # the literals stay the literals
    assert torch.equal(literal_part(indices=None).detach(), torch.as_tensor(literals))
    assert result.losses[-1] < result.losses[0]


def test_literal_model_in_python_with_the_merge(factories: dict[str, TriplesNumericLiteralsFactory]) -> None:
    merging = with_representation_kwargs(
        DistMultLiteral, entity_representations="backfill", entity=dict(base_ids=KNOWN)
    )
    model = merging(triples_factory=factories["training"], embedding_dim=8)
    assert type(model) is DistMultLiteral
    entities = model.entity_representations[0].base[0]
    assert isinstance(entities, BackfillRepresentation) and entities.shape == (8,)
    # the model's own initializer and size reach the backfill
    assert entities.backfill(indices=None).shape == (14 - len(KNOWN), 8)


def test_a_dataset_without_literals_is_refused_before_training() -> None:
    """PyKEEN itself would fail with an AttributeError; the check says what to use instead."""
    config = {"pipeline": {"dataset": "nations", "model": "DistMultLiteral", "model_kwargs": {"embedding_dim": 8}}}
    with pytest.raises(ConfigError, match=r"DistMultLiteral .* needs numeric literals .*nationsliteral"):
        check_config(config)


def test_the_literal_dataset_pykeen_ships_through_the_cli(tmp_path: pathlib.Path) -> None:
    config = {
        "pipeline": {
            "dataset": "nationsliteral",
            "model": "DistMultLiteral",
            "model_kwargs": {
                "embedding_dim": 8,
                "entity_representations": "backfill",
                "entity_representations_kwargs": {"base_ids": KNOWN, "base_kwargs": {"trainable": False}},
            },
            "training_kwargs": {"num_epochs": 1, "batch_size": 512, "use_tqdm": False},
            "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
        }
    }
    path = tmp_path / "literal.json"
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["run", str(path), "-d", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    model = torch.load(tmp_path / "out" / "trained_model.pkl", weights_only=False)
    entities = model.entity_representations[0].base[0]
    assert isinstance(entities, BackfillRepresentation) and entities.base_ids.tolist() == KNOWN
