"""``pykeen-backfill run``: run a PyKEEN experiment configuration."""

from __future__ import annotations

import pathlib
import time

import click

from .common import user_errors

__all__ = ["run"]


@click.command(short_help="Run a PyKEEN experiment config, JSON or YAML.")
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
    from ..experiments import run_experiment

    if directory is None:
        directory = pathlib.Path(f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    with user_errors():
        result = run_experiment(config, directory)
    for name, key in (("MRR", "inverse_harmonic_mean_rank"), ("Hits@10", "hits_at_10")):
        click.echo(f"{name}: {result.get_metric(key):.4f}")
    click.echo(f"saved trained_model.pkl and results to {directory}")
