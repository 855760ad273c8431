"""``pykeen-backfill examples``: write the example configurations the documentation runs."""

from __future__ import annotations

import pathlib

import click

from .common import checked_output, user_errors

__all__ = ["examples"]


@click.command(short_help="Write the example configs to a directory.")
@click.argument("directory", type=click.Path(path_type=pathlib.Path), default=".")
@click.option("--force", is_flag=True, help="Replace files of the same names that differ from the examples.")
def examples(directory: pathlib.Path, force: bool) -> None:
    """Write the example configurations (DistMult, TransE, the interaction form; nations, two epochs) to DIRECTORY.

    Run them with `pykeen experiments run` (DistMult) or `pykeen-backfill run` (every model). Files of the same names
    with other content are kept unless --force is given.
    """
    from ..examples import write_examples

    checked_output(directory, option="DIRECTORY")
    with user_errors():
        written = write_examples(directory, overwrite=force)
    for path in written:
        click.echo(f"wrote {path}")
