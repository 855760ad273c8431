"""Readers of vectors learned earlier, together with the label of each row, from every kind of source.

A warm start needs, for each target (``"entity"`` or ``"relation"``), a table of vectors and the label of each of its
rows. This module reads such tables from

- a :class:`~pykeen.pipeline.PipelineResult` in memory;
- a run directory written by :meth:`~pykeen.pipeline.PipelineResult.save_to_directory` (``trained_model.pkl`` and
  ``training_triples/``), or by ``pykeen experiments run`` (see :mod:`~pykeen_backfill.warm_start.runs`). The model
  is a pickle, and unpickling runs code, so it is read only with ``allow_pickle=True``; the labels are read from the
  run's TSV files, or the dataset it was trained on, which is always safe;
- an *export directory* written by :func:`~pykeen_backfill.warm_start.export_vectors`: a ``manifest.json``, one
  tensor file per representation and one labels file per target;
- a single tensor file with a labels file (see :mod:`~pykeen_backfill.warm_start.tensors`).
"""

from __future__ import annotations

import json
import pathlib
import pickle
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ..checks import as_bool, open_regular, read_text
from ..errors import OptionTypeError, PretrainedFormatError, RepresentationIndexError, UnsafeFileError
from .labels import TARGETS, checked_target, labels_by_id, read_id_map, read_labels_file, row_labels
from .manifest import checked_entry
from .runs import CONFIGURATION, configured_dataset, find_replicate
from .sources import LabelledVectors, PretrainedSource
from .space import LabelsHint, new_labels
from .stored import open_recorded
from .tensors import _CORRUPT, TENSOR_SUFFIXES, intact_torch_file, read_tensor_file

if TYPE_CHECKING:
    from pykeen.models import Model
    from pykeen.pipeline import PipelineResult

    from .mapfile import MappedTable

__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "MODEL_FILE",
    "TRAINING_DIRECTORY",
    "PretrainedReader",
    "open_pretrained",
    "open_source",
]

#: the name of an export directory's description file
MANIFEST = "manifest.json"

#: the value of ``format`` in a manifest
MANIFEST_FORMAT = "pykeen-backfill-vectors"

MODEL_FILE = "trained_model.pkl"


TRAINING_DIRECTORY = "training_triples"


#: what PyKEEN writes next to a run's model, one of which a run directory must have
RUN_MARKERS = ("results.json", "metadata.json", TRAINING_DIRECTORY)


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

    def mapped(self, target: str, index: int = 0) -> MappedTable | None:
        """Return the mapped file of a representation's vectors, checked against its record, if there is one.

        :param target:
            ``"entity"`` or ``"relation"``.
        :param index:
            Which of several representations of the target.
        :return:
            The mapped table (see :mod:`pykeen_backfill.warm_start.mapfile`), or ``None`` for vectors read whole.
        """
        return None

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
        if path.suffix not in TENSOR_SUFFIXES:
            hint = f"; give the run directory {path.parent} instead" if path.name == MODEL_FILE else ""
            raise PretrainedFormatError(
                f"{path} is neither a directory nor a tensor file (one of {list(TENSOR_SUFFIXES)}){hint}"
            )
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
        name = f"{checked_target(target)}_representations"
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
        mapping = getattr(self._training, f"{checked_target(target)}_to_id", None)
        if mapping is None:
            raise PretrainedFormatError(f"the training triples of {self.description} have no labels")
        return labels_by_id(mapping, what=f"the {target} labels of {self.description}")


class _RunDirectoryReader(_ModelReader):
    def __init__(self, path: pathlib.Path, *, allow_pickle: bool, dataset: LabelsHint | None = None) -> None:
        super().__init__(description=str(path))
        self.path = path
        self.allow_pickle = as_bool(allow_pickle, name="allow_pickle")
        if not any(path.joinpath(name).exists() for name in RUN_MARKERS):
            # a lone pickle is no run: nothing vouches that PyKEEN wrote it
            raise PretrainedFormatError(
                f"{path} is not a PyKEEN run directory: next to {MODEL_FILE} it has none of {list(RUN_MARKERS)}, "
                "which save_to_directory and `pykeen experiments run` write",
            )
        # the run's own labels first; else the id space of the data it was trained on
        self.dataset = None if path.joinpath(TRAINING_DIRECTORY).is_dir() else dataset or configured_dataset(path)
        if self.dataset is None and not path.joinpath(TRAINING_DIRECTORY).is_dir():
            raise PretrainedFormatError(
                f"the run directory {path} has no {TRAINING_DIRECTORY}/ with the labels of its rows, and no "
                f"{CONFIGURATION}.json of `pykeen experiments run` names the data it was trained on; give that "
                f'dataset as the source\'s dataset, e.g. {{"source": "{path}", "dataset": "nations"}} (on the '
                "command line: --pretrained-dataset for plan, --dataset for export), or save the run with "
                "save_to_directory(..., save_training=True)",
            )

    def labels(self, target: str) -> tuple[str, ...]:
        if self.dataset is not None:
            return new_labels(self.dataset, checked_target(target))
        return read_id_map(self.path.joinpath(TRAINING_DIRECTORY, f"{checked_target(target)}_to_id.tsv.gz"))

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

        with open_regular(path, what="the model file", error=PretrainedFormatError) as file:
            if not intact_torch_file(file):
                raise PretrainedFormatError(f"{path} is truncated or corrupt: it is not a complete torch.save file")
            file.seek(0)
            try:
                model = torch.load(file, map_location="cpu", weights_only=False)
            except (pickle.UnpicklingError, AttributeError, ImportError, *_CORRUPT) as error:
                raise PretrainedFormatError(f"{path} cannot be unpickled: {type(error).__name__}: {error}") from None
        if not isinstance(model, Model):
            raise PretrainedFormatError(f"{path} holds a {type(model).__name__}, not a PyKEEN model")
        return model


