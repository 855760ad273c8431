"""Read vectors learned earlier, together with the label of each row, and write them in a format safe to share.

A warm start needs, for each target (``"entity"`` or ``"relation"``), a table of vectors and the label of each of its
rows. This module reads such tables from

- a :class:`~pykeen.pipeline.PipelineResult` in memory;
- a run directory written by :meth:`~pykeen.pipeline.PipelineResult.save_to_directory` (``trained_model.pkl`` and
  ``training_triples/``). The model is a pickle, and unpickling runs code, so it is read only with
  ``allow_pickle=True``; the labels are read from the run's TSV files, which is always safe;
- an *export directory* written by :func:`export_vectors` (``pykeen-backfill export RUN_DIR OUT``): a
  ``manifest.json``, one tensor file per representation and one labels file per target;
- a single tensor file with a labels file: ``.pt``/``.pth`` written by :func:`torch.save` (read with
  ``weights_only=True``) or ``.npy`` (read with ``allow_pickle=False``).

A labels file lists the label of each row: either one label per line (UTF-8), or a ``.json`` file holding a list of
labels or a mapping from label to row. Duplicate labels are an error.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import pathlib
import pickle
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy
import torch

from .errors import BackfillError, ShapeMismatchError

if TYPE_CHECKING:
    from pykeen.models import Model
    from pykeen.pipeline import PipelineResult

__all__ = [
    "DuplicateLabelsError",
    "LabelledVectors",
    "PretrainedFormatError",
    "PretrainedReader",
    "PretrainedSource",
    "RepresentationIndexError",
    "Target",
    "UnsafeFileError",
    "export_vectors",
    "open_pretrained",
    "read_labels_file",
    "row_labels",
]

Target = Literal["entity", "relation"]
TARGETS: tuple[str, ...] = ("entity", "relation")

#: the suffix marking the inverse of a relation, for models trained with ``create_inverse_triples=True``
INVERSE_SUFFIX = " (inverse)"

#: the name of an export directory's description file
MANIFEST = "manifest.json"

#: the value of ``format`` in a manifest
MANIFEST_FORMAT = "pykeen-backfill-vectors"

MODEL_FILE = "trained_model.pkl"
TRAINING_DIRECTORY = "training_triples"
TENSOR_SUFFIXES = (".pt", ".pth", ".npy")

#: how many offending labels an error message shows
_SHOWN = 5


class UnsafeFileError(BackfillError, ValueError):
    """Raised when reading a file would unpickle it, which can run arbitrary code, and this was not allowed."""


class DuplicateLabelsError(BackfillError, ValueError):
    """Raised when two rows of a table have the same label."""


class PretrainedFormatError(BackfillError, ValueError):
    """Raised for a source of pre-trained vectors that is missing, incomplete, or not in a known format."""


class RepresentationIndexError(BackfillError, IndexError):
    """Raised when ``index`` asks for a representation a source does not have."""


@dataclasses.dataclass(frozen=True)
class LabelledVectors:
    """A table of vectors with the label of each row."""

    #: the label of each row
    labels: tuple[str, ...]

    #: shape: ``(len(labels), *shape)``
    vectors: torch.Tensor

    def __post_init__(self) -> None:
        if self.vectors.ndim < 2:
            raise ShapeMismatchError(
                f"pre-trained vectors need one row per label, but have shape {tuple(self.vectors.shape)}"
            )
        if self.vectors.shape[0] != len(self.labels):
            raise ShapeMismatchError(
                f"there are {len(self.labels)} labels for {self.vectors.shape[0]} rows of pre-trained vectors",
            )
        check_unique(self.labels, what="the pre-trained labels")

    @property
    def shape(self) -> tuple[int, ...]:
        """Return the shape of one vector."""
        return tuple(self.vectors.shape[1:])


@dataclasses.dataclass
class PretrainedSource:
    """One source of pre-trained vectors, with options that apply to it alone.

    In configuration files a source is written either as a plain path, or as a mapping with the same keys, e.g.
    ``{"source": "features.npy", "labels_file": "features.txt", "trainable": true}``.
    """

    #: a run directory, an export directory, a tensor file, a :class:`~pykeen.pipeline.PipelineResult`, or a
    #: :class:`LabelledVectors`
    source: str | pathlib.Path | PipelineResult | LabelledVectors

    #: the labels file of a single tensor file; ignored for other sources
    labels_file: str | pathlib.Path | None = None

    #: which of several representations per entity (or relation) to read, e.g. ``1`` for TransD's projections;
    #: ``None`` takes the value given to the representation
    index: int | None = None

    #: whether the reused rows are fine-tuned; ``None`` takes the value given to the representation
    trainable: bool | None = None

    #: whether a pickled model may be read; ``None`` takes the value given to the representation
    allow_pickle: bool | None = None

    @classmethod
    def coerce(cls, value: PretrainedSourceHint) -> PretrainedSource:
        """Accept a source, a mapping of its fields as written in a configuration file, or a bare source."""
        if isinstance(value, PretrainedSource):
            return value
        if isinstance(value, Mapping):
            known = [field.name for field in dataclasses.fields(cls)]
            unknown = sorted(set(value).difference(known))
            if unknown:
                raise TypeError(f"a pretrained source accepts the keys {sorted(known)}, but got {unknown}")
            if "source" not in value:
                raise TypeError(f"a pretrained source needs 'source', but got only {sorted(value)}")
            return cls(**value)
        return cls(source=value)


PretrainedSourceHint = Union[str, pathlib.Path, "PipelineResult", LabelledVectors, PretrainedSource, Mapping[str, Any]]


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
    shown = ", ".join(f"{label!r} ({n} times)" for label, n in repeated[:_SHOWN])
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
    if not path.is_file():
        raise PretrainedFormatError(f"the labels file {path} does not exist")
    text = path.read_text(encoding="utf-8")
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
    except json.JSONDecodeError as error:
        raise PretrainedFormatError(f"the labels file {path} is not valid JSON: {error}") from None
    if isinstance(data, list) and all(isinstance(label, str) for label in data):
        return tuple(data)
    if isinstance(data, dict) and all(isinstance(row, int) and not isinstance(row, bool) for row in data.values()):
        # a mapping from label to row, like PyKEEN's entity_to_id
        return _labels_by_id(data, what=f"the labels file {path}")
    raise PretrainedFormatError(
        f"the labels file {path} must hold a JSON list of strings or a mapping from label to row",
    )


def _unique_pairs(pairs: list[tuple[str, Any]], *, what: str) -> dict[str, Any]:
    check_unique([key for key, _ in pairs], what=what)
    return dict(pairs)


def _labels_by_id(label_to_id: Mapping[str, int], *, what: str) -> tuple[str, ...]:
    """Invert a mapping from label to id, which must number the labels ``0, 1, ..., n - 1``."""
    n = len(label_to_id)
    ids = numpy.fromiter(label_to_id.values(), dtype=numpy.int64, count=n)
    # each of 0, ..., n - 1 exactly once; placing labels by id avoids sorting millions of them in Python
    if n and (ids.min() < 0 or ids.max() >= n or numpy.bincount(ids, minlength=n).max() != 1):
        raise PretrainedFormatError(f"the ids of {what} must be 0, 1, ..., {n - 1}, but are not")
    labels = numpy.empty(n, dtype=object)
    labels[ids] = list(label_to_id)
    return tuple(labels.tolist())


def read_tensor_file(path: str | pathlib.Path) -> torch.Tensor:
    """Read a tensor without unpickling: ``.pt``/``.pth`` with ``weights_only=True``, ``.npy`` without pickle.

    :param path:
        The tensor file.

    :return:
        The tensor, on the CPU.

    :raises PretrainedFormatError:
        If the file is missing, has another suffix, or holds something other than one tensor of numbers.
    :raises UnsafeFileError:
        If the file holds pickled objects beyond tensors.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise PretrainedFormatError(f"the tensor file {path} does not exist")
    if path.suffix == ".npy":
        try:
            array = numpy.load(path, allow_pickle=False)
        except ValueError as error:
            raise UnsafeFileError(
                f"{path} holds Python objects, which can only be read by unpickling: {error}"
            ) from None
        tensor = torch.from_numpy(array)
    elif path.suffix in (".pt", ".pth"):
        try:
            tensor = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise UnsafeFileError(
                f"{path} holds Python objects other than tensors, which can only be read by unpickling; "
                "save the tensor alone with torch.save(tensor, path)",
            ) from None
        except (RuntimeError, EOFError) as error:
            raise PretrainedFormatError(f"{path} is not a file written by torch.save: {error}") from None
    else:
        raise PretrainedFormatError(f"{path} is not a tensor file: expected one of {list(TENSOR_SUFFIXES)}")
    if not isinstance(tensor, torch.Tensor) or not (tensor.is_floating_point() or tensor.is_complex()):
        kind = f"dtype {tensor.dtype}" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise PretrainedFormatError(f"{path} must hold one tensor of floating-point numbers, but holds {kind}")
    return tensor


