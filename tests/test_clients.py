"""PyKEEN's other clients on a trained backfill model: prediction, checkpoint resume and early stopping.

Each model trains on nations with a frozen, pre-trained base for some entities and a trainable backfill for the rest,
through :func:`pykeen_backfill.experiments.pipeline_from_config` (so TransE, whose constructor refuses representation
keyword arguments, gets them merged over its own). DistMult takes them natively; both are tried.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import torch
from pykeen.datasets import get_dataset
from pykeen.nn.init import PretrainedInitializer
from pykeen.predict import predict_target, predict_triples
from pykeen.training.callbacks import TrainingCallback

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.experiments import pipeline_from_config

#: the entities whose vectors come from the frozen base
BASE_IDS = [9, 2, 11, 0, 5]
DIM = 8
MODELS = ["DistMult", "TransE"]

# every test here trains on nations, several runs each
pytestmark = pytest.mark.slow


def pretrained() -> torch.Tensor:
    """Return the frozen base's vectors, as if learned earlier."""
    return torch.randn(len(BASE_IDS), DIM, generator=torch.Generator().manual_seed(0))


def config(model: str, **training_kwargs: Any) -> dict[str, Any]:
    """Return a run of ``model`` on nations with a frozen pre-trained base, a few epochs of small batches."""
    return dict(
        pipeline=dict(
            dataset="nations",
            model=model,
            model_kwargs=dict(
                embedding_dim=DIM,
                entity_representations="backfill",
                entity_representations_kwargs=dict(
                    base_ids=BASE_IDS,
                    base_kwargs=dict(initializer=PretrainedInitializer(pretrained()), trainable=False),
                ),
            ),
            optimizer="Adam",
            optimizer_kwargs=dict(lr=0.05),
            training_kwargs=dict(batch_size=256, use_tqdm=False, **training_kwargs),
            evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
            random_seed=7,
        )
    )


def entities(model: Any) -> BackfillRepresentation:
    representation = model.entity_representations[0]
    assert isinstance(representation, BackfillRepresentation)
    return representation


def assert_base_untouched(model: Any) -> None:
    representation = entities(model)
    assert representation.base_ids.tolist() == BASE_IDS
    # the vectors the model reads for the base's entities are the pre-trained ones, bit for bit
    assert torch.equal(representation(torch.as_tensor(BASE_IDS)), pretrained())


class EpochsSeen(TrainingCallback):
    """Record the epochs a training loop runs."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[int] = []

    def post_epoch(self, epoch: int, epoch_loss: float, **kwargs: Any) -> None:
        self.seen.append(epoch)


@pytest.fixture(scope="module")
def trained() -> Any:
    return pipeline_from_config(config("DistMult", num_epochs=2))


def test_predict_target_scores_every_entity_as_the_model_does(trained: Any) -> None:
    model, factory = trained.model, trained.training
    head, relation = factory.entity_id_to_label[BASE_IDS[0]], factory.relation_id_to_label[0]
    pred = predict_target(model=model, head=head, relation=relation, triples_factory=factory)
    scores = pred.df.set_index("tail_id")["score"].sort_index()
    assert scores.index.tolist() == list(range(factory.num_entities))
    model.eval()
    with torch.inference_mode():
        expected = model.score_t(torch.as_tensor([[BASE_IDS[0], 0]])).squeeze(0)
    assert torch.allclose(torch.tensor(scores.to_numpy(), dtype=expected.dtype), expected, atol=1e-5)
    # labelled as the training factory labels them, base entities and backfilled ones alike
    labels = pred.df.set_index("tail_id")["tail_label"].sort_index()
    assert labels.tolist() == [factory.entity_id_to_label[i] for i in range(factory.num_entities)]


def test_predict_triples_scores_the_test_triples_as_the_model_does(trained: Any) -> None:
    model, testing = trained.model, get_dataset(dataset="nations").testing
    pack = predict_triples(model=model, triples=testing)
    assert pack.scores.shape[0] == testing.num_triples
    model.eval()
    with torch.inference_mode():
        expected = model.score_hrt(testing.mapped_triples).squeeze(-1)
    assert torch.allclose(pack.scores.squeeze(-1), expected, atol=1e-5)
    assert_base_untouched(model)


@pytest.mark.parametrize("model", MODELS)
def test_checkpoint_resume_ends_where_an_uninterrupted_run_ends(model: str, tmp_path: pathlib.Path) -> None:
    checkpoints = dict(checkpoint_directory=str(tmp_path), checkpoint_frequency=0)
    straight = pipeline_from_config(config(model, num_epochs=3, checkpoint_name="straight.pt", **checkpoints))
    # the first run stops after one epoch, with its checkpoint on disk; the second picks it up and goes on to three
    first = pipeline_from_config(config(model, num_epochs=1, checkpoint_name="resumed.pt", **checkpoints))
    epochs = EpochsSeen()
    resumed = pipeline_from_config(
        config(model, num_epochs=3, checkpoint_name="resumed.pt", callbacks=[epochs], **checkpoints)
    )
    assert len(first.losses) == 1
    # resumed, not trained again from the start: only the epochs after the checkpoint ran
    assert epochs.seen == [2, 3]
    assert resumed.losses == straight.losses
    assert resumed.losses[0] == first.losses[0]
    for name, value in straight.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], value), name
    assert_base_untouched(resumed.model)
    assert not torch.equal(entities(resumed.model).backfill(None), entities(first.model).backfill(None))


@pytest.mark.parametrize("model", MODELS)
def test_early_stopping_stops_and_keeps_the_base(model: str) -> None:
    run = config(model, num_epochs=20)
    # an improvement of 1000% is never reached: the stopper ends the run after `patience` evaluations without one
    run["pipeline"].update(
        stopper="early",
        stopper_kwargs=dict(frequency=1, patience=1, relative_delta=10.0, evaluation_batch_size=256),
    )
    result = pipeline_from_config(run)
    assert result.stopper.stopped
    assert len(result.losses) < 20
    assert len(result.stopper.results) == len(result.losses)
    assert_base_untouched(result.model)
