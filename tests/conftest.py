"""Fixtures shared by several test modules."""

from __future__ import annotations

import contextlib
import pathlib
import signal
from collections.abc import Callable, Iterator
from typing import Any

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


@pytest.fixture(scope="module")
def nations() -> Any:
    """The Nations dataset, which PyKEEN ships."""
    from pykeen.datasets import get_dataset

    return get_dataset(dataset="nations")


@pytest.fixture
def old_nations_run(nations: Any, tmp_path: pathlib.Path) -> pathlib.Path:
    """An earlier run (DistMult, one epoch) on Nations restricted to 10 of its 14 entities, saved as ``run`` does."""
    from pykeen.pipeline import pipeline
    from pykeen.triples import TriplesFactory

    from pykeen_backfill.experiments.run import save_result

    kept = set(sorted(nations.training.entity_to_id)[:10])
    labelled = nations.training.triples
    old = TriplesFactory.from_labeled_triples(labelled[[h in kept and t in kept for h, _, t in labelled]])
    result = pipeline(
        training=old,
        testing=old,
        model="DistMult",
        model_kwargs=dict(embedding_dim=8),
        training_kwargs=dict(num_epochs=1, batch_size=256, use_tqdm=False),
        evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
        random_seed=0,
    )
    return save_result(result, tmp_path / "old")


@contextlib.contextmanager
def _no_hang(seconds: int = 20) -> Iterator[None]:
    def _fail(*_: Any) -> None:
        raise TimeoutError(f"blocked for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def no_hang() -> Callable[..., contextlib.AbstractContextManager[None]]:
    """Return a guard that fails instead of blocking forever, e.g. on a FIFO nobody writes to: ``with no_hang():``."""
    return _no_hang