class PretrainedReader:
    """Reads the labelled vectors of one source, for entities or relations."""

    #: a short description of the source for messages and plans
    description: str

    def labels(self, target: str) -> tuple[str, ...]:
        """Return the labels of the target, ordered by id, without reading any vectors.

        :param target:
            ``"entity"`` or ``"relation"``.
        :return:
            The labels.
        """
        raise NotImplementedError

    def table(self, target: str, index: int = 0) -> LabelledVectors:
        """Return the vectors of the target with the label of each row.

        :param target:
            ``"entity"`` or ``"relation"``.
        :param index:
            Which of several representations of the target to read.
        :return:
            The labelled vectors.
        """
        raise NotImplementedError

    def shape(self, target: str, index: int = 0) -> tuple[int, ...] | None:
        """Return the shape of one vector, or ``None`` if it cannot be told without unpickling.

        :param target:
            ``"entity"`` or ``"relation"``.
        :param index:
            Which of several representations of the target to describe.
        :return:
            The shape, or ``None``.
        """
        return self.table(target, index).shape


class _GivenReader(PretrainedReader):
    """A table given in memory; it serves whichever target it is asked for."""

    def __init__(self, table: LabelledVectors, description: str = "the given vectors") -> None:
        self._table = table
        self.description = description

    def labels(self, target: str) -> tuple[str, ...]:
        return self._table.labels

    def table(self, target: str, index: int = 0) -> LabelledVectors:
        if index != 0:
            raise RepresentationIndexError(f"index={index}, but {self.description} hold a single table; use index=0")
        return self._table


