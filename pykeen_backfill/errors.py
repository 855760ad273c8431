"""Exceptions raised by pykeen-backfill.

Each subclasses the built-in exception a caller would catch anyway (:class:`ValueError`, :class:`TypeError`,
:class:`IndexError`), so code written against PyKEEN's own checks keeps working.
"""

from __future__ import annotations

__all__ = [
    "BackfillError",
    "InvalidIdsError",
    "IdTypeError",
    "IdOutOfRangeError",
    "ShapeMismatchError",
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


class UnknownKeywordError(BackfillError, TypeError):
    """Raised for keyword arguments that no part of the representation accepts."""


class PluginConflictError(BackfillError, ValueError):
    """Raised when two third-party plugins claim the same representation key."""
