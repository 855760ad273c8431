"""Child processes for ``test_persistence.py``: training with checkpoints, and reloading a saved model.

Run as ``python tests/persistence_worker.py COMMAND ...``; each command is a fresh interpreter, as after a crash.
"""

from __future__ import annotations

import pathlib
import sys
import time
from typing import Any

import torch

#: the epoch after which the ``stall`` command stops making progress (and waits to be killed)
STALL_AFTER_EPOCH = 3

#: the number of epochs of a complete run
NUM_EPOCHS = 6

#: the entities whose vectors come from a frozen base
BASE_IDS = [9, 2, 11, 0, 5]


def pretrained() -> torch.Tensor:
    """Return the vectors of the frozen base, as if learned earlier."""
    return torch.randn(len(BASE_IDS), 8, generator=torch.Generator().manual_seed(0))


def pipeline_kwargs(checkpoint_directory: pathlib.Path) -> dict[str, Any]:
    """Return the configuration shared by every run: DistMult on nations with a frozen, pre-trained base."""
    from pykeen.nn.init import PretrainedInitializer

    return dict(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=8,
            entity_representations="backfill",
            entity_representations_kwargs=dict(
                base_ids=BASE_IDS,
                base_kwargs=dict(initializer=PretrainedInitializer(pretrained()), trainable=False),
            ),
        ),
        optimizer="Adam",
        optimizer_kwargs=dict(lr=0.05),
        training_kwargs=dict(
            num_epochs=NUM_EPOCHS,
            batch_size=128,
            checkpoint_name="checkpoint.pt",
            checkpoint_directory=str(checkpoint_directory),
            checkpoint_frequency=0,
        ),
        # evaluation is not what is compared; a cheap one keeps the runs short
        evaluation_kwargs=dict(batch_size=256),
        random_seed=1234,
    )


def _stall_callback(marker: pathlib.Path) -> Any:
    from pykeen.training.callbacks import TrainingCallback

    class Stall(TrainingCallback):
        """After an epoch whose predecessor is checkpointed, signal and wait to be killed."""

        def post_epoch(self, epoch: int, epoch_loss: float, **kwargs: Any) -> None:
            # PyKEEN saves the checkpoint of an epoch after its post_epoch callbacks: here, the checkpoint of the
            # previous epoch is complete on disk and this epoch's updates exist only in memory
            if epoch == STALL_AFTER_EPOCH:
                marker.write_text(str(epoch))
                time.sleep(600)

    return Stall()


def train(checkpoint_directory: pathlib.Path, weights: pathlib.Path, stall_marker: pathlib.Path | None) -> None:
    """Run (or resume) the pipeline; save the final weights."""
    from pykeen.pipeline import pipeline

    kwargs = pipeline_kwargs(checkpoint_directory)
    if stall_marker is not None:
        kwargs["training_kwargs"]["callbacks"] = [_stall_callback(stall_marker)]
    result = pipeline(**kwargs)
    torch.save(
        dict(state=result.model.state_dict(), losses=result.losses, trainable=_trainable_names(result.model)),
        weights,
    )


def _trainable_names(model: torch.nn.Module) -> list[str]:
    return [name for name, parameter in model.named_parameters() if parameter.requires_grad]


def reload(model_path: pathlib.Path, outputs: pathlib.Path) -> None:
    """Load a whole pickled model and save what it computes."""
    from pykeen.datasets import Nations

    model = torch.load(model_path, weights_only=False)
    model.eval()
    triples = Nations().testing.mapped_triples
    with torch.no_grad():
        torch.save(
            dict(
                scores=model.score_hrt(triples),
                entities=model.entity_representations[0](indices=None),
                type=type(model.entity_representations[0]).__module__,
            ),
            outputs,
        )


def main(argv: list[str]) -> None:
    """Dispatch a command."""
    # one thread in every process, so that reductions are done in the same order everywhere
    torch.set_num_threads(1)
    command, *args = argv
    if command == "train":
        train(pathlib.Path(args[0]), pathlib.Path(args[1]), stall_marker=None)
    elif command == "stall":
        train(pathlib.Path(args[0]), pathlib.Path(args[1]), stall_marker=pathlib.Path(args[2]))
    elif command == "reload":
        reload(pathlib.Path(args[0]), pathlib.Path(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