class _TensorFileReader(_GivenReader):
    def __init__(self, path: pathlib.Path, labels_file: str | pathlib.Path | None) -> None:
        if labels_file is None:
            raise PretrainedFormatError(
                f"the tensor file {path} needs its labels: pass {{'source': '{path}', 'labels_file': LABELS}}",
            )
        table = LabelledVectors(labels=read_labels_file(labels_file), vectors=read_tensor_file(path))
        super().__init__(table, description=str(path))


class _ModelReader(PretrainedReader):
    """Reads the representations of a PyKEEN model, labelled by its training triples factory."""

    def __init__(self, description: str) -> None:
        self.description = description
        self._model: Model | None = None

    def _load_model(self) -> Model:
        raise NotImplementedError

    @property
    def model(self) -> Model:
        """Return the model, loading it on first use."""
        if self._model is None:
            self._model = self._load_model()
        return self._model

    def representations(self, target: str) -> Sequence[torch.nn.Module]:
        """Return the model's representations of the target."""
        name = f"{_checked_target(target)}_representations"
        representations = getattr(self.model, name, None)
        if representations is None:
            raise PretrainedFormatError(f"the model of {self.description} has no {name}")
        return representations

    def table(self, target: str, index: int = 0) -> LabelledVectors:
        representations = self.representations(target)
        if not 0 <= index < len(representations):
            raise RepresentationIndexError(
                f"index={index}, but the model of {self.description} has {len(representations)} {target} "
                f"representation(s); use an index in [0, {len(representations)})",
            )
        vectors = _plain_vectors(representations[index])
        labels = row_labels(self.labels(target), vectors.shape[0], target=target, what=self.description)
        return LabelledVectors(labels=labels, vectors=vectors)


def _plain_vectors(representation: torch.nn.Module) -> torch.Tensor:
    """Return the vectors of all ids as the model holds them, before any normalizer, regularizer or dropout."""
    was_training = representation.training
    representation.eval()
    try:
        with torch.no_grad():
            return representation._plain_forward(indices=None).detach().cpu().clone()
    finally:
        representation.train(was_training)


