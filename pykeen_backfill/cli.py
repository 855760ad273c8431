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
        raise click.ClickException("the known entities are no longer served their old vectors, bit for bit")


@main.command(short_help="Warm start: what is reused, new, dropped.")
@click.option(
    "--pretrained",
    multiple=True,
    required=True,
    help="A run directory (save_to_directory) or an export directory; repeat for several sources, the first wins.",
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
@click.option("--allow-pickle", is_flag=True, help="Unpickle trained_model.pkl to read shapes; only for trusted runs.")
def plan(
    pretrained: tuple[str, ...],
    dataset: str | None,
    training: pathlib.Path | None,
    index: int,
    embedding_dim: int | None,
    allow_pickle: bool,
) -> None:
    """Show which entities and relations a warm start reuses, backfills and drops, before any training.

    Exits with status 1 if the dimensions do not fit, and 2 on errors.
    """
    from .warm_start import plan_warm_start

    if (dataset is None) == (training is None):
        raise UserError("plan needs exactly one of --dataset NAME and --training PATH")
    with user_errors():
        result = plan_warm_start(
            list(pretrained), dataset if training is None else training, index=index, allow_pickle=allow_pickle
        )
    expected = None if embedding_dim is None else (embedding_dim,)
    click.echo(result.format(expected))
    if result.shape_problems(expected):
        raise SystemExit(1)


@main.command(short_help="A trusted run to files without pickle.")
@click.argument("run_dir", type=click.Path(path_type=pathlib.Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option("--format", "tensor_format", type=click.Choice(["pt", "npy"]), default="pt", show_default=True)
def export(run_dir: pathlib.Path, out: pathlib.Path, tensor_format: str) -> None:
    """Write the vectors and labels of a trusted run to OUT, in files that load without pickle.

    RUN_DIR's trained_model.pkl is unpickled, which can run arbitrary code: only export runs you trust. OUT can then
    be used as `pretrained` without allow_pickle.
    """
    from .pretrained import export_vectors, open_pretrained

    with user_errors():
        manifest = export_vectors(run_dir, out, allow_pickle=True, tensor_format=tensor_format)
        reader = open_pretrained(out)
        sizes = {target: len(reader.labels(target)) for target in ("entity", "relation")}
    click.echo(f"wrote {manifest}: {sizes['entity']} entity and {sizes['relation']} relation labels")


if __name__ == "__main__":
    main()