class _ExportReader(PretrainedReader):
    """Reads an export directory: a manifest, one tensor file per representation, one labels file per target.

    The manifest is checked against the files it names: each file must lie in the directory, the labels must fit the
    rows, and a shape it states must be the shape of the file's vectors.
    """

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path
        self.description = str(path)
        manifest_path = path / MANIFEST
        text = read_text(manifest_path, what="the manifest", error=PretrainedFormatError)
        try:
            self.manifest = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise PretrainedFormatError(f"{manifest_path} is not valid JSON: {error or 'nested too deeply'}") from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != MANIFEST_FORMAT:
            raise PretrainedFormatError(f"{manifest_path} is not a manifest of format {MANIFEST_FORMAT!r}")
        self._entries = {
            target: checked_entry(self.manifest[target], path=manifest_path, target=target)
            for target in TARGETS
            if target in self.manifest
        }
        self._mapped: dict[tuple[str, int], MappedTable] = {}

    def _entry(self, target: str) -> Mapping[str, Any]:
        entry = self._entries.get(checked_target(target))
        if entry is None:
            raise PretrainedFormatError(f"the export {self.path} has no {target} vectors")
        return entry

    def labels(self, target: str) -> tuple[str, ...]:
        return read_labels_file(self.path.joinpath(self._entry(target)["labels"]))

    def table(self, target: str, index: int = 0) -> LabelledVectors:
        entry = self._entry(target)
        files = entry["vectors"]
        if not 0 <= index < len(files):
            raise RepresentationIndexError(
                f"index={index}, but the export {self.path} has {len(files)} {target} representation(s); "
                f"use an index in [0, {len(files)})",
            )
        mapped = self.mapped(target, index)
        vectors = read_tensor_file(self.path.joinpath(files[index])) if mapped is None else mapped.tensor
        stated = entry["shapes"][index] if entry.get("shapes") is not None else None
        if stated is not None and tuple(vectors.shape[1:]) != stated:
            raise PretrainedFormatError(
                f"{self.path / MANIFEST} states shape {stated} for {files[index]}, but its vectors have shape "
                f"{tuple(vectors.shape[1:])}",
            )
        return LabelledVectors(labels=self.labels(target), vectors=vectors)

    # docstr-coverage: inherited
    def mapped(self, target: str, index: int = 0) -> MappedTable | None:
        records = self._entry(target)["mapped"]
        if records is None or not 0 <= index < len(records):
            return None
        key = (target, index)
        if key not in self._mapped:
            name = self._entry(target)["vectors"][index]
            self._mapped[key] = open_recorded(self.path.joinpath(name), records[index])
        return self._mapped[key]

    def shape(self, target: str, index: int = 0) -> tuple[int, ...] | None:
        # reading the vectors (never a pickle) checks the manifest's word against the files
        return self.table(target, index).shape


def open_pretrained(
    source: str | pathlib.Path | PipelineResult | LabelledVectors,
    *,
    labels_file: str | pathlib.Path | None = None,
    allow_pickle: bool = False,
    dataset: LabelsHint | None = None,
) -> PretrainedReader:
    """Open a source of pre-trained vectors.

    :param source:
        A run directory (``trained_model.pkl`` and ``training_triples/``; or an output directory of
        ``pykeen experiments run``, see ``dataset``), an export directory (``manifest.json``), a
        tensor file (``.pt``, ``.pth`` or ``.npy``), a :class:`~pykeen.pipeline.PipelineResult`, or a
        :class:`LabelledVectors`.
    :param labels_file:
        The labels file of a tensor file.
    :param allow_pickle:
        Whether the model of a run directory may be unpickled. Only pass ``True`` for files you trust.
    :param dataset:
        The data a run directory without ``training_triples/`` was trained on (a dataset name, a triples file, ...,
        see :func:`~pykeen_backfill.warm_start.new_labels`), for its labels; by default, the dataset that the
        configuration of ``pykeen experiments run`` names.

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
        raise OptionTypeError(
            "pretrained must be a path, a PipelineResult, LabelledVectors or a PretrainedSource, "
            f"but got {type(source).__name__}",
        )
    allow_pickle = as_bool(allow_pickle, name="allow_pickle")
    path = pathlib.Path(source)
    if path.exists() and not path.is_dir():
        # a FIFO or a device is refused when opened, before a byte is read
        return _TensorFileReader(path, labels_file)
    if path.joinpath(MANIFEST).exists():
        return _ExportReader(path)
    replicate = find_replicate(path, model_file=MODEL_FILE) if path.is_dir() else None
    if replicate is not None:
        return _RunDirectoryReader(replicate, allow_pickle=allow_pickle, dataset=dataset)
    if path.is_dir():
        raise PretrainedFormatError(
            f"{path} holds neither {MANIFEST} (an export) nor {MODEL_FILE} (a run saved by save_to_directory)",
        )
    raise PretrainedFormatError(f"the pretrained source {path} does not exist")


def open_source(source: PretrainedSource, *, allow_pickle: bool) -> PretrainedReader:
    """Open one source, with its own ``allow_pickle`` where it gives one, else the representation's."""
    return open_pretrained(
        source.source,
        labels_file=source.labels_file,
        allow_pickle=allow_pickle if source.allow_pickle is None else source.allow_pickle,
        dataset=source.dataset,
    )
