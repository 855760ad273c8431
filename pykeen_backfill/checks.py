"""Checks of user-given values shared by every part of the package: shapes, keyword mappings, previews of values.

Each check names the parameter and shows the value as the user wrote it, so that an error tells what to fix.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import stat
from collections.abc import Iterable, Mapping
from typing import IO, Any

import numpy

from .errors import (
    BackfillError,
    InvalidPartError,
    InvalidShapeError,
    OptionTypeError,
    OptionValueError,
    ShapeMismatchError,
    UnreadableFileError,
)

__all__ = [
    "SHOWN",
    "as_bool",
    "as_index",
    "as_kwargs",
    "as_shape",
    "check_allocatable",
    "check_triples_file",
    "decode_text",
    "is_integer",
    "open_regular",
    "preview",
    "read_bytes",
    "read_text",
    "requested_shape",
]

#: how many offending values an error message shows
SHOWN = 5

#: how many characters of one value's repr an error message shows
_CHARACTERS = 80


def preview(value: Any, *, limit: int = SHOWN) -> str:
    """Show a value in an error message compactly: a few elements, with the shape or length of the whole.

    Tensors and arrays show their first values, shape and dtype; sequences and mappings their first items and
    length; long strings and reprs are cut. This is how every error message of this package shows a user's value.

    :param value:
        Any value.
    :param limit:
        The number of elements to show at most.

    :return:
        The text.
    """
    if hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "flatten"):
        return _preview_array(value, limit=limit)
    if isinstance(value, Mapping):
        items = [f"{preview(k, limit=limit)}: {preview(v, limit=limit)}" for k, v in list(value.items())[:limit]]
        return "{" + ", ".join(items) + _more(len(value), limit) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        shown = [preview(item, limit=limit) for item in list(value)[:limit]]
        opening, closing = {list: "[]", tuple: "()"}.get(type(value), "{}")
        comma = "," if isinstance(value, tuple) and len(value) == 1 else ""
        return opening + ", ".join(shown) + comma + _more(len(value), limit) + closing
    text = repr(value)
    return text if len(text) <= _CHARACTERS else f"{text[: _CHARACTERS - 5]}...{text[-2:]} ({len(text):,} characters)"


def _more(total: int, limit: int) -> str:
    return f", ... ({total:,} in total)" if total > limit else ""


def _preview_array(value: Any, *, limit: int) -> str:
    kind = type(value).__name__
    shape = tuple(value.shape)
    if getattr(value, "is_meta", False):
        return f"{kind} of shape {shape} and dtype {value.dtype} on the meta device (no values)"
    if len(shape) == 0:
        return repr(value)
    flat = value.flatten()
    shown = [preview(item) for item in flat[:limit].tolist()]
    more = ", ..." if flat.shape[0] > limit else ""
    return f"{kind} of shape {shape} and dtype {value.dtype}: [{', '.join(shown)}{more}]"


def as_bool(value: Any, *, name: str) -> bool:
    """Return an option that must be a real boolean; anything else, e.g. the string ``"false"``, is refused.

    A string from a command line or a hand-written config would otherwise count as ``True`` whatever it says, and
    ``allow_pickle="false"`` would mean consent. JSON's ``true``/``false`` and YAML's booleans are read as real
    booleans, and numpy's boolean scalars are accepted as what they are.

    :param value:
        The option's value.
    :param name:
        The option's name, used in the error message.

    :return:
        The value as a Python ``bool``.

    :raises OptionTypeError:
        If the value is not a boolean.
    """
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    raise OptionTypeError(f"{name} must be True or False, but got {preview(value)} ({type(value).__name__})")


def as_index(value: Any, *, name: str) -> int:
    """Return an option that must be a non-negative integer, e.g. ``index``; strings, floats and bools are refused.

    :param value:
        The option's value.
    :param name:
        The option's name, used in the error message.

    :return:
        The value as a Python ``int``.

    :raises OptionTypeError:
        If the value is not an integer.
    :raises OptionValueError:
        If it is negative.
    """
    if not is_integer(value):
        raise OptionTypeError(
            f"{name} must be a non-negative integer, but got {preview(value)} ({type(value).__name__})"
        )
    if value < 0:
        raise OptionValueError(f"{name} must be a non-negative integer, but got {value}")
    return int(value)


def is_integer(value: Any) -> bool:
    """Return whether a value is an integer scalar; a bool is an int to Python, but never a count or a dimension."""
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool)


def as_shape(value: Any, *, name: str) -> tuple[int, ...]:
    """Normalise a shape given as an integer or a sequence of integers.

    :param value:
        The shape, e.g. ``32``, ``(32,)`` or ``[4, 8]``.
    :param name:
        The parameter name used in error messages.

    :return:
        The shape as a tuple of Python integers.

    :raises InvalidShapeError:
        If the value is not a positive integer or a sequence of positive integers; floats and strings are refused.
    """
    dims = (value,) if is_integer(value) else value
    # a tensor or an array is almost always data passed by mistake, e.g. the vectors instead of their shape
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Iterable) or hasattr(dims, "dtype"):
        raise InvalidShapeError(f"{name} must be a positive integer or a sequence of them, but got {preview(value)}")
    dims = tuple(dims)
    if not all(is_integer(dim) and dim > 0 for dim in dims):
        raise InvalidShapeError(f"{name} must be a positive integer or a sequence of them, but got {preview(value)}")
    return tuple(int(dim) for dim in dims)


def requested_shape(kwargs: Mapping[str, Any]) -> tuple[int, ...] | None:
    """Return the shape a model asks for with ``shape`` or ``embedding_dim``, if any.

    :param kwargs:
        Keyword arguments as a model injects them into a representation.

    :return:
        The shape, or ``None`` if neither is given.

    :raises ShapeMismatchError:
        If both are given and disagree.
    """
    shape = kwargs.get("shape")
    embedding_dim = kwargs.get("embedding_dim")
    if shape is not None and embedding_dim is not None:
        if as_shape(shape, name="shape") != as_shape(embedding_dim, name="embedding_dim"):
            raise ShapeMismatchError(
                f"shape={preview(shape)} and embedding_dim={preview(embedding_dim)} disagree; pass only one of them",
            )
    if shape is not None:
        return as_shape(shape, name="shape")
    if embedding_dim is not None:
        return as_shape(embedding_dim, name="embedding_dim")
    return None


def as_kwargs(value: Mapping[str, Any] | None, *, name: str) -> dict[str, Any]:
    """Copy a part's keyword arguments, refusing anything but a mapping with string keys.

    :param value:
        The keyword arguments, e.g. ``base_kwargs``, or ``None``.
    :param name:
        The parameter name used in error messages.

    :return:
        A fresh dictionary; the caller's mapping is never changed.

    :raises InvalidPartError:
        If the value is not a mapping from strings.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise InvalidPartError(f"{name} must be a mapping of keyword arguments, but got {preview(value)}")
    return dict(value)


