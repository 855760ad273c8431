"""A grown graph described by files: PyKEEN's ``training``, ``validation`` and ``testing`` paths, or lists of them.

Growing graphs are published as snapshots, each holding only what is new in it; the graph at a step is the union of
the snapshots so far. A configuration names it by lists of files per split, e.g.
``"training": ["snapshots/0/train.txt.gz", "snapshots/1/train.txt.gz"]``, or by a single file per split as PyKEEN
does. Files hold one tab-separated labelled triple per line and may be gzip-compressed (``.gz``). Every label stays a
string as written: ``00452098``, ``1e5`` or ``nan`` are labels, not numbers.
"""

from __future__ import annotations

import gzip
import pathlib
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy

from ..checks import decode_text, preview, read_bytes
from ..errors import ConfigError

__all__ = [
    "SPLITS",
    "described_by_files",
    "read_triples",
    "snapshot_dataset",
]

#: the splits of a configuration's ``pipeline`` that may name files
SPLITS = ("training", "validation", "testing")


def _paths(value: Any, *, key: str) -> list[pathlib.Path]:
    if isinstance(value, (str, pathlib.Path)):
        return [pathlib.Path(value)]
    if isinstance(value, Sequence) and value and all(isinstance(v, (str, pathlib.Path)) for v in value):
        return [pathlib.Path(v) for v in value]
    raise ConfigError(f"pipeline.{key} must be a path or a non-empty list of paths, but is {preview(value)}")


def read_triples(paths: Sequence[str | pathlib.Path]) -> numpy.ndarray:
    """Read labelled triples from files, one tab-separated triple a line, gzip-compressed where they end in ``.gz``.

    :param paths:
        The files; their triples are concatenated in order.

    :return:
        shape: ``(n, 3)``, an array of strings.

    :raises ConfigError:
        If a file is missing, not UTF-8, corrupt, or has a line that is not three tab-separated labels.
    """
    rows: list[list[str]] = []
    for path in map(pathlib.Path, paths):
        data = read_bytes(path, what="the triples file", error=ConfigError)
        if path.suffix == ".gz":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as error:
                raise ConfigError(f"the triples file {path} is truncated or corrupt: {error}") from None
        text = decode_text(data, path=path, what="the triples file", error=ConfigError)
        for number, line in enumerate(text.split("\n"), start=1):
            line = line.removesuffix("\r")
            if not line:
                continue
            cells = line.split("\t")
            if len(cells) != 3 or not all(cells):
                raise ConfigError(
                    f"line {number} of {path} must be three tab-separated labels (head, relation, tail), but is "
                    f"{preview(line)}"
                )
            rows.append(cells)
    return numpy.asarray(rows, dtype=str).reshape(-1, 3)


def described_by_files(pipeline_kwargs: Mapping[str, Any]) -> bool:
    """Tell whether a configuration's ``pipeline`` names its data by files (and no ``dataset``).

    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration.

    :return:
        Whether ``training`` is a path or a list of paths and there is no ``dataset``.
    """
    training = pipeline_kwargs.get("training")
    return pipeline_kwargs.get("dataset") is None and isinstance(training, (str, pathlib.Path, list, tuple))


def snapshot_dataset(pipeline_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Read the splits a configuration names by files into triples factories that share the training ids.

    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration, with ``training`` and ``testing`` (and optionally ``validation``),
        each a path or a list of paths.

    :return:
        ``training``, ``testing`` and ``validation`` (``None`` if not given), as
        :class:`~pykeen.triples.TriplesFactory`; test and validation triples with a label the training triples lack
        are left out, as PyKEEN does.

    :raises ConfigError:
        If a split is given in a form other than a path or a list of paths, or a file cannot be read.
    """
    from pykeen.triples import TriplesFactory

    if pipeline_kwargs.get("testing") is None:
        raise ConfigError("'pipeline' must name 'testing' next to 'training'")
    training = TriplesFactory.from_labeled_triples(read_triples(_paths(pipeline_kwargs["training"], key="training")))
    out: dict[str, Any] = {"training": training, "validation": None}
    for key in ("testing", "validation"):
        value = pipeline_kwargs.get(key)
        if value is not None:
            out[key] = TriplesFactory.from_labeled_triples(
                read_triples(_paths(value, key=key)),
                entity_to_id=training.entity_to_id,
                relation_to_id=training.relation_to_id,
            )
    return out
