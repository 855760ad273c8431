"""Labels: the label of each row of a table, read from files or mappings, and checked for repeats.

A labels file lists the label of each row: either one label per line (UTF-8), or a ``.json`` file holding a list of
labels or a mapping from label to row. Duplicate labels are an error.
"""

from __future__ import annotations

import collections
import functools
import gzip
import io
import json
import pathlib
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy

from ..checks import SHOWN as _SHOWN
from ..checks import decode_text, preview, read_bytes, read_text
from ..errors import DuplicateLabelsError, OptionValueError, PretrainedFormatError, ShapeMismatchError

__all__ = [
    "INVERSE_SUFFIX",
    "TARGETS",
    "Target",
    "check_unique",
    "checked_target",
    "labels_by_id",
    "read_id_map",
    "read_labels_file",
    "row_labels",
]

Target = Literal["entity", "relation"]


TARGETS: tuple[str, ...] = ("entity", "relation")


#: the suffix marking the inverse of a relation, for models trained with ``create_inverse_triples=True``
INVERSE_SUFFIX = " (inverse)"


def check_unique(labels: Sequence[str], *, what: str) -> None:
    """Refuse repeated labels, naming them.

    :param labels:
        The labels.
    :param what:
        Where the labels come from, for the error message.

    :raises DuplicateLabelsError:
        If a label occurs more than once.
    """
    if len(set(labels)) == len(labels):
        return
    repeated = [(label, n) for label, n in collections.Counter(labels).items() if n > 1]
    shown = ", ".join(f"{preview(label)} ({n} times)" for label, n in repeated[:_SHOWN])
    more = f" and {len(repeated) - _SHOWN} more" if len(repeated) > _SHOWN else ""
    raise DuplicateLabelsError(f"{what} must be unique, but repeat {shown}{more}")


def row_labels(labels: Sequence[str], num_rows: int, *, target: str, what: str) -> tuple[str, ...]:
    """Return the label of each row of a representation of ``num_rows`` rows.

    A relation representation of a model trained with inverse triples has two rows per relation: row ``2 * i`` for
    relation ``i`` and row ``2 * i + 1`` for its inverse, labelled here with :data:`INVERSE_SUFFIX`.

    :param labels:
        The labels ordered by id.
    :param num_rows:
        The number of rows of the representation.
    :param target:
        ``"entity"`` or ``"relation"``.
    :param what:
        Where the labels come from, for the error message.

    :return:
        One label per row.

    :raises ShapeMismatchError:
        If the numbers of rows and labels do not fit.
    """
    if num_rows == len(labels):
        return tuple(labels)
    if target == "relation" and num_rows == 2 * len(labels):
        return tuple(label for real in labels for label in (real, real + INVERSE_SUFFIX))
    raise ShapeMismatchError(f"{what} has {len(labels)} {target} labels, but the representation has {num_rows} rows")


def read_labels_file(path: str | pathlib.Path) -> tuple[str, ...]:
    """Read a labels file: a ``.json`` list of labels or mapping from label to row, or else one label per line.

    :param path:
        The labels file.

    :return:
        The label of each row.

    :raises PretrainedFormatError:
        If the file is missing or malformed, or has an empty line.
    :raises DuplicateLabelsError:
        If a label occurs more than once.
    """
    path = pathlib.Path(path)
    text = read_text(path, what="the labels file", error=PretrainedFormatError)
    labels = _labels_from_json(text, path=path) if path.suffix == ".json" else _labels_from_lines(text, path=path)
    check_unique(labels, what=f"the labels in {path}")
    return labels


def _labels_from_lines(text: str, *, path: pathlib.Path) -> tuple[str, ...]:
    # splitting on "\n" only: str.splitlines would also split inside labels at characters such as "\x1c" or "\u2028"
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    labels = tuple(line.removesuffix("\r") for line in lines)
    empty = [number for number, label in enumerate(labels, start=1) if not label]
    if empty:
        raise PretrainedFormatError(f"the labels file {path} has empty lines: {empty[:_SHOWN]}")
    return labels


