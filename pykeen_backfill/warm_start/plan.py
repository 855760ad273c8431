"""The plan of a warm start: what is reused, new and dropped, shown before any training."""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Sequence

import torch

from ..checks import as_bool, as_index
from .align import Alignment, align
from .labels import TARGETS
from .readers import open_source
from .sources import PretrainedSourceHint, as_sources, option
from .space import LabelsHint, new_labels

__all__ = [
    "TargetPlan",
    "WarmStartPlan",
    "plan_warm_start",
]

#: how many example labels a plan shows per row
EXAMPLES = 5


@dataclasses.dataclass(frozen=True)
class TargetPlan:
    """What a warm start does for one target: which labels are reused from which source, new, or dropped."""

    #: ``"entity"`` or ``"relation"``
    target: str

    #: the label of each new id
    labels: tuple[str, ...]

    #: one alignment per source, in order of precedence
    alignments: tuple[Alignment, ...]

    #: the shape of one vector of each source, ``None`` where it cannot be told without unpickling
    shapes: tuple[tuple[int, ...] | None, ...]

    @property
    def num_reused(self) -> int:
        """Return the number of new ids served by a source."""
        return sum(alignment.num_reused for alignment in self.alignments)

    @property
    def new_ids(self) -> torch.Tensor:
        """Return the new ids no source serves, which the backfill serves, in increasing order."""
        claimed = torch.zeros(len(self.labels), dtype=torch.bool)
        for alignment in self.alignments:
            claimed[alignment.new_ids] = True
        return (~claimed).nonzero().squeeze(1)

    @property
    def dropped(self) -> tuple[str, ...]:
        """Return the labels of the sources that the new id space does not have."""
        return tuple(label for alignment in self.alignments for label in alignment.dropped)

    def reused_labels(self) -> list[str]:
        """Return the labels served by a source."""
        return [self.labels[i] for alignment in self.alignments for i in alignment.new_ids.tolist()]

    def new_labels(self) -> list[str]:
        """Return the labels served by the backfill."""
        return [self.labels[i] for i in self.new_ids.tolist()]


@dataclasses.dataclass(frozen=True)
class WarmStartPlan:
    """What a warm start does for entities and relations, shown before any training."""

    #: the sources, in order of precedence
    sources: tuple[str, ...]

    #: the new id space
    space: str

    #: one plan per target
    targets: tuple[TargetPlan, ...]

    def shape_problems(self, expected: tuple[int, ...] | None = None) -> list[str]:
        """Return a line for each disagreement between the shapes of the sources and the expected shape.

        :param expected:
            The shape of the new model's vectors, if known.
        :return:
            The problems; empty if the dimensions fit.
        """
        problems = []
        for plan in self.targets:
            known = {shape for shape in plan.shapes if shape is not None}
            if len(known) > 1:
                problems.append(f"the {plan.target} sources have different shapes: {sorted(known)}")
            if expected is not None and known and known != {expected}:
                problems.append(f"the {plan.target} vectors have shape {sorted(known)[0]}, not {expected}")
        return problems

    def format(self, expected: tuple[int, ...] | None = None) -> str:
        """Return the plan as a table, with examples and the dimension check.

        :param expected:
            The shape of the new model's vectors, if known.
        :return:
            The text.
        """
        lines = [f"warm start from {', '.join(self.sources)}", f"new id space: {self.space}", ""]
        lines.append(f"{'':10}{'reused':>8}{'new':>8}{'dropped':>9}   vectors")
        for plan in self.targets:
            shapes = ", ".join("?" if shape is None else str(shape) for shape in plan.shapes)
            lines.append(
                f"{plan.target:10}{plan.num_reused:>8}{plan.new_ids.numel():>8}{len(plan.dropped):>9}   {shapes}",
            )
            if len(plan.alignments) > 1:
                for alignment in plan.alignments:
                    lines.append(f"  {alignment.source:8}{alignment.num_reused:>8}{'':8}{len(alignment.dropped):>9}")
        for plan in self.targets:
            lines.append("")
            lines.append(f"{plan.target}:")
            lines.append(_examples("reused", plan.reused_labels()))
            lines.append(_examples("new", plan.new_labels()))
            lines.append(_examples("dropped", plan.dropped))
        lines.append("")
        lines.append(self._dimension_line(expected))
        return "\n".join(lines)

    def _dimension_line(self, expected: tuple[int, ...] | None) -> str:
        problems = self.shape_problems(expected)
        if problems:
            return "dimension check: MISMATCH: " + "; ".join(problems)
        if any(shape is None for plan in self.targets for shape in plan.shapes):
            return (
                "dimension check: unknown: the vectors of a run are read by unpickling trained_model.pkl; pass "
                "--allow-pickle for a run you trust, or `pykeen-backfill export` it first"
            )
        shapes = ", ".join(f"{plan.target} {plan.shapes[0]}" for plan in self.targets)
        if expected is None:
            return f"dimension check: the new model must use the shapes of the vectors: {shapes}"
        return f"dimension check: OK, {shapes}"


def _examples(kind: str, labels: Sequence[str]) -> str:
    shown = ", ".join(sorted(labels)[:EXAMPLES])
    more = ", ..." if len(labels) > EXAMPLES else ""
    return f"  {kind:8}{len(labels):>6}" + (f"   e.g. {shown}{more}" if labels else "")


def plan_warm_start(
    pretrained: PretrainedSourceHint | Sequence[PretrainedSourceHint],
    labels: LabelsHint,
    *,
    targets: Sequence[str] = TARGETS,
    index: int = 0,
    allow_pickle: bool = False,
) -> WarmStartPlan:
    """Tell what a warm start would do, reading only labels (and vectors where that is safe).

    :param pretrained:
        One source of pre-trained vectors or a sequence of them, see
        :class:`~pykeen_backfill.pretrained.PretrainedSource`.
    :param labels:
        The new id space, see :func:`new_labels`.
    :param targets:
        The targets to plan for.
    :param index:
        Which of several representations per entity (or relation) to describe.
    :param allow_pickle:
        Whether the model of a run directory may be unpickled to tell the shape of its vectors.

    :return:
        The plan.
    """
    # checked before any file is opened
    allow_pickle, index = as_bool(allow_pickle, name="allow_pickle"), as_index(index, name="index")
    sources = as_sources(pretrained)
    readers = [open_source(source, allow_pickle=allow_pickle) for source in sources]
    plans = []
    for target in targets:
        space = new_labels(labels, target)
        claimed = torch.zeros(len(space), dtype=torch.bool)
        alignments, shapes = [], []
        for source, reader in zip(sources, readers, strict=True):
            alignments.append(align(reader.labels(target), space, claimed, source=reader.description))
            shapes.append(reader.shape(target, option(source.index, index)))
        plans.append(TargetPlan(target=target, labels=space, alignments=tuple(alignments), shapes=tuple(shapes)))
    return WarmStartPlan(
        sources=tuple(reader.description for reader in readers),
        space=str(labels) if isinstance(labels, (str, pathlib.Path)) else type(labels).__name__,
        targets=tuple(plans),
    )
