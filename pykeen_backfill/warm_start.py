"""Warm start by labels: reuse vectors learned on an earlier graph for the labels a grown graph still has.

Both the earlier run and the new graph number their entities (and relations) in their own way, so rows are matched by
label, never by id: every label in both gets exactly its old vector, whatever the order of the ids on either side.
Labels only the new graph has are served by the backfill; labels only the old run has are dropped, and counted.

With several sources (e.g. an earlier run and a file of static features), a label is served by the first source that
has it; later sources serve only the labels left over.

If no label of the new graph occurs in any source, :class:`NoSharedLabelsError` is raised rather than silently training
everything from scratch: an empty overlap almost always means that the two sides spell their labels differently, or
that the wrong dataset was named.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy
import torch

from .errors import BackfillError, ShapeMismatchError
from .injected import split_kwargs
from .pretrained import (
    TARGETS,
    LabelledVectors,
    PretrainedFormatError,
    PretrainedReader,
    PretrainedSource,
    PretrainedSourceHint,
    check_unique,
    open_pretrained,
    row_labels,
)

if TYPE_CHECKING:
    from pykeen.nn.representation import Embedding

    from .representation import BaseSource

__all__ = [
    "Alignment",
    "LabelsHint",
    "NoSharedLabelsError",
    "TargetPlan",
    "WarmStartPlan",
    "align",
    "fill_labels",
    "max_id_for",
    "new_labels",
    "plan_warm_start",
    "pretrained_sources",
]

logger = logging.getLogger(__name__)

#: the new id space: a dataset name or path, a saved triples factory, a triples file, a triples factory, a dataset,
#: or a mapping from label to id
LabelsHint = Any

#: how many example labels a plan shows per row
EXAMPLES = 5


class NoSharedLabelsError(BackfillError, ValueError):
    """Raised when no label of the new id space occurs in a source of pre-trained vectors."""


@dataclasses.dataclass(frozen=True)
class Alignment:
    """How the rows of one source map onto the new id space."""

    #: a short description of the source
    source: str

    #: shape: ``(k,)``; the new ids this source serves
    new_ids: torch.Tensor

    #: shape: ``(k,)``; the source's row for each of them
    old_rows: torch.Tensor

    #: the source's labels that the new id space does not have
    dropped: tuple[str, ...]

    #: how many of the source's labels the new id space has, but an earlier source already serves
    shadowed: int

    @property
    def num_reused(self) -> int:
        """Return the number of new ids served by this source."""
        return self.new_ids.numel()


def align(old_labels: Sequence[str], new_row_labels: Sequence[str], claimed: torch.Tensor, *, source: str) -> Alignment:
    """Match the rows of a source to the new ids by label.

    :param old_labels:
        The label of each row of the source.
    :param new_row_labels:
        The label of each new id.
    :param claimed: shape: ``(len(new_row_labels),)``
        Which new ids an earlier source serves; updated in place with the ids this source serves.
    :param source:
        A short description of the source.

    :return:
        The alignment.
    """
    import pandas

    # a hash index matches millions of labels in well under a second, unlike a loop over a dict
    rows = torch.from_numpy(pandas.Index(list(new_row_labels)).get_indexer(list(old_labels))).long()
    present = rows >= 0
    new_ids, old_rows = rows[present], present.nonzero().squeeze(1)
    fresh = ~claimed[new_ids]
    claimed[new_ids[fresh]] = True
    dropped = tuple(numpy.asarray(old_labels, dtype=object)[~present.numpy()].tolist())
    return Alignment(
        source=source,
        new_ids=new_ids[fresh],
        old_rows=old_rows[fresh],
        dropped=dropped,
        shadowed=int((~fresh).sum()),
    )


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


def new_labels(labels: LabelsHint, target: str) -> tuple[str, ...]:
    """Return the labels of the new id space, ordered by id (without inverse relations).

    :param labels:
        A dataset name known to :data:`pykeen.datasets.dataset_resolver` (e.g. ``"nations"``); a path to a triples
        factory saved with :meth:`~pykeen.triples.TriplesFactory.to_path_binary`, or to a training triples file
        (TSV of labels, numbered as :meth:`~pykeen.triples.TriplesFactory.from_path` numbers them); a triples
        factory; a dataset (its training factory); or a mapping from label to id.
    :param target:
        ``"entity"`` or ``"relation"``.

    :return:
        The labels.

    :raises PretrainedFormatError:
        If ``labels`` names nothing that exists.
    """
    from pykeen.datasets import Dataset
    from pykeen.triples import TriplesFactory

    from .pretrained import _labels_by_id, _read_id_map

    if isinstance(labels, Dataset):
        labels = labels.training
    if isinstance(labels, TriplesFactory):
        labels = getattr(labels, f"{target}_to_id")
    if isinstance(labels, Mapping):
        return _labels_by_id(labels, what=f"the new {target} labels")
    if isinstance(labels, (str, pathlib.Path)):
        path = pathlib.Path(labels)
        if path.is_dir():
            return _read_id_map(path.joinpath(f"{target}_to_id.tsv.gz"))
        if path.is_file():
            return new_labels(_triples_file(path), target)
        return new_labels(_dataset(str(labels)), target)
    raise TypeError(
        "labels must be a dataset name, a path, a TriplesFactory, a Dataset or a mapping from label to id, "
        f"but got {type(labels).__name__}",
    )


def _triples_file(path: pathlib.Path) -> Any:
    from pykeen.triples import TriplesFactory

    try:
        # numbered exactly as the pipeline numbers a training file given by path
        return TriplesFactory.from_path(path)
    except (ValueError, OSError) as error:
        raise PretrainedFormatError(f"{path} is not a file of tab-separated labelled triples: {error}") from None


def fill_labels(kwargs: Mapping[str, Any], labels: Callable[[], LabelsHint]) -> dict[str, Any]:
    """Give a warm start without ``labels`` the new id space of the run it is part of.

    :param kwargs:
        The keyword arguments of one representation, as a configuration gives them.
    :param labels:
        Returns the new id space, e.g. the configuration's dataset; called only if it is needed.

    :return:
        A copy of the keyword arguments, with ``labels`` filled in where ``pretrained`` is given without it.
    """
    kwargs = dict(kwargs)
    if kwargs.get("pretrained") is not None and kwargs.get("labels") is None:
        kwargs["labels"] = labels()
    return kwargs


def _dataset(name: str) -> Any:
    from pykeen.datasets import dataset_resolver, get_dataset

    try:
        dataset_resolver.lookup(name)
    except (KeyError, ValueError):
        raise PretrainedFormatError(
            f"the new id space {name!r} is neither an existing path nor a dataset known to PyKEEN (e.g. 'nations')",
        ) from None
    return get_dataset(dataset=name)


def max_id_for(triples_factory: Any, target: str) -> int:
    """Return the number of ids a model trained on the triples factory has for the target.

    :param triples_factory:
        The triples factory of the new graph.
    :param target:
        ``"entity"`` or ``"relation"``; with inverse triples, a relation counts twice.
    :return:
        The number of ids.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)}, but got {target!r}")
    return triples_factory.num_entities if target == "entity" else triples_factory.num_relations


