"""The ``pykeen-backfill`` command line: one module per command, registered on :func:`main` here.

Each command is a thin shell over a function of the package named for its concept; errors a user can fix end the
command with exit status 2 and one line on stderr, never a traceback (see :mod:`.common`). To add a command, write
``pykeen_backfill/cli/NAME.py`` with a :func:`click.command` and add it below.
"""

from __future__ import annotations

import click

from ..version import __version__
from .common import UserError, user_errors
from .demo import demo
from .examples import examples
from .export import export
from .grow import grow
from .optimize import optimize
from .plan import plan
from .run import run

__all__ = ["UserError", "main", "user_errors"]


@click.group()
@click.version_option(__version__, prog_name="pykeen-backfill")
def main() -> None:
    """Backfill representations for PyKEEN: run configs, warm-start from earlier runs, inspect plans."""


for _command in (run, demo, plan, export, optimize, examples, grow):
    main.add_command(_command)
