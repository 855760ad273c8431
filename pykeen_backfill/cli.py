"""The ``pykeen-backfill`` command line.

Each command is a thin shell over a function of the module named for its concept; errors a user can fix end the
command with exit status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import click

from . import __version__

__all__ = ["main"]


@click.group()
@click.version_option(__version__, prog_name="pykeen-backfill")
def main() -> None:
    """Backfill representations for PyKEEN: run configs, warm-start from earlier runs, inspect plans."""


if __name__ == "__main__":
    main()
