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
@click.option(
    "--strategy",
    type=click.Choice(["brief", "frozen", "touched", "full"]),
    default=None,
    help="How to train: 'brief' (the default) fine-tunes every row on all triples for a quarter of the epochs; "
    "'frozen' keeps every known row exactly and trains new rows on the triples touching them; 'touched' trains new "
    "rows and the known rows the new triples touch, on the new triples and as many earlier ones; 'full' fine-tunes "
    "every row on all triples for all epochs.",
)
@click.option("--trainable", is_flag=True, help="The same as --strategy full.")
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
    strategy: str | None,
    trainable: bool,
    backfill_init: str,
    no_relations: bool,
    all_triples: bool,
    allow_pickle: bool,
    verbose: bool,
) -> None:
    """Train CONFIG's grown graph starting from OLD, a run directory, an earlier grow's output or an export.

    Every entity and relation the grown graph shares with OLD starts from its vector; new ones start from the mean of
    their known neighbours; the strategy says which rows learn. CONFIG names its data by a dataset, or by files per
    split ("training", "testing", "validation"), each a path or a list of paths (e.g. one per snapshot; gzip files
    end in .gz). Prints what was reused, new and dropped, the time taken, the drift of the known rows and the test
    metrics overall, on triples among known ids, and on triples touching a new id; saves the run with these in
    results.json and growth.json. DIRECTORY is a valid OLD for the next grow.
    """
    from ..growth import format_split_table
    from ..growth import grow as grow_graph

    if not old.exists():
        raise UserError(f"OLD {old} does not exist: give an earlier run directory or an export")
    if not config.is_file():
        raise UserError(f"CONFIG {config} is not a file")
    if trainable and strategy not in (None, "full"):
        raise UserError(f"--trainable is --strategy full and contradicts --strategy {strategy}")
    target = checked_output(directory, option="--directory")
    with quiet(verbose), user_errors(), staged_output(target) as staging:
        growth = grow_graph(
            old,
            config,
            staging,
            strategy="full" if trainable else strategy,
            backfill_init=None if backfill_init == "model" else backfill_init,
            allow_pickle=allow_pickle,
            relations=not no_relations,
            all_triples=all_triples,
        )
    for target_name, counts in growth.counts.items():
        click.echo(f"{target_name:8}: {counts['reused']} reused, {counts['new']} new, {counts['dropped']} dropped")
    strategy_name = growth.strategy.name if growth.strategy else "?"
    click.echo(
        f"strategy {strategy_name}: trained on {growth.trained_triples} triples and evaluated in {growth.seconds:.1f} s"
    )
    click.echo("drift of known rows: " + ", ".join(f"{t} {d:.3g}" for t, d in growth.drift.items()))
    click.echo(format_split_table(growth.split))
    click.echo(f"saved trained_model.pkl, results.json and growth.json to {directory}")