def _sources(pretrained: PretrainedSourceHint | Sequence[PretrainedSourceHint]) -> list[PretrainedSource]:
    if isinstance(pretrained, (str, pathlib.Path, PretrainedSource, LabelledVectors, Mapping)) or not isinstance(
        pretrained, Sequence
    ):
        pretrained = [pretrained]
    if not pretrained:
        raise ValueError("pretrained must name at least one source")
    return [PretrainedSource.coerce(source) for source in pretrained]


def _open(source: PretrainedSource, *, allow_pickle: bool) -> PretrainedReader:
    return open_pretrained(
        source.source,
        labels_file=source.labels_file,
        allow_pickle=allow_pickle if source.allow_pickle is None else source.allow_pickle,
    )


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
    sources = _sources(pretrained)
    readers = [_open(source, allow_pickle=allow_pickle) for source in sources]
    plans = []
    for target in targets:
        space = new_labels(labels, target)
        claimed = torch.zeros(len(space), dtype=torch.bool)
        alignments, shapes = [], []
        for source, reader in zip(sources, readers, strict=True):
            alignments.append(align(reader.labels(target), space, claimed, source=reader.description))
            shapes.append(reader.shape(target, _option(source.index, index)))
        plans.append(TargetPlan(target=target, labels=space, alignments=tuple(alignments), shapes=tuple(shapes)))
    return WarmStartPlan(
        sources=tuple(reader.description for reader in readers),
        space=str(labels) if isinstance(labels, (str, pathlib.Path)) else type(labels).__name__,
        targets=tuple(plans),
    )


def _option(own: Any, default: Any) -> Any:
    return default if own is None else own


