"""``pykeen-backfill optimize``: run a hyperparameter search, a configuration of ``pykeen experiments optimize``."""

from __future__ import annotations

import pathlib

import click

from .common import checked_output, default_directory, staged_output, user_errors
from .quiet import quiet, verbose_option

__all__ = ["optimize"]


@click.command(short_help="Run a PyKEEN hyperparameter search config, JSON or YAML.")
@click.argument("config", type=click.Path(path_type=pathlib.Path))
@click.option(
    "-d",
    "--directory",
    type=click.Path(path_type=pathlib.Path),
    default=None,
    help="Where to write study.json, trials.tsv and best_pipeline/; default: CONFIG's name and the time, here.",
)
@verbose_option
def optimize(config: pathlib.Path, directory: pathlib.Path | None, verbose: bool) -> None:
    """Run a hyperparameter search CONFIG (JSON or YAML, as for `pykeen experiments optimize`).

    The representation keyword arguments in model_kwargs (e.g. a backfill's base_ids) are the same in every trial and
    work for every model; the model's hyperparameters are searched as PyKEEN searches them. The study is checked
    before its first trial, and best_pipeline/pipeline_config.json runs with `pykeen-backfill run`.
    """
    from ..experiments.optimize import check_study, hpo_pipeline, load_study

    if directory is None:
        directory = default_directory(config)
    # checked before the first trial: a directory that cannot be written would otherwise lose the whole study
    target = checked_output(directory, option="--directory")
    with quiet(verbose), user_errors(), staged_output(target) as staging:
        study = load_study(config)
        hpo_kwargs = {**study["pipeline"], **study["optuna"]}
        check_study(hpo_kwargs, source=str(config))
        result = hpo_pipeline(**hpo_kwargs)
        result.save_to_directory(staging)
    best = result.study.best_trial
    click.echo(f"best trial: {best.number} of {len(result.study.trials)}, {result.objective.metric}: {best.value:.4f}")
    click.echo(f"saved study.json, trials.tsv and best_pipeline/ to {directory}")
