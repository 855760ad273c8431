"""The sources of a warm start as the user names them, and the labelled tables they hold."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import torch

from ..errors import ShapeMismatchError
from .labels import check_unique

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

__all__ = [
    "LabelledVectors",
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
    #: the data a run directory without ``training_triples/`` was trained on, for its labels: a dataset name, a
    #: triples file, ...; ``None``: the dataset its ``pykeen experiments run`` configuration names
    dataset: Any = None

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


def as_sources(pretrained: PretrainedSourceHint | Sequence[PretrainedSourceHint]) -> list[PretrainedSource]:
    """Return one source or a sequence of them as a non-empty list of :class:`PretrainedSource`."""
    if isinstance(pretrained, (str, pathlib.Path, PretrainedSource, LabelledVectors, Mapping)) or not isinstance(
        pretrained, Sequence
    ):
        pretrained = [pretrained]
    if not pretrained:
        raise ValueError("pretrained must name at least one source")
    return [PretrainedSource.coerce(source) for source in pretrained]


def option(own: Any, default: Any) -> Any:
    """Return a source's own option where it gives one, else the representation's."""
    return default if own is None else own