def _labels_from_json(text: str, *, path: pathlib.Path) -> tuple[str, ...]:
    try:
        # json.loads would silently keep the last of a label's repeated keys
        data = json.loads(text, object_pairs_hook=functools.partial(_unique_pairs, what=f"the labels in {path}"))
    except (json.JSONDecodeError, RecursionError) as error:
        raise PretrainedFormatError(
            f"the labels file {path} is not valid JSON: {error or 'nested too deeply'}"
        ) from None
    if isinstance(data, list) and all(isinstance(label, str) for label in data):
        return tuple(data)
    if isinstance(data, dict) and all(isinstance(row, int) and not isinstance(row, bool) for row in data.values()):
        # a mapping from label to row, like PyKEEN's entity_to_id
        return labels_by_id(data, what=f"the labels file {path}")
    raise PretrainedFormatError(
        f"the labels file {path} must hold a JSON list of strings or a mapping from label to row",
    )


def _unique_pairs(pairs: list[tuple[str, Any]], *, what: str) -> dict[str, Any]:
    check_unique([key for key, _ in pairs], what=what)
    return dict(pairs)


def labels_by_id(label_to_id: Mapping[str, int], *, what: str) -> tuple[str, ...]:
    """Invert a mapping from label to id, which must number the labels ``0, 1, ..., n - 1``."""
    n = len(label_to_id)
    try:
        ids = numpy.fromiter(label_to_id.values(), dtype=numpy.int64, count=n)
    except (OverflowError, TypeError, ValueError):
        raise PretrainedFormatError(
            f"the ids of {what} must be integers 0, 1, ..., {n - 1}, but are {preview(list(label_to_id.values()))}"
        ) from None
    # each of 0, ..., n - 1 exactly once; placing labels by id avoids sorting millions of them in Python
    if n and (ids.min() < 0 or ids.max() >= n or numpy.bincount(ids, minlength=n).max() != 1):
        raise PretrainedFormatError(f"the ids of {what} must be 0, 1, ..., {n - 1}, but are not")
    labels = numpy.empty(n, dtype=object)
    labels[ids] = list(label_to_id)
    return tuple(labels.tolist())


def read_id_map(path: pathlib.Path) -> tuple[str, ...]:
    """Read PyKEEN's ``*_to_id.tsv.gz`` (columns ``id`` and ``label``) and return the labels ordered by id.

    :raises PretrainedFormatError:
        If the file is missing, not a regular file, truncated or corrupt, not UTF-8, or not a table of ids and labels.
    """
    import pandas

    what = "the id map"
    data = read_bytes(path, what=what, error=PretrainedFormatError)
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise PretrainedFormatError(f"{what} {path} is truncated or corrupt: {error}") from None
    text = decode_text(data, path=path, what=what, error=PretrainedFormatError)
    try:
        # without na_filter, pandas would turn labels such as "NA" or "null" into NaN
        frame = pandas.read_csv(
            io.StringIO(text), sep="\t", dtype={"label": str}, na_filter=False, keep_default_na=False
        )
    except (ValueError, pandas.errors.ParserError) as error:
        raise PretrainedFormatError(f"{what} {path} is not a TSV file of ids and labels: {error}") from None
    if list(frame.columns) != ["id", "label"]:
        raise PretrainedFormatError(f"{path} must have the columns ['id', 'label'], but has {list(frame.columns)}")
    if frame["id"].dtype.kind not in "iu":
        raise PretrainedFormatError(f"the ids in {path} must be integers, but are {preview(frame['id'].tolist())}")
    return labels_by_id(dict(zip(frame["label"], frame["id"].tolist(), strict=True)), what=str(path))


def checked_target(target: str) -> str:
    """Return ``target`` if it is ``"entity"`` or ``"relation"``, else raise an ``OptionValueError`` naming it."""
    if target not in TARGETS:
        raise OptionValueError(f"target must be one of {list(TARGETS)}, but got {preview(target)}")
    return target