def pretrained_sources(
    pretrained: PretrainedSourceHint | Sequence[PretrainedSourceHint],
    labels: LabelsHint,
    *,
    max_id: int,
    target: str = "entity",
    index: int = 0,
    trainable: bool = False,
    allow_pickle: bool = False,
    model_kwargs: Mapping[str, Any] | None = None,
    others: Mapping[str, Any] | None = None,
) -> list[BaseSource]:
    """Build the bases of a backfill representation from pre-trained vectors, aligned by label.

    :param pretrained:
        One source of pre-trained vectors or a sequence of them, see
        :class:`~pykeen_backfill.pretrained.PretrainedSource`; a label is served by the first source that has it.
    :param labels:
        The new id space, see :func:`new_labels`.
    :param max_id:
        The number of new ids; it must agree with ``labels``.
    :param target:
        ``"entity"`` or ``"relation"``.
    :param index:
        Which of several representations per entity (or relation) to read, e.g. ``1`` for TransD's projections.
    :param trainable:
        Whether the reused rows are fine-tuned (with the model's constrainer, if any) or frozen.
    :param allow_pickle:
        Whether the model of a run directory may be unpickled. Only pass ``True`` for runs you trust.
    :param model_kwargs:
        The other keyword arguments of the representation, as a model injects them: ``shape`` is checked against the
        vectors, ``constrainer`` applies to trainable reused rows.
    :param others:
        The id-based parameters of the representation (``base_ids``, ``base``, ``base_kwargs``, ``sources``), which
        ``pretrained`` replaces.

    :return:
        One base source per source of vectors that serves at least one id.

    :raises TypeError:
        If ``labels`` is missing, or ``pretrained`` is combined with id-based parameters.
    :raises NoSharedLabelsError:
        If a source has no label of the new id space.
    :raises ShapeMismatchError:
        If the vectors do not have the shape the model asks for, or ``max_id`` disagrees with ``labels``.
    """
    given = sorted(key for key, value in (others or {}).items() if value is not None)
    if given:
        raise TypeError(f"pretrained replaces {given}: pass either pretrained or {given}, not both")
    if labels is None:
        raise TypeError(
            "pretrained needs labels, the new id space: a dataset name such as 'nations' or the path of a saved "
            "triples factory (`pykeen-backfill run` fills it in from the configuration's dataset)",
        )
    model_kwargs = dict(model_kwargs or {})
    space = row_labels(new_labels(labels, target), max_id, target=target, what=f"labels={_show(labels)}")
    check_unique(space, what=f"the new {target} labels")
    requested = split_kwargs(model_kwargs).shape
    claimed = torch.zeros(max_id, dtype=torch.bool)
    bases = []
    for source in _sources(pretrained):
        reader = _open(source, allow_pickle=allow_pickle)
        table = reader.table(target, _option(source.index, index))
        _check_shape(table, requested=requested, target=target, source=reader.description)
        alignment = align(table.labels, space, claimed, source=reader.description)
        _log(alignment, target=target, num_old=len(table.labels))
        if alignment.num_reused:
            vectors = _in_model_dtype(table.vectors[alignment.old_rows], model_kwargs, source=reader.description)
            base = _base(vectors, _option(source.trainable, trainable), model_kwargs)
            bases.append(_base_source(alignment.new_ids, base))
        elif not alignment.shadowed:
            raise NoSharedLabelsError(
                _no_overlap_message(table.labels, space, target=target, source=reader.description)
            )
    return bases


def _show(labels: LabelsHint) -> str:
    return repr(str(labels)) if isinstance(labels, (str, pathlib.Path)) else type(labels).__name__


def _check_shape(table: LabelledVectors, *, requested: tuple[int, ...] | None, target: str, source: str) -> None:
    if requested is not None and table.shape != requested:
        raise ShapeMismatchError(
            f"the {target} vectors of {source} have shape {table.shape}, but the model asks for shape {requested}: "
            f"give the new model the dimension of the vectors (e.g. embedding_dim={table.shape[-1]})",
        )


def _no_overlap_message(old: Sequence[str], new: Sequence[str], *, target: str, source: str) -> str:
    return (
        f"none of the {len(old)} {target} labels of {source} (e.g. {sorted(old)[:3]}) occurs among the "
        f"{len(new)} new {target} labels (e.g. {sorted(new)[:3]}): both sides must use the same labels"
    )


def _log(alignment: Alignment, *, target: str, num_old: int) -> None:
    logger.info(
        "warm start of %s representations from %s: %d of %d rows reused, %d dropped, %d served by an earlier source",
        target,
        alignment.source,
        alignment.num_reused,
        num_old,
        len(alignment.dropped),
        alignment.shadowed,
    )


def _in_model_dtype(vectors: torch.Tensor, model_kwargs: Mapping[str, Any], *, source: str) -> torch.Tensor:
    """Cast real vectors to the model's dtype, e.g. the ``float64`` that :func:`numpy.save` often holds."""
    dtype = model_kwargs.get("dtype")
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None)
    if dtype is None:
        dtype = vectors.dtype if vectors.is_complex() else torch.get_default_dtype()
    if not isinstance(dtype, torch.dtype) or dtype.is_complex != vectors.is_complex():
        raise ShapeMismatchError(
            f"the vectors of {source} have dtype {vectors.dtype}, but the model asks for {model_kwargs.get('dtype')!r}",
        )
    return vectors.to(dtype)


def _base(vectors: torch.Tensor, trainable: bool, model_kwargs: Mapping[str, Any]) -> Embedding:
    """Build an embedding holding exactly the given vectors."""
    from pykeen.nn.init import PretrainedInitializer
    from pykeen.nn.representation import Embedding

    # fine-tuned rows obey the model's constraint like any other row; frozen rows must not be rewritten by it
    constraint = {key: model_kwargs[key] for key in ("constrainer", "constrainer_kwargs") if key in model_kwargs}
    # a complex embedding stores (and initialises) its values as pairs of reals
    values = torch.view_as_real(vectors) if vectors.is_complex() else vectors
    base = Embedding(
        max_id=vectors.shape[0],
        shape=tuple(vectors.shape[1:]),
        dtype=vectors.dtype,
        initializer=PretrainedInitializer(tensor=values.contiguous()),
        trainable=trainable,
        **(constraint if trainable else {}),
    )
    base.reset_parameters()
    return base


def _base_source(ids: torch.Tensor, base: Embedding) -> BaseSource:
    from .representation import BaseSource

    return BaseSource(ids=ids, base=base)
