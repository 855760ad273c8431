"""The sources of a warm start as the user names them, and the labelled tables they hold."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import torch

from ..checks import as_bool, as_index, preview
from ..errors import OptionTypeError, OptionValueError, PretrainedFormatError, ShapeMismatchError
from .labels import check_unique

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

__all__ = [
    "LabelledVectors",
    "check_finite",
    "PretrainedSource",
    "PretrainedSourceHint",
    "as_sources",
    "option",
]


@dataclasses.dataclass(frozen=True)
class LabelledVectors:
    """A table of vectors with the label of each row."""

    #: the label of each row
    labels: tuple[str, ...]

    #: shape: ``(len(labels), *shape)``
    vectors: torch.Tensor

    def __post_init__(self) -> None:
        if not isinstance(self.vectors, torch.Tensor):
            raise OptionTypeError(f"pre-trained vectors must be a tensor, but got {preview(self.vectors)}")
        if self.vectors.is_meta:
            raise PretrainedFormatError(f"pre-trained vectors must hold values, but got {preview(self.vectors)}")
        if not all(isinstance(label, str) for label in self.labels):
            wrong = [label for label in self.labels if not isinstance(label, str)]
            raise OptionTypeError(f"labels must be strings, but got {preview(wrong)}")
        if self.vectors.ndim >= 2 and 0 in self.vectors.shape[1:]:
            raise ShapeMismatchError(f"pre-trained vectors have shape {tuple(self.vectors.shape)}: no values per row")
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

    #: whether vectors holding NaN or infinity are used; by default they are refused, naming the first such row
    allow_nonfinite: bool = False

    #: the data a run directory without ``training_triples/`` was trained on, for its labels: a dataset name, a
    #: triples file, ...; ``None``: the dataset its ``pykeen experiments run`` configuration names
    dataset: Any = None

    def __post_init__(self) -> None:
        # consent must be a real boolean: the string "false" would count as True
        for name in ("trainable", "allow_pickle"):
            if getattr(self, name) is not None:
                setattr(self, name, as_bool(getattr(self, name), name=f"{name} of the pretrained source"))
        self.allow_nonfinite = as_bool(self.allow_nonfinite, name="allow_nonfinite of the pretrained source")
        if self.index is not None:
            self.index = as_index(self.index, name="index of the pretrained source")

    @classmethod
    def coerce(cls, value: PretrainedSourceHint) -> PretrainedSource:
        """Accept a source, a mapping of its fields as written in a configuration file, or a bare source."""
        if isinstance(value, PretrainedSource):
            return value
        if isinstance(value, Mapping):
            known = [field.name for field in dataclasses.fields(cls)]
            unknown = sorted(set(value).difference(known))
            if unknown:
                raise OptionTypeError(
                    f"a pretrained source accepts the keys {sorted(known)}, but got {preview(unknown)}"
                )
            if "source" not in value:
                raise OptionTypeError(f"a pretrained source needs 'source', but got only {preview(sorted(value))}")
            return cls(**value)
        return cls(source=value)


PretrainedSourceHint = Union[str, pathlib.Path, "PipelineResult", LabelledVectors, PretrainedSource, Mapping[str, Any]]


def as_sources(pretrained: PretrainedSourceHint | Sequence[PretrainedSourceHint]) -> list[PretrainedSource]:
    """Return one source or a sequence of them as a non-empty list of :class:`PretrainedSource`."""
    if isinstance(pretrained, (str, pathlib.Path, PretrainedSource, LabelledVectors, Mapping)) or not isinstance(
        pretrained, Sequence
    ):
        pretrained = [pretrained]
    if not pretrained:
        raise OptionValueError("pretrained must name at least one source, but is an empty sequence")
    return [PretrainedSource.coerce(source) for source in pretrained]


def option(own: Any, default: Any) -> Any:
    """Return a source's own option where it gives one, else the representation's."""
    return default if own is None else own


def check_finite(table: LabelledVectors, *, source: str) -> None:
    """Refuse vectors that hold NaN or infinity, naming the source and the label of the first such row.

    :param table:
        The labelled vectors.
    :param source:
        A short description of the source, e.g. its path.

    :raises PretrainedFormatError:
        If some value is not finite.
    """
    values = torch.view_as_real(table.vectors) if table.vectors.is_complex() else table.vectors
    bad = ~torch.isfinite(values).flatten(start_dim=1).all(dim=1)
    if bool(bad.any()):
        rows = bad.nonzero().squeeze(1)
        raise PretrainedFormatError(
            f"the vectors of {source} hold NaN or infinity in {rows.numel():,} row(s), the first labelled "
            f"{preview(table.labels[int(rows[0])])}; fix them, or pass allow_nonfinite=True for that source",
        )