class _ResultReader(_ModelReader):
    def __init__(self, result: PipelineResult) -> None:
        super().__init__(description=f"the given PipelineResult ({type(result.model).__name__})")
        self._model = result.model
        self._training = result.training

    def labels(self, target: str) -> tuple[str, ...]:
        mapping = getattr(self._training, f"{_checked_target(target)}_to_id", None)
        if mapping is None:
            raise PretrainedFormatError(f"the training triples of {self.description} have no labels")
        return _labels_by_id(mapping, what=f"the {target} labels of {self.description}")


class _RunDirectoryReader(_ModelReader):
    def __init__(self, path: pathlib.Path, *, allow_pickle: bool) -> None:
        super().__init__(description=str(path))
        self.path = path
        self.allow_pickle = allow_pickle
        if not path.joinpath(TRAINING_DIRECTORY).is_dir():
            raise PretrainedFormatError(
                f"the run directory {path} has no {TRAINING_DIRECTORY}/ with the labels of its rows; "
                "save the run with save_to_directory(..., save_training=True)",
            )

    def labels(self, target: str) -> tuple[str, ...]:
        return _read_id_map(self.path.joinpath(TRAINING_DIRECTORY, f"{_checked_target(target)}_to_id.tsv.gz"))

    def shape(self, target: str, index: int = 0) -> tuple[int, ...] | None:
        if not self.allow_pickle and self._model is None:
            return None
        return super().shape(target, index)

    def _load_model(self) -> Model:
        path = self.path.joinpath(MODEL_FILE)
        if not self.allow_pickle:
            raise UnsafeFileError(
                f"{path} is a pickle, and loading it can run arbitrary code; pass allow_pickle=True only if you "
                f"trust it, or convert it once with `pykeen-backfill export {self.path} OUT` and use OUT instead",
            )
        from pykeen.models import Model

        model = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(model, Model):
            raise PretrainedFormatError(f"{path} holds a {type(model).__name__}, not a PyKEEN model")
        return model


def _read_id_map(path: pathlib.Path) -> tuple[str, ...]:
    """Read PyKEEN's ``*_to_id.tsv.gz`` (columns ``id`` and ``label``) and return the labels ordered by id."""
    import pandas

    if not path.is_file():
        raise PretrainedFormatError(f"{path} does not exist")
    try:
        # without na_filter, pandas would turn labels such as "NA" or "null" into NaN
        frame = pandas.read_csv(path, sep="\t", dtype={"label": str}, na_filter=False, keep_default_na=False)
    except (ValueError, OSError) as error:
        raise PretrainedFormatError(f"{path} is not a TSV file of ids and labels: {error}") from None
    if list(frame.columns) != ["id", "label"]:
        raise PretrainedFormatError(f"{path} must have the columns ['id', 'label'], but has {list(frame.columns)}")
    return _labels_by_id(dict(zip(frame["label"], frame["id"].tolist(), strict=True)), what=str(path))


