"""The manifest of an export directory: each target's entry, checked against what a reader may trust."""

from __future__ import annotations

import pathlib
from typing import Any

from ..checks import as_shape, preview
from ..errors import PretrainedFormatError

__all__ = [
    "RECORD_KEYS",
    "checked_entry",
]

#: what an export records of each mappable file, see :func:`~pykeen_backfill.warm_start.stored.write_table`
RECORD_KEYS = ("dtype", "bytes", "fingerprint", "finite")


def checked_entry(entry: Any, *, path: pathlib.Path, target: str) -> dict[str, Any]:
    """Check one target's entry of a manifest: a labels file, a non-empty list of vector files, and their shapes."""
    if not isinstance(entry, dict):
        raise PretrainedFormatError(f"{path}: {target!r} must be a mapping, but is {preview(entry)}")
    labels, files, shapes = entry.get("labels"), entry.get("vectors"), entry.get("shapes")
    names = [labels, *files] if isinstance(files, list) else [labels]
    if not isinstance(files, list) or not files:
        raise PretrainedFormatError(
            f"{path}: {target}.vectors must be a non-empty list of files, but is {preview(files)}"
        )
    for name in names:
        # a manifest names files in its own directory: "../" or an absolute path would read elsewhere
        if not isinstance(name, str) or not name or pathlib.PurePath(name).name != name or name in (".", ".."):
            raise PretrainedFormatError(
                f"{path}: {target} names {preview(name)}, which is not a file name in its directory"
            )
    if shapes is not None:
        if not isinstance(shapes, list) or len(shapes) != len(files):
            raise PretrainedFormatError(
                f"{path}: {target}.shapes must list one shape per file of {target}.vectors ({len(files)}), "
                f"but is {preview(shapes)}"
            )
        shapes = [as_shape(shape, name=f"{path}: {target}.shapes[{i}]") for i, shape in enumerate(shapes)]
    return {
        "labels": labels,
        "vectors": files,
        "shapes": shapes,
        "mapped": _checked_mapped(entry, path=path, target=target),
    }


def _checked_mapped(entry: dict[str, Any], *, path: pathlib.Path, target: str) -> list[dict[str, Any]] | None:
    """Check the records of mappable files, one per file of ``vectors``, see :func:`~.stored.write_table`."""
    mapped, files = entry.get("mapped"), entry["vectors"]
    if mapped is None:
        return None
    if (
        not isinstance(mapped, list)
        or len(mapped) != len(files)
        or not all(isinstance(record, dict) and set(record) >= set(RECORD_KEYS) for record in mapped)
    ):
        raise PretrainedFormatError(
            f"{path}: {target}.mapped must list one record with the keys {list(RECORD_KEYS)} per file of "
            f"{target}.vectors ({len(files)}), but is {preview(mapped)}"
        )
    if not all(pathlib.PurePath(name).suffix == ".npy" for name in files):
        raise PretrainedFormatError(f"{path}: {target}.mapped records files that are not .npy: {files}")
    return mapped
