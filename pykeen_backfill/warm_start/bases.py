"""Build the bases of a backfill representation from vectors learned earlier, aligned with the new ids by label.

Both the earlier run and the new graph number their entities (and relations) in their own way, so rows are matched by
label, never by id: every label in both gets exactly its old vector, whatever the order of the ids on either side.
Labels only the new graph has are served by the backfill; labels only the old run has are dropped, and counted.

With several sources (e.g. an earlier run and a file of static features), a label is served by the first source that
has it; later sources serve only the labels left over.

If no label of the new graph occurs in any source, :class:`~pykeen_backfill.errors.NoSharedLabelsError` is raised
rather than silently training everything from scratch: an empty overlap almost always means that the two sides spell
their labels differently, or that the wrong dataset was named.

This package knows nothing of the representation: it describes each base as a mapping of ids, a hint and keyword
arguments, which :class:`~pykeen_backfill.BackfillRepresentation` builds.
"""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ..checks import as_bool, as_index, preview, requested_shape
from ..errors import NoSharedLabelsError, OptionTypeError, ShapeMismatchError
from .align import Alignment, align
from .labels import check_unique, checked_target, row_labels
from .mapfile import MappedTable
from .readers import PretrainedReader, open_source
from .sources import LabelledVectors, PretrainedSourceHint, as_sources, check_finite, option
from .space import LabelsHint, new_labels

__all__ = [
    "pretrained_sources",
]

logger = logging.getLogger(__name__)

#: the name of :class:`~pykeen_backfill.representation.mapped.MappedEmbedding` in PyKEEN's representation resolver,
#: where the package's own plugin registers it
MAPPED_BASE = "mappedembedding"


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
) -> list[dict[str, Any]]:
    """Build the bases of a backfill representation from pre-trained vectors, aligned by label.

    :param pretrained:
        One source of pre-trained vectors or a sequence of them, see
        :class:`~pykeen_backfill.warm_start.PretrainedSource`; a label is served by the first source that has it.
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
        One base source per source of vectors that serves at least one id: a mapping with the keys ``ids``,
        ``base`` and ``base_kwargs``, as :class:`~pykeen_backfill.BaseSource` accepts it.

    :raises TypeError:
        If ``labels`` is missing, or ``pretrained`` is combined with id-based parameters.
    :raises NoSharedLabelsError:
        If a source has no label of the new id space.
    :raises ShapeMismatchError:
        If the vectors do not have the shape the model asks for, or ``max_id`` disagrees with ``labels``.
    """
    # every option is checked before a file is opened: allow_pickle="false" must never mean consent
    trainable, allow_pickle = as_bool(trainable, name="trainable"), as_bool(allow_pickle, name="allow_pickle")
    index = as_index(index, name="index")
    target = checked_target(target)
    given = sorted(key for key, value in (others or {}).items() if value is not None)
    if given:
        raise OptionTypeError(f"pretrained replaces {given}: pass either pretrained or {given}, not both")
    if labels is None:
        raise OptionTypeError(
            "pretrained needs labels of the new id space, as id_space=...: a dataset name such as 'nations', the "
            "path of a saved triples factory (`pykeen-backfill run` fills it in from the configuration's dataset)",
        )
    model_kwargs = dict(model_kwargs or {})
    space = row_labels(new_labels(labels, target), max_id, target=target, what=f"id_space={_show(labels)}")
    check_unique(space, what=f"the new {target} labels")
    requested = requested_shape(model_kwargs)
    claimed = torch.zeros(max_id, dtype=torch.bool)
    bases = []
    for source in as_sources(pretrained):
        reader = open_source(source, allow_pickle=allow_pickle)
        table = reader.table(target, option(source.index, index))
        mapped = _mapped(reader, target, option(source.index, index), frozen=not option(source.trainable, trainable))
        # a mapped file's writer recorded whether it is finite: reading it whole to check would load it
        if not source.allow_nonfinite and (mapped is None or not mapped.finite):
            check_finite(table, source=reader.description)
        _check_shape(table, requested=requested, target=target, source=reader.description)
        alignment = align(table.labels, space, claimed, source=reader.description)
        _log(alignment, target=target, num_old=len(table.labels))
        if alignment.num_reused and mapped is not None:
            bases.append(_mapped_base(mapped, alignment, model_kwargs, source=reader.description))
        elif alignment.num_reused:
            vectors = _in_model_dtype(table.vectors[alignment.old_rows], model_kwargs, source=reader.description)
            base_kwargs = _base_kwargs(vectors, option(source.trainable, trainable), model_kwargs)
            bases.append({"ids": alignment.new_ids, "base": "embedding", "base_kwargs": base_kwargs})
        elif not alignment.shadowed:
            raise NoSharedLabelsError(
                _no_overlap_message(table.labels, space, target=target, source=reader.description)
            )
    return bases


def _mapped(reader: PretrainedReader, target: str, index: int, *, frozen: bool) -> MappedTable | None:
    """Return the mapped file of frozen rows, if the source has one; trainable rows are copied into memory."""
    return reader.mapped(target, index) if frozen else None


def _mapped_base(
    table: MappedTable, alignment: Alignment, model_kwargs: Mapping[str, Any], *, source: str
) -> dict[str, Any]:
    """Describe a base serving the reused rows from the mapped file itself, cast to the model's dtype on lookup."""
    dtype = _in_model_dtype(table.tensor[:1], model_kwargs, source=source).dtype
    identity = alignment.num_reused == table.num_rows and bool(
        (alignment.old_rows == torch.arange(table.num_rows)).all()
    )
    kwargs = dict(
        path=str(table.path),
        rows=None if identity else alignment.old_rows,
        dtype=dtype,
        bfloat16=table.dtype == torch.bfloat16,
        fingerprint=table.fingerprint(),
        trainable=False,
    )
    return {"ids": alignment.new_ids, "base": MAPPED_BASE, "base_kwargs": kwargs}


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
            f"the vectors of {source} have dtype {vectors.dtype}, but the model asks for "
            f"{preview(model_kwargs.get('dtype'))}",
        )
    return vectors.to(dtype)


def _base_kwargs(vectors: torch.Tensor, trainable: bool, model_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Describe an embedding holding exactly the given vectors."""
    from pykeen.nn.init import PretrainedInitializer

    # fine-tuned rows obey the model's constraint like any other row; frozen rows must not be rewritten by it
    constraint = {key: model_kwargs[key] for key in ("constrainer", "constrainer_kwargs") if key in model_kwargs}
    # a complex embedding stores (and initialises) its values as pairs of reals
    values = torch.view_as_real(vectors) if vectors.is_complex() else vectors
    return dict(
        shape=tuple(vectors.shape[1:]),
        dtype=vectors.dtype,
        initializer=PretrainedInitializer(tensor=values.contiguous()),
        trainable=trainable,
        **(constraint if trainable else {}),
    )
