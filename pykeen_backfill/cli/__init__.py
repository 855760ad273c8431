"""The ``pykeen-backfill`` command line: one module per command, registered on :func:`main` here.

Each command is a thin shell over a function of the package named for its concept; errors a user can fix end the
command with exit status 2 and one line on stderr, never a traceback (see :mod:`.common`). To add a command, write
``pykeen_backfill/cli/NAME.py`` with a :func:`click.command` and add it below.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

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


#: click's "no command given" (click >= 8.2), which shows the help rather than an error
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())


class OneLineErrors(click.Group):
    """A command group that reports usage errors (a missing argument, an unknown option) on one line, as all others.

    Click's own report of a usage error is the usage text, a hint and the error: three lines, of which a script that
    reads stderr wants the last.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _NO_ARGS_IS_HELP as error:
            # no command at all: the help is what the user needs, as click shows it
            error.show()
            sys.exit(error.exit_code)
        except click.UsageError as error:
            command = error.ctx.command_path if error.ctx is not None else "pykeen-backfill"
            _exit(f"Error: {' '.join(error.format_message().split())} (see: {command} --help)", code=2)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            _exit("Aborted!", code=1)
        sys.exit(code if isinstance(code, int) else 0)


def _exit(message: str, *, code: int) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


@click.group(cls=OneLineErrors)
@click.version_option(__version__, prog_name="pykeen-backfill")
def main() -> None:
    """Backfill representations for PyKEEN: run configs, warm-start from earlier runs, inspect plans."""


for _command in (run, demo, plan, export, optimize, examples, grow):
    main.add_command(_command)
