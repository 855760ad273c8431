"""What every command shares: the error a user can fix, how errors of this package become one, and safe output.

A command that writes a directory checks it before any work (:func:`checked_output`), and writes into a temporary
sibling that takes the directory's place only once everything is written (:func:`staged_output`): a failure or a
Ctrl-C leaves no half-written output, and a directory that cannot be written is refused before training, not after.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from collections.abc import Iterator

import click

__all__ = ["UserError", "checked_output", "default_directory", "staged_output", "user_errors"]


class UserError(click.ClickException):
    """An error the user can fix: ``Error: <message>`` on one line of stderr, and exit status 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        # one line, whatever the message: a traceback-free error should be greppable
        super().__init__(" ".join(str(message).split()))


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors of pykeen-backfill, all of which name what to fix, and file system errors into a UserError."""
    try:
        yield
    except Exception as error:
        # imported only once something failed: the errors derive from PyKEEN's, and `--help` must not load PyKEEN
        from ..errors import BackfillError

        if isinstance(error, BackfillError):
            raise UserError(str(error)) from None
        if isinstance(error, OSError):
            # a full disk or a directory that vanished: the user can act on the path and the reason
            where = f": {error.filename}" if error.filename else ""
            raise UserError(f"{error.strerror or error}{where}") from None
        raise


def default_directory(config: pathlib.Path) -> pathlib.Path:
    """Return the output directory of a command run on ``config`` without ``-d``: its name and the time, here."""
    import time

    return pathlib.Path(f"{config.stem}-{time.strftime('%Y%m%d-%H%M%S')}")


def checked_output(path: str | os.PathLike[str], *, option: str) -> pathlib.Path:
    """Check that an output directory can be created and written, before any work starts.

    The check writes (and removes) a probe in the directory, or in its nearest existing ancestor if it does not exist
    yet: permission bits alone would not tell, e.g. for root, on a read-only mount or under ``/proc``.

    :param path:
        The output directory.
    :param option:
        The option or argument that names it, for the error message, e.g. ``"--directory"``.

    :return:
        The absolute path.

    :raises UserError:
        If the path is not a directory, lies under a file, or cannot be written.
    """
    path = pathlib.Path(path).absolute()
    existing = path
    while not existing.exists():
        if existing.is_symlink():
            raise UserError(f"{option} {path} cannot be created: {existing} is a dangling symbolic link")
        existing = existing.parent
    if not existing.is_dir():
        where = "is" if existing == path else f"lies under {existing}, which is"
        raise UserError(f"{option} {path} {where} not a directory")
    try:
        probe = tempfile.mkdtemp(prefix=".pykeen-backfill-probe-", dir=existing)
        os.rmdir(probe)
    except OSError as error:
        what = "is not writable" if existing == path else f"cannot be created in {existing}"
        raise UserError(f"{option} {path} {what}: {error.strerror}") from None
    return path


@contextlib.contextmanager
def staged_output(path: pathlib.Path) -> Iterator[pathlib.Path]:
    """Yield a temporary sibling directory to write into; on success its files take their place in ``path``.

    On any error, and on Ctrl-C, the temporary directory is removed and ``path`` is left as it was. Files of the same
    name already in ``path`` are replaced; other files there are kept.

    :param path:
        The output directory, see :func:`checked_output`.

    :yield:
        The directory to write into.
    """
    missing = [parent for parent in path.parents if not parent.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    except OSError:
        if not path.is_dir():
            raise
        # a writable directory in a read-only parent (e.g. -d .): stage inside it instead
        staging = pathlib.Path(tempfile.mkdtemp(prefix=".partial-", dir=path))
    done = False
    try:
        yield staging
        _move_into(staging, path)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            # the parents created for this output, innermost first, go too: nothing is left behind
            for parent in missing:
                with contextlib.suppress(OSError):
                    parent.rmdir()


def _move_into(staging: pathlib.Path, path: pathlib.Path) -> None:
    if staging.parent == path:
        for entry in staging.iterdir():
            _replace(entry, path / entry.name)
        return
    try:
        # the common case, a new directory: one atomic rename
        staging.rename(path)
        return
    except OSError:
        if not path.is_dir():
            raise
    for entry in staging.iterdir():
        _replace(entry, path / entry.name)


def _replace(entry: pathlib.Path, target: pathlib.Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    entry.replace(target)
