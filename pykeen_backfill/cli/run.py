"""``pykeen-backfill run``: run a PyKEEN experiment configuration."""

from __future__ import annotations

import pathlib

import click

from .common import checked_output, default_directory, staged_output, user_errors
from .quiet import quiet, verbose_option

__all__ = ["run"]


@click.command(short_help="Run a PyKEEN experiment config, JSON or YAML.")
@click.argument("config", type=click.Path(path_type=pathlib.Path))
@click.option(
    "-d",
    "--directory",
    type=click.Path(path_type=pathlib.Path),
    default=None,
    help="Where to write trained_model.pkl, results.json, ...; default: CONFIG's name and the time, here.",
)
@verbose_option
def run(config: pathlib.Path, directory: pathlib.Path | None, verbose: bool) -> None:
    """Run a PyKEEN experiment CONFIG (JSON or YAML, as for `pykeen experiments run`).

    Representation keyword arguments in model_kwargs work for every model, e.g. TransE or the interaction +
    dimensions form, not only for DistMult. The output directory is checked for being writable before training, and
    written only once the run is complete: an error or Ctrl-C leaves nothing half-written.
    """
    from ..experiments import run_experiment
    from ..growth.cli import format_split_table, split_if_backfilled

    if directory is None:
        directory = default_directory(config)
    # checked before training: a directory that cannot be written would otherwise lose the trained model
    target = checked_output(directory, option="--directory")
    with quiet(verbose), user_errors(), staged_output(target) as staging:
        result = run_experiment(config, staging)
        # a backfilled model is judged separately on what it knew and what is new
        split = split_if_backfilled(result, config, staging)
    for name, key in (("MRR", "inverse_harmonic_mean_rank"), ("Hits@10", "hits_at_10")):
        click.echo(f"{name}: {result.get_metric(key):.4f}")
    if split is not None:
        click.echo(format_split_table(split))
    click.echo(f"saved trained_model.pkl and results to {directory}")
