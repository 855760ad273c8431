"""Exceptions raised by pykeen-backfill.

Each subclasses the built-in exception a caller would catch anyway (:class:`ValueError`, :class:`TypeError`,
:class:`IndexError`, :class:`KeyError`), so code written against PyKEEN's own checks keeps working.
"""

from __future__ import annotations

from pykeen.nn.representation import InvalidBaseIdsError, MaxIDMismatchError

__all__ = [
    "BackfillError",
    "InvalidIdsError",
    "MaxIdMismatchError",
    "IdTypeError",
    "IdOutOfRangeError",
    "ShapeMismatchError",
    "DtypeMismatchError",
    "InvalidShapeError",
    "InvalidPartError",
    "UnknownRepresentationError",
    "UnknownKeywordError",
    "PluginConflictError",
    "UnsafeFileError",
    "DuplicateLabelsError",
    "PretrainedFormatError",
    "MappedFileError",
    "MappedRowsError",
    "RepresentationIndexError",
    "NoSharedLabelsError",
    "ConfigError",
    "NoEntityVectorsError",
    "OptionTypeError",
    "OptionValueError",
    "UnreadableFileError",
]


class BackfillError(Exception):
    """Base class of all errors raised by pykeen-backfill."""


class InvalidIdsError(BackfillError, InvalidBaseIdsError):
    """Raised for ids that are duplicated, negative, out of range, or otherwise unusable.

    It is a :class:`ValueError`, and PyKEEN's :class:`~pykeen.nn.representation.InvalidBaseIdsError`, which code
    written against PyKEEN's own backfill representation catches.
    """


class IdTypeError(BackfillError, TypeError):
    """Raised for ids that are not integers (floats are refused rather than truncated)."""


class IdOutOfRangeError(BackfillError, IndexError):
    """Raised when ``forward`` is asked for ids outside ``[0, max_id)``."""


class ShapeMismatchError(BackfillError, ValueError):
    """Raised when the base, the backfill, or a requested shape disagree."""


class MaxIdMismatchError(ShapeMismatchError, MaxIDMismatchError):
    """Raised when a part's ``max_id`` is not the number of ids it serves.

    It is a :class:`ShapeMismatchError` and PyKEEN's :class:`~pykeen.nn.representation.MaxIDMismatchError`, both of
    them :class:`ValueError`.
    """


class DtypeMismatchError(ShapeMismatchError):
    """Raised when a part's dtype cannot hold the values of another's, e.g. a real backfill next to a complex base."""


class InvalidShapeError(BackfillError, ValueError):
    """Raised for a ``shape`` or ``embedding_dim`` that is not a positive integer or a sequence of them."""


class InvalidPartError(BackfillError, TypeError):
    """Raised when a base or backfill is neither a representation nor a hint that builds one.

    This includes a ``base_kwargs`` or ``backfill_kwargs`` that is not a mapping, and a hint that the representation
    class cannot be built from.
    """


class UnknownRepresentationError(BackfillError, KeyError):
    """Raised when a base or backfill hint names no registered representation."""

    def __str__(self) -> str:
        # KeyError would show the message as a quoted repr
        return str(self.args[0]) if self.args else ""


class UnknownKeywordError(BackfillError, TypeError):
    """Raised for keyword arguments that no part of the representation accepts."""


class PluginConflictError(BackfillError, ValueError):
    """Raised when two third-party plugins claim the same representation key."""


class UnsafeFileError(BackfillError, ValueError):
    """Raised when reading a file would unpickle it, which can run arbitrary code, and this was not allowed."""


class DuplicateLabelsError(BackfillError, ValueError):
    """Raised when two rows of a table have the same label."""


class PretrainedFormatError(BackfillError, ValueError):
    """Raised for a source of pre-trained vectors that is missing, incomplete, or not in a known format."""


class MappedFileError(PretrainedFormatError):
    """Raised for a mapped file of vectors that is incomplete, cannot be mapped, or changed while in use."""


class MappedRowsError(BackfillError, ValueError):
    """Raised when all rows of a mapped base are asked for and they exceed the limit set to materialise them."""


class RepresentationIndexError(BackfillError, IndexError):
    """Raised when ``index`` asks for a representation a source does not have."""


class NoSharedLabelsError(BackfillError, ValueError):
    """Raised when no label of the new id space occurs in a source of pre-trained vectors."""


class ConfigError(BackfillError, ValueError):
    """Raised for a configuration file or mapping that cannot be run, with a message naming the offending part."""


class NoEntityVectorsError(ConfigError):
    """Raised when a backfill is asked of a model without trainable per-entity vectors to put it in place of."""


class OptionTypeError(BackfillError, TypeError):
    """Raised for an option of the wrong type, e.g. the string ``"false"`` where a real boolean is needed."""


class OptionValueError(BackfillError, ValueError):
    """Raised for an option of the right type but a value it cannot take, e.g. ``index=-1`` or ``target="entities"``."""


class UnreadableFileError(BackfillError, ValueError):
    """Raised for a file that cannot be read as what it should be: not a regular file, truncated, corrupt, or not UTF-8.

    Readers raise it as a subclass of their own family, e.g. :class:`PretrainedFormatError` for a warm start's files
    and :class:`ConfigError` for a configuration file, so that code catching those keeps working.
    """
