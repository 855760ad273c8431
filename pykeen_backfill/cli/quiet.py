"""The ``-v/--verbose`` option of the commands: without it, a command runs inside :func:`..quiet.quiet`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..quiet import quiet

__all__ = ["quiet", "verbose_option"]

F = TypeVar("F", bound=Callable[..., Any])


def verbose_option(command: F) -> F:
    """Add ``-v/--verbose`` to a command: passed on as the keyword argument ``verbose``, for :func:`quiet`.

    :param command:
        The command function, before :func:`click.command`.

    :return:
        The function with the option.
    """
    return click.option(
        "-v",
        "--verbose",
        is_flag=True,
        help="Show PyKEEN's logs and torch's warnings about the machine (CUDA, pin_memory, batch sizes).",
    )(command)