def check_allocatable(num_bytes: int, *, what: str, error: type[BackfillError]) -> None:
    """Refuse to build something that cannot fit into this machine's memory, before a byte of it is allocated.

    Allocating, say, a terabyte would either fail with an error that names no parameter, or, where the system
    overcommits memory, succeed and get the process killed as soon as the memory is written.

    :param num_bytes:
        The size of what is to be built.
    :param what:
        What is built and from which parameter, e.g. ``"the id index of max_id=10**12"``.
    :param error:
        The error class to raise.

    :raises error:
        If the size exceeds the machine's physical memory.
    """
    try:
        available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not every platform tells
        return
    if num_bytes > available:
        raise error(
            f"{what} would need {num_bytes / 2**30:,.1f} GiB, more than this machine's {available / 2**30:,.1f} GiB"
        )


def open_regular(
    path: str | os.PathLike[str], *, what: str, error: type[BackfillError] = UnreadableFileError
) -> IO[bytes]:
    """Open a regular file for binary reading; refuse a FIFO, a device or a directory before reading a byte.

    The file is opened without blocking and checked on the open descriptor, so that neither a FIFO without a writer
    (which would block forever) nor a file swapped in between a check and the open gets through.

    :param path:
        The file.
    :param what:
        What the file should be, for the error message, e.g. ``"the labels file"``.
    :param error:
        The error class to raise, e.g. :class:`~pykeen_backfill.errors.ConfigError` for a configuration file.

    :return:
        The open file; the caller closes it.

    :raises error:
        If the file does not exist, cannot be opened, or is not a regular file.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise error(f"{what} {_shown(path)} does not exist") from None
    except OSError as problem:
        raise error(f"{what} {_shown(path)} cannot be opened: {problem.strerror}") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise error(f"{what} {_shown(path)} is not a regular file but {_kind(mode)}")
    if hasattr(os, "set_blocking"):
        os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def _shown(path: str | os.PathLike[str]) -> str:
    # quoted, so that a path with spaces, or an empty one, reads unambiguously
    return repr(os.fspath(path))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def read_bytes(path: str | os.PathLike[str], *, what: str, error: type[BackfillError] = UnreadableFileError) -> bytes:
    """Read a regular file's bytes, see :func:`open_regular`."""
    with open_regular(path, what=what, error=error) as file:
        try:
            return file.read()
        except OSError as problem:
            raise error(f"{what} {_shown(path)} cannot be read: {problem.strerror}") from None


