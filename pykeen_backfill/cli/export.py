"""``pykeen-backfill export``: a trusted run's vectors to files that load without unpickling."""

from __future__ import annotations

import pathlib

import click

from .common import user_errors

__all__ = ["export"]


@click.command(short_help="A trusted run to files without pickle.")
@click.argument("run_dir", type=click.Path(path_type=pathlib.Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=pathlib.Path))
@click.option("--format", "tensor_format", type=click.Choice(["pt", "npy"]), default="pt", show_default=True)
@click.option(
    "--dataset",
    help="The data RUN_DIR was trained on (a dataset name or triples file), if it has no training_triples/ and no "
    "configuration of `pykeen experiments run` names it.",
)
def export(run_dir: pathlib.Path, out: pathlib.Path, tensor_format: str, dataset: str | None) -> None:
    """Write the vectors and labels of a trusted run to OUT, in files that load without pickle.

    RUN_DIR is a directory written by save_to_directory, or by `pykeen experiments run` (its -d directory, or one
    experiment or replicate in it). Its trained_model.pkl is unpickled, which can run arbitrary code: only export
    runs you trust. OUT can then be used as `pretrained` without allow_pickle.
    """
    from ..warm_start import export_vectors, open_pretrained

    with user_errors():
        manifest = export_vectors(run_dir, out, allow_pickle=True, tensor_format=tensor_format, dataset=dataset)
        reader = open_pretrained(out)
        sizes = {target: len(reader.labels(target)) for target in ("entity", "relation")}
    click.echo(f"wrote {manifest}: {sizes['entity']} entity and {sizes['relation']} relation labels")