class _ExportReader(PretrainedReader):
    """Reads an export directory: a manifest, one tensor file per representation, one labels file per target."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.description = str(path)
        try:
            self.manifest = json.loads(path.joinpath(MANIFEST).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise PretrainedFormatError(f"{path / MANIFEST} is not valid JSON: {error}") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != MANIFEST_FORMAT:
            raise PretrainedFormatError(f"{path / MANIFEST} is not a manifest of format {MANIFEST_FORMAT!r}")

    def _entry(self, target: str) -> Mapping[str, Any]:
        entry = self.manifest.get(_checked_target(target))
        if not isinstance(entry, dict):
            raise PretrainedFormatError(f"the export {self.path} has no {target} vectors")
        return entry

    def labels(self, target: str) -> tuple[str, ...]:
        return read_labels_file(self.path.joinpath(self._entry(target)["labels"]))

    def table(self, target: str, index: int = 0) -> LabelledVectors:
        files = self._entry(target)["vectors"]
        if not 0 <= index < len(files):
            raise RepresentationIndexError(
                f"index={index}, but the export {self.path} has {len(files)} {target} representation(s); "
                f"use an index in [0, {len(files)})",
            )
        return LabelledVectors(labels=self.labels(target), vectors=read_tensor_file(self.path.joinpath(files[index])))

    def shape(self, target: str, index: int = 0) -> tuple[int, ...] | None:
        shapes = self._entry(target).get("shapes")
        if isinstance(shapes, list) and 0 <= index < len(shapes):
            return tuple(shapes[index])
        return super().shape(target, index)


def _checked_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)}, but got {target!r}")
    return target


def open_pretrained(
    source: str | pathlib.Path | PipelineResult | LabelledVectors,
    *,
    labels_file: str | pathlib.Path | None = None,
    allow_pickle: bool = False,
) -> PretrainedReader:
    """Open a source of pre-trained vectors.

    :param source:
        A run directory (``trained_model.pkl`` and ``training_triples/``), an export directory (``manifest.json``), a
        tensor file (``.pt``, ``.pth`` or ``.npy``), a :class:`~pykeen.pipeline.PipelineResult`, or a
        :class:`LabelledVectors`.
    :param labels_file:
        The labels file of a tensor file.
    :param allow_pickle:
        Whether the model of a run directory may be unpickled. Only pass ``True`` for files you trust.

    :return:
        A reader; a run's model is unpickled only when its vectors are first needed.

    :raises PretrainedFormatError:
        If the source is missing or in no known format.
    """
    from pykeen.pipeline import PipelineResult

    if isinstance(source, LabelledVectors):
        return _GivenReader(source)
    if isinstance(source, PipelineResult):
        return _ResultReader(source)
    if not isinstance(source, (str, pathlib.Path)):
        raise TypeError(
            "pretrained must be a path, a PipelineResult, LabelledVectors or a PretrainedSource, "
            f"but got {type(source).__name__}",
        )
    path = pathlib.Path(source)
    if path.is_file():
        return _TensorFileReader(path, labels_file)
    if path.joinpath(MANIFEST).is_file():
        return _ExportReader(path)
    if path.joinpath(MODEL_FILE).is_file():
        return _RunDirectoryReader(path, allow_pickle=allow_pickle)
    if path.is_dir():
        raise PretrainedFormatError(
            f"{path} holds neither {MANIFEST} (an export) nor {MODEL_FILE} (a run saved by save_to_directory)",
        )
    raise PretrainedFormatError(f"the pretrained source {path} does not exist")


def export_vectors(
    source: str | pathlib.Path | PipelineResult,
    out: str | pathlib.Path,
    *,
    allow_pickle: bool = False,
    tensor_format: Literal["pt", "npy"] = "pt",
) -> pathlib.Path:
    """Write the entity and relation vectors of a run, with their labels, in a format that loads without pickle.

    :param source:
        A run directory or a :class:`~pykeen.pipeline.PipelineResult`.
    :param out:
        The export directory; created if needed. Existing files of the same names are overwritten.
    :param allow_pickle:
        Whether the model of a run directory may be unpickled. Only pass ``True`` for runs you trust.
    :param tensor_format:
        ``"pt"`` (:func:`torch.save` of the tensor alone) or ``"npy"`` (:func:`numpy.save`, without pickle).

    :return:
        The path of the manifest.

    :raises PretrainedFormatError:
        If the source is not a model.
    """
    if tensor_format not in ("pt", "npy"):
        raise ValueError(f"tensor_format must be 'pt' or 'npy', but got {tensor_format!r}")
    reader = open_pretrained(source, allow_pickle=allow_pickle)
    if not isinstance(reader, _ModelReader):
        raise PretrainedFormatError(f"{reader.description} is not a run: only a run's model can be exported")
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": MANIFEST_FORMAT, "version": 1, "model": type(reader.model).__name__}
    for target in TARGETS:
        manifest[target] = _export_target(reader, target, out=out, tensor_format=tensor_format)
    path = out.joinpath(MANIFEST)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def _export_target(reader: _ModelReader, target: str, *, out: pathlib.Path, tensor_format: str) -> dict[str, Any]:
    tables = [reader.table(target, index) for index in range(len(reader.representations(target)))]
    files, shapes = [], []
    for index, table in enumerate(tables):
        name = f"{target}_{index}.{tensor_format}"
        if tensor_format == "npy":
            numpy.save(out.joinpath(name), table.vectors.numpy(), allow_pickle=False)
        else:
            torch.save(table.vectors.contiguous(), out.joinpath(name))
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
    return {"labels": labels_name, "vectors": files, "shapes": shapes}
