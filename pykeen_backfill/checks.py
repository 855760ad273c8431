"""Checks of user-given values shared by every part of the package: shapes, keyword mappings, previews of values.

Each check names the parameter and shows the value as the user wrote it, so that an error tells what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy

from .errors import InvalidPartError, InvalidShapeError, ShapeMismatchError

__all__ = [
    "SHOWN",
    "as_kwargs",
    "as_shape",
    "is_integer",
    "requested_shape",
]

#: how many offending values an error message shows
SHOWN = 5


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
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Iterable):
        raise InvalidShapeError(f"{name} must be a positive integer or a sequence of them, but got {value!r}")
    dims = tuple(dims)
    if not all(is_integer(dim) and dim > 0 for dim in dims):
        raise InvalidShapeError(f"{name} must be a positive integer or a sequence of them, but got {value!r}")
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
                f"shape={shape!r} and embedding_dim={embedding_dim!r} disagree; pass only one of them",
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
        raise InvalidPartError(f"{name} must be a mapping of keyword arguments, but got {value!r}")
    return dict(value)
