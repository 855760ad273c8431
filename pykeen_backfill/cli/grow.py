"""``pykeen-backfill grow``: retrain a grown graph from an earlier run and show what the growth cost."""

from __future__ import annotations

import pathlib

import click

from .common import UserError, checked_output, staged_output, user_errors
from .quiet import quiet, verbose_option

__all__ = ["grow"]


@click.command(short_help="Warm-start a grown graph from an earlier run, train, and evaluate split by what is new.")
@click.argument("old", type=click.Path(path_type=pathlib.Path))
@click.argument("config", type=click.Path(path_type=pathlib.Path))
@click.option("-d", "--directory", type=click.Path(path_type=pathlib.Path), required=True, help="Output directory.")
@click.option("--trainable", is_flag=True, help="Fine-tune the reused rows instead of freezing them.")
@click.option(
    "--init",
    "backfill_init",
    type=click.Choice(["neighbours", "relation-aware", "model"]),
    default="neighbours",
    show_default=True,
    help="How new rows start: the mean of their known neighbours; from their known triples through the relation "
    "(TransE, DistMult, ComplEx; needs warm-started relations); or the model's initializer.",
)
@click.option("--no-relations", is_flag=True, help="Warm-start entities only; relations train from scratch.")
@click.option(
    "--all-triples",
    is_flag=True,
    help="Train on all triples; by default, with frozen rows, only on those touching a new entity or relation.",
)
@click.option("--allow-pickle", is_flag=True, help="Unpickle OLD's trained_model.pkl: only for runs you trust.")
@verbose_option
def grow(
    old: pathlib.Path,
    config: pathlib.Path,
    directory: pathlib.Path,
    trainable: bool,
    backfill_init: str,
    no_relations: bool,
    all_triples: bool,
    allow_pickle: bool,
    verbose: bool,
) -> None:
    """Train CONFIG's grown graph starting from OLD, a run directory or an export, and evaluate split by what is new.

    Every entity and relation the grown graph shares with OLD keeps its vector (frozen unless --trainable); new ones
    start from the mean of their known neighbours. Prints what was reused, new and dropped, the time taken and the
    test metrics overall, on triples among known ids, and on triples touching a new id; saves the run with these in
    results.json and growth.json.
    """
    from ..growth import format_split_table
    from ..growth import grow as grow_graph

    if not old.exists():
        raise UserError(f"OLD {old} does not exist: give an earlier run directory or an export")
    if not config.is_file():
        raise UserError(f"CONFIG {config} is not a file")
    target = checked_output(directory, option="--directory")
    with quiet(verbose), user_errors(), staged_output(target) as staging:
        growth = grow_graph(
            old,
            config,
            staging,
            trainable=trainable,
            backfill_init=None if backfill_init == "model" else backfill_init,
            allow_pickle=allow_pickle,
            relations=not no_relations,
            all_triples=all_triples,
        )
    for target_name, counts in growth.counts.items():
        click.echo(f"{target_name:8}: {counts['reused']} reused, {counts['new']} new, {counts['dropped']} dropped")
    trained = growth.result.training.num_triples
    click.echo(f"trained on {trained} triples and evaluated in {growth.seconds:.1f} s")
    click.echo(format_split_table(growth.split))
    click.echo(f"saved trained_model.pkl, results.json and growth.json to {directory}")
