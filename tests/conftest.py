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