def decode_text(
    data: bytes, *, path: str | os.PathLike[str], what: str, error: type[BackfillError] = UnreadableFileError
) -> str:
    """Decode a text file's bytes as UTF-8, with or without a byte-order mark.

    :raises error:
        If the bytes are not UTF-8; the message names the file, the position and the offending byte.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        raise error(
            f"{what} {_shown(path)} is not UTF-8 text: byte {data[problem.start : problem.start + 1]!r} at line "
            f"{line} ({problem.reason}); save it as UTF-8",
        ) from None


def read_text(path: str | os.PathLike[str], *, what: str, error: type[BackfillError] = UnreadableFileError) -> str:
    """Read a regular text file as UTF-8, with or without a byte-order mark, see :func:`decode_text`."""
    return decode_text(read_bytes(path, what=what, error=error), path=path, what=what, error=error)


#: the compressions pandas (and so PyKEEN) reads a triples file in, by suffix, each with the module that undoes it
_COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma"}
#: compressions whose files only PyKEEN itself reads and checks
_UNCHECKED = frozenset({".zip", ".zst", ".tar"})


def check_triples_file(
    path: str | os.PathLike[str], *, what: str = "the triples file", error: type[BackfillError] = UnreadableFileError
) -> None:
    """Refuse a file of labelled triples that PyKEEN would fail on with a traceback, or read wrongly without a word.

    PyKEEN reads every line as tab-separated labels: a line of two fields ends in an ``IndexError``, a short line
    gets an empty label, and a fourth field is dropped. Here each line must hold exactly three non-empty labels (head,
    relation, tail); empty lines are skipped as PyKEEN skips them. Compressed files (``.gz``, ``.bz2``, ``.xz``) are
    checked after decompression.

    :param path:
        The triples file.
    :param what:
        What the file is, for the error message, e.g. ``"--training"``.
    :param error:
        The error class to raise.

    :raises error:
        If the file cannot be read, is not UTF-8, holds no triple, or has a line that is not three labels; the
        message names the file and the line.
    """
    suffix = pathlib.PurePath(path).suffix.lower()
    if suffix in _UNCHECKED:
        return
    data = read_bytes(path, what=what, error=error)
    if suffix in _COMPRESSIONS:
        try:
            data = importlib.import_module(_COMPRESSIONS[suffix]).decompress(data)
        except Exception as problem:  # noqa: BLE001 -- each module raises its own error class for corrupt data
            raise error(f"{what} {_shown(path)} is not a readable {suffix} file: {problem}") from None
    lines = decode_text(data, path=path, what=what, error=error).split("\n")
    found = False
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line:
            continue
        found = True
        fields = line.split("\t")
        if len(fields) != 3 or not all(fields):
            why = f"has {len(fields)} field(s)" if len(fields) != 3 else f"has an empty field {fields.index('') + 1}"
            raise error(
                f"{what} {_shown(path)}, line {number}: a triple is three tab-separated labels (head, relation, "
                f"tail), but this line {why}: {preview(line)}"
            )
    if not found:
        raise error(f"{what} {_shown(path)} holds no triple: write one line of head, relation and tail per triple")
