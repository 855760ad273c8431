"""Quiet output: the commands print what the user asked for, not the warnings of torch and PyKEEN about their setup.

On a CPU-only machine every PyKEEN run warns that there is no CUDA device, that ``pin_memory`` is useless, that an
automatic batch size is conservative on CPU, and logs at INFO level where it stored what. None of it concerns a user of
these commands, and it buries the lines that do (what was reused, what was trained, the metrics). :func:`quiet`
silences exactly these messages, and PyKEEN's INFO logs, for the duration of a command; any other warning still shows.
The commands' ``-v/--verbose`` (:func:`pykeen_backfill.cli.quiet.verbose_option`) turns it off.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterator

__all__ = ["NOISE", "quiet"]

#: messages that say nothing about the user's work, by the warning category or the logger that emits them
NOISE: dict[str, tuple[str, ...]] = {
    # torch's DataLoader on a machine without an accelerator
    "UserWarning": (r"'pin_memory' argument is set as true but no accelerator is found",),
    # PyKEEN's training loop, for an option it no longer uses
    "DeprecationWarning": (r"Training instances are always shuffled",),
    "pykeen.utils": (r"No cuda devices were available", r"Using automatic batch size on device"),
    # a run without a seed gets a random one, recorded in its results anyway
    "pykeen.pipeline.api": (r"No random seed is specified",),
    "torch_max_mem.api": (r"Encountered tensors on device_types",),
}

#: loggers whose INFO lines (where a file was stored, how long evaluation took) are silenced too
INFO_LOGGERS = ("pykeen",)


class _DropNoise(logging.Filter):
    """Drop the log records whose message matches one of the patterns."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        super().__init__()
        self.pattern = re.compile("|".join(patterns))

    def filter(self, record: logging.LogRecord) -> bool:
        return self.pattern.search(record.getMessage()) is None


@contextlib.contextmanager
def quiet(verbose: bool = False) -> Iterator[None]:
    """Silence the messages of :data:`NOISE` and PyKEEN's INFO logs inside the block; restore everything after it.

    :param verbose:
        Whether to leave everything as it is, e.g. for ``--verbose``.

    :yield:
        Nothing; the block runs with the noise silenced.
    """
    if verbose:
        yield
        return
    # PyKEEN sets its logger to INFO when first imported: import it first, so that the level set here holds
    import pykeen  # noqa: F401

    filters: list[tuple[logging.Logger, logging.Filter]] = []
    levels = {name: logging.getLogger(name).level for name in INFO_LOGGERS}
    with warnings.catch_warnings():
        for category in (UserWarning, DeprecationWarning):
            for pattern in NOISE[category.__name__]:
                warnings.filterwarnings("ignore", message=pattern, category=category)
        for name, patterns in NOISE.items():
            if "." in name:
                # a filter on the very logger that emits them: filters of parent loggers do not see child records
                logger = logging.getLogger(name)
                filters.append((logger, _DropNoise(patterns)))
                logger.addFilter(filters[-1][1])
        for name in INFO_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            yield
        finally:
            for logger, log_filter in filters:
                logger.removeFilter(log_filter)
            for name, level in levels.items():
                logging.getLogger(name).setLevel(level)
