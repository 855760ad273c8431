"""Warm start by labels: reuse vectors learned on an earlier graph for the labels a grown graph still has.

The package reads tables of vectors with the label of each row (:mod:`.readers`, :mod:`.tensors`, :mod:`.labels`),
matches them to the new ids by label (:mod:`.space`, :mod:`.align`), tells what a warm start would do (:mod:`.plan`),
describes the bases a backfill representation builds from them (:mod:`.bases`), and writes a trusted run's vectors
to files that load without unpickling (:mod:`.export`). It knows nothing of the representation itself.
"""

from __future__ import annotations

from ..errors import (
    DuplicateLabelsError,
    NoSharedLabelsError,
    PretrainedFormatError,
    RepresentationIndexError,
    UnsafeFileError,
)
from .align import Alignment, align
from .bases import pretrained_sources
from .export import export_vectors
from .labels import INVERSE_SUFFIX, TARGETS, Target, check_unique, read_labels_file, row_labels
from .plan import TargetPlan, WarmStartPlan, plan_warm_start
from .readers import PretrainedReader, open_pretrained
from .sources import LabelledVectors, PretrainedSource, PretrainedSourceHint
from .space import LabelsHint, fill_labels, max_id_for, new_labels
from .tensors import read_tensor_file

__all__ = [
    "INVERSE_SUFFIX",
    "TARGETS",
    "Alignment",
    "DuplicateLabelsError",
    "LabelledVectors",
    "LabelsHint",
    "NoSharedLabelsError",
    "PretrainedFormatError",
    "PretrainedReader",
    "PretrainedSource",
    "PretrainedSourceHint",
    "RepresentationIndexError",
    "Target",
    "TargetPlan",
    "UnsafeFileError",
    "WarmStartPlan",
    "align",
    "check_unique",
    "export_vectors",
    "fill_labels",
    "max_id_for",
    "new_labels",
    "open_pretrained",
    "plan_warm_start",
    "pretrained_sources",
    "read_labels_file",
    "read_tensor_file",
    "row_labels",
]
