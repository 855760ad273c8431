"""``pykeen-backfill plan``: what a warm start reuses, backfills and drops, before any training."""

from __future__ import annotations

import pathlib

import click

from .common import UserError, user_errors
from .quiet import quiet, verbose_option

__all__ = ["plan"]


@click.command(short_help="Warm start: what is reused, new, dropped.")
@click.option(
    "--pretrained",
    multiple=True,
    required=True,
    help="A run directory (save_to_directory or pykeen experiments run) or an export directory; repeat for several "
    "sources, the first wins.",
)
@click.option(
    "--pretrained-dataset",
    help="The data the --pretrained runs were trained on (a dataset name or triples file), for runs without "
    "training_triples/ whose configuration does not name it.",
)
@click.option("--dataset", help="The new graph: a dataset known to PyKEEN, e.g. nations.")
@click.option(
    "--training",
    type=click.Path(path_type=pathlib.Path),
    help="The new graph: a training triples file, or a directory written by TriplesFactory.to_path_binary.",
)
@click.option(
    "--index", type=click.IntRange(min=0), default=0, show_default=True, help="Which representation per entity."
)
@click.option("--embedding-dim", type=click.IntRange(min=1), help="The new model's dimension, to check against.")
@verbose_option
@click.option("--allow-pickle", is_flag=True, help="Unpickle trained_model.pkl to read shapes; only for trusted runs.")
def plan(
    pretrained: tuple[str, ...],
    pretrained_dataset: str | None,
    dataset: str | None,
    training: pathlib.Path | None,
    index: int,
    embedding_dim: int | None,
    allow_pickle: bool,
    verbose: bool,
) -> None:
    """Show which entities and relations a warm start reuses, backfills and drops, before any training.

    Exits with status 1 if the dimensions do not fit, and 2 on errors.
    """
    from ..warm_start import plan_warm_start

    if (dataset is None) == (training is None):
        raise UserError("plan needs exactly one of --dataset NAME and --training PATH")
    with quiet(verbose), user_errors():
        sources = [{"source": source, "dataset": pretrained_dataset} for source in pretrained]
        result = plan_warm_start(
            sources, dataset if training is None else training, index=index, allow_pickle=allow_pickle
        )
    expected = None if embedding_dim is None else (embedding_dim,)
    click.echo(result.format(expected))
    if result.shape_problems(expected):
        raise SystemExit(1)
