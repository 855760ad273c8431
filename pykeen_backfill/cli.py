"""The ``pykeen-backfill`` command line.

Each command is a thin shell over a function of the module named for its concept; errors a user can fix end the
command with exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import contextlib
import pathlib
import time
from collections.abc import Iterator

import click

from . import __version__
from .errors import BackfillError

__all__ = ["main", "UserError"]


class UserError(click.ClickException):
    """An error the user can fix: ``Error: <message>`` on one line of stderr, and exit status 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # one line, whatever the message: a traceback-free error should be greppable
        super().__init__(" ".join(str(message).split()))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors of pykeen-backfill, all of which name what to fix, into a :class:`UserError`."""
    try:
        yield
    except BackfillError as error:
        raise UserError(str(error)) from None


@click.group()
@click.version_option(__version__, prog_name="pykeen-backfill")
def main() -> None:
    """Backfill representations for PyKEEN: run configs, warm-start from earlier runs, inspect plans."""


@main.command(short_help="Run a PyKEEN experiment config, JSON or YAML.")
@click.argument("config", type=click.Path(dir_okay=False, path_type=pathlib.Path))
@click.option(
    "-d",
    "--directory",
    type=click.Path(file_okay=False, path_type=pathlib.Path),
    default=None,
    help="Where to write trained_model.pkl, results.json, ...; default: CONFIG's name and the time, here.",
)
def run(config: pathlib.Path, directory: pathlib.Path | None) -> None:
    """Run a PyKEEN experiment CONFIG (JSON or YAML, as for `pykeen experiments run`).

    Representation keyword arguments in model_kwargs work for every model, e.g. TransE or the interaction +
    dimensions form, not only for DistMult.
    """
    from .experiments import run_experiment

    if directory is None:
        directory = pathlib.Path(f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    with user_errors():
        result = run_experiment(config, directory)
    for name, key in (("MRR", "inverse_harmonic_mean_rank"), ("Hits@10", "hits_at_10")):
        click.echo(f"{name}: {result.get_metric(key):.4f}")
    click.echo(f"saved trained_model.pkl and results to {directory}")


@main.command(short_help="Demo: grow nations, keep the old vectors frozen.")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True, help="Epochs of each run.")
@click.option("--dim", type=click.IntRange(min=1), default=32, show_default=True, help="Embedding dimension.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed of both runs.")
def demo(epochs: int, dim: int, seed: int) -> None:
    """Train on a few nations entities, backfill to all of them, train again with the old vectors frozen."""
    from .demo import run_demo

    result = run_demo(embedding_dim=dim, num_epochs=epochs, random_seed=seed, echo=click.echo)
    if not result.frozen_rows_unchanged:
        raise click.ClickException("the frozen base rows changed during training")


if __name__ == "__main__":
    main()
