"""What every command shares: the error a user can fix, and how errors of this package become one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from ..errors import BackfillError

__all__ = ["UserError", "user_errors"]


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
