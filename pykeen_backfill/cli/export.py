"""``pykeen-backfill export``: a trusted run's vectors to files that load without unpickling."""

from __future__ import annotations

import pathlib

import click

from .common import checked_output, staged_output, user_errors
from .quiet import quiet, verbose_option

__all__ = ["export"]


@click.command(short_help="UNPICKLES a trusted run; writes files without pickle.")
@click.argument("run_dir", type=click.Path(path_type=pathlib.Path))
@click.argument("out", type=click.Path(path_type=pathlib.Path))
@click.option(
    "--format",
    "tensor_format",
    type=click.Choice(["pt", "npy"]),
    default="pt",
    show_default=True,
    help="npy: files that a warm start maps from disk for frozen rows instead of loading them.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float16", "bfloat16", "float32", "float64"]),
    help="Store real vectors in this dtype (float16 and bfloat16 halve the files); by default, the model's.",
)
@click.option(
    "--dataset",
    help="The data RUN_DIR was trained on (a dataset name or triples file), if it has no training_triples/ and no "
    "configuration of `pykeen experiments run` names it.",
)
@verbose_option
def export(
    run_dir: pathlib.Path, out: pathlib.Path, tensor_format: str, dtype: str | None, dataset: str | None, verbose: bool
) -> None:
    """Unpickle the trained_model.pkl of a run you TRUST, and write its vectors and labels to OUT without pickle.

    Unpickling runs whatever code the file holds: only export runs you trust. RUN_DIR must be a PyKEEN run
    directory, written by save_to_directory, or by `pykeen experiments run` (its -d directory, or one experiment or
    replicate in it); anything else is refused before unpickling. OUT can then be used as `pretrained` without
    allow_pickle.
    """
    from ..warm_start import export_vectors, open_pretrained

    target = checked_output(out, option="OUT")
    with quiet(verbose), user_errors():
        with staged_output(target) as staging:
            manifest = export_vectors(
                run_dir, staging, allow_pickle=True, tensor_format=tensor_format, dataset=dataset, dtype=dtype
            )
        manifest = target / manifest.name
        reader = open_pretrained(target)
        sizes = {name: len(reader.labels(name)) for name in ("entity", "relation")}
    click.echo(f"wrote {out / manifest.name}: {sizes['entity']} entity and {sizes['relation']} relation labels")
