"""Fixtures shared by several test modules."""

from __future__ import annotations

import pathlib

import pytest

#: the example configurations, shipped with the package (``pykeen-backfill examples``) and shown in the documentation
CONFIGS = pathlib.Path(__file__).parents[1] / "pykeen_backfill" / "examples"


@pytest.fixture
def configs() -> pathlib.Path:
    """Return the directory of the example configurations."""
    return CONFIGS


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A real run directory: DistMult on nations, one epoch, saved with its training triples."""
    from pykeen.pipeline import pipeline

    result = pipeline(
        dataset="nations",
        model="DistMult",
        model_kwargs=dict(embedding_dim=4),
        training_kwargs=dict(num_epochs=1, batch_size=512, use_tqdm=False),
        evaluation_kwargs=dict(batch_size=512, use_tqdm=False),
        random_seed=0,
    )
    directory = tmp_path_factory.mktemp("real") / "run"
    result.save_to_directory(directory)
    return directory
