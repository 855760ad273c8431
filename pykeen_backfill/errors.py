"""Exceptions raised by pykeen-backfill.

Each subclasses the built-in exception a caller would catch anyway (:class:`ValueError`, :class:`TypeError`,
:class:`IndexError`, :class:`KeyError`), so code written against PyKEEN's own checks keeps working.
"""

from __future__ import annotations

__all__ = [
    "BackfillError",
    "InvalidIdsError",
    "IdTypeError",
    "IdOutOfRangeError",
    "ShapeMismatchError",
    "InvalidShapeError",
    "InvalidPartError",
    "UnknownRepresentationError",
    "UnknownKeywordError",
    "PluginConflictError",
]


class BackfillError(Exception):
    """Base class of all errors raised by pykeen-backfill."""


class InvalidIdsError(BackfillError, ValueError):
    """Raised for ids that are duplicated, negative, out of range, or otherwise unusable."""


class IdTypeError(BackfillError, TypeError):
    """Raised for ids that are not integers (floats are refused rather than truncated)."""


class IdOutOfRangeError(BackfillError, IndexError):
    """Raised when ``forward`` is asked for ids outside ``[0, max_id)``."""


class ShapeMismatchError(BackfillError, ValueError):
    """Raised when the base, the backfill, or a requested shape disagree."""


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
