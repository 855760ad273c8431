"""Export the vectors of a trusted run, with their labels, to files that load without unpickling."""

from __future__ import annotations

import json
import pathlib
from typing import TYPE_CHECKING, Any, Literal

import torch

from ..checks import as_bool, preview
from ..errors import OptionValueError, PretrainedFormatError, ShapeMismatchError
from .labels import TARGETS
from .readers import MANIFEST, MANIFEST_FORMAT, _ModelReader, open_pretrained
from .stored import chunks_of, storage_dtype, write_table

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

__all__ = [
    "export_vectors",
]


def export_vectors(
    source: str | pathlib.Path | PipelineResult,
    out: str | pathlib.Path,
    *,
    allow_pickle: bool = False,
    tensor_format: Literal["pt", "npy"] = "pt",
    dataset: Any = None,
    dtype: str | torch.dtype | None = None,
) -> pathlib.Path:
    """Write the entity and relation vectors of a run, with their labels, in a format that loads without pickle.

    :param source:
        A run directory or a :class:`~pykeen.pipeline.PipelineResult`.
    :param out:
        The export directory; created if needed. Existing files of the same names are overwritten.
    :param allow_pickle:
        Whether the model of a run directory may be unpickled. Only pass ``True`` for runs you trust.
    :param tensor_format:
        ``"pt"`` (:func:`torch.save` of the tensor alone) or ``"npy"``: a ``.npy`` file, which a warm start maps
        from disk for frozen rows (see :class:`~pykeen_backfill.representation.mapped.MappedEmbedding`); the manifest
        records its dtype, size and fingerprint, so that a changed file is refused.
    :param dataset:
        The data a run directory without ``training_triples/`` was trained on, for its labels, see
        :func:`~pykeen_backfill.warm_start.open_pretrained`.
    :param dtype:
        The dtype to store real vectors as: ``"float16"`` or ``"bfloat16"`` halve the files, ``"float32"``,
        ``"float64"``; by default, the model's own. A warm start casts them to the new model's dtype.

    :return:
        The path of the manifest.

    :raises PretrainedFormatError:
        If the source is not a model.
    """
    allow_pickle = as_bool(allow_pickle, name="allow_pickle")
    if tensor_format not in ("pt", "npy"):
        raise OptionValueError(f"tensor_format must be 'pt' or 'npy', but got {preview(tensor_format)}")
    stored = storage_dtype(dtype)
    if isinstance(source, (str, pathlib.Path)) and not pathlib.Path(source).is_dir():
        # refused before anything is unpickled: only a run directory holds a model to export
        raise PretrainedFormatError(
            f"{source} is not a PyKEEN run directory (one written by save_to_directory or `pykeen experiments run`)"
        )
    reader = open_pretrained(source, allow_pickle=allow_pickle, dataset=dataset)
    if not isinstance(reader, _ModelReader):
        raise PretrainedFormatError(f"{reader.description} is not a run: only a run's model can be exported")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": MANIFEST_FORMAT, "version": 1, "model": type(reader.model).__name__}
    for target in TARGETS:
        manifest[target] = _export_target(reader, target, out=out, tensor_format=tensor_format, dtype=stored)
    path = out.joinpath(MANIFEST)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def _export_target(
    reader: _ModelReader, target: str, *, out: pathlib.Path, tensor_format: str, dtype: torch.dtype | None
) -> dict[str, Any]:
    tables = [reader.table(target, index) for index in range(len(reader.representations(target)))]
    files, shapes, mapped = [], [], []
    for index, table in enumerate(tables):
        name = f"{target}_{index}.{tensor_format}"
        vectors = table.vectors
        if dtype is not None and not vectors.is_complex():
            vectors = vectors.to(dtype)
        if tensor_format == "npy":
            # a mappable file, with what a reader checks it against: see pykeen_backfill.warm_start.stored
            mapped.append(
                write_table(
                    out.joinpath(name),
                    chunks_of(vectors),
                    num_rows=len(vectors),
                    row_shape=tuple(vectors.shape[1:]),
                    dtype=vectors.dtype,
                )
            )
        else:
            torch.save(vectors.contiguous(), out.joinpath(name))
        files.append(name)
        shapes.append(list(table.shape))
    # every representation of a target has the same rows, so one labels file serves all
    labels = tables[0].labels
    if any(len(table.labels) != len(labels) for table in tables):
        raise ShapeMismatchError(f"the {target} representations of {reader.description} differ in their rows")
    if any(not label or "\n" in label or "\r" in label for label in labels):
        labels_name = f"{target}_labels.json"
        out.joinpath(labels_name).write_text(json.dumps(list(labels), ensure_ascii=False), encoding="utf-8")
    else:
        labels_name = f"{target}_labels.txt"
        out.joinpath(labels_name).write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    entry = {"labels": labels_name, "vectors": files, "shapes": shapes}
    return {**entry, "mapped": mapped} if mapped else entry
