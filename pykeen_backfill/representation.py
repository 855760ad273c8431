"""A representation that serves known ids from a base and every other id from a trainable backfill."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy
import torch
from class_resolver import HintOrType, OptionalKwargs, ResolverKey, update_docstring_with_resolver_keys
from docdata import parse_docdata
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.init import PretrainedInitializer
from pykeen.nn.representation import Representation
from torch import nn

from .autoload import register_deferred
from .errors import IdOutOfRangeError, IdTypeError, InvalidIdsError, InvalidPartError, ShapeMismatchError
from .injected import as_kwargs, build_part, chooses_values, kwargs_for_part, split_kwargs
from .layout import IdLayout, as_id_tensor

__all__ = [
    "BackfillRepresentation",
    "BaseSource",
]

logger = logging.getLogger(__name__)

IdsLike = Iterable[int] | torch.Tensor | numpy.ndarray


@dataclasses.dataclass
class BaseSource:
    """One base of a backfill representation: the global ids it serves and the representation serving them.

    In configuration files a source is written as a mapping with the same keys, e.g.
    ``{"ids": [0, 4, 7], "base": "embedding", "base_kwargs": {"shape": 32}}``.
    """

    #: the global ids, in the order of the base's rows: ``ids[i]`` is served by row ``i``
    ids: IdsLike

    #: the base representation, or a hint thereof
    base: HintOrType[Representation] = None

    #: keyword-based parameters to instantiate the base from a hint
    base_kwargs: OptionalKwargs = None

    @classmethod
    def coerce(cls, value: BaseSource | Mapping[str, Any]) -> BaseSource:
        """Accept a source or a mapping of its fields, as written in a configuration file."""
        if isinstance(value, BaseSource):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"sources must contain BaseSource objects or mappings, but got {value!r}")
        unknown = sorted(set(value).difference(f.name for f in dataclasses.fields(cls)))
        if unknown:
            raise TypeError(f"a source accepts the keys ['base', 'base_kwargs', 'ids'], but got {unknown}")
        if "ids" not in value:
            raise TypeError(f"a source needs 'ids', but got only {sorted(value)}")
        return cls(**value)


class _KeepParameters:
    """Stands in for ``reset_parameters`` of a given instance, so that a model's initialisation leaves it as it is."""

    def __call__(self) -> None:
        """Do nothing: the instance was given with the values it should keep."""


def _keep_parameters(module: nn.Module) -> None:
    """Make a model's initialisation skip a given instance, down to its innermost :class:`torch.nn.Embedding`.

    PyKEEN models call ``reset_parameters`` on every sub-module, deepest first; a trained base passed as an instance
    would otherwise come back with random values.
    """
    for sub in module.modules():
        if hasattr(sub, "reset_parameters"):
            sub.reset_parameters = _KeepParameters()  # type: ignore[method-assign]


def _initialised_from_pretrained(module: nn.Module) -> bool:
    return any(isinstance(getattr(sub, "initializer", None), PretrainedInitializer) for sub in module.modules())


@parse_docdata
class BackfillRepresentation(Representation):
    """A representation that serves some ids from a base and all other ids from a backfill.

    ``base_ids[i]`` is served by row ``i`` of the base; the remaining ids, in increasing order, are served by the rows
    of the backfill. A typical base holds vectors learned on a smaller graph, or static features, and is frozen; the
    backfill is a trainable :class:`~pykeen.nn.representation.Embedding` with the base's shape.

    This class computes the same outputs as PyKEEN's :class:`pykeen.nn.representation.BackfillRepresentation` (bit
    for bit, given the same base and backfill modules), and in addition

    - accepts the keyword arguments PyKEEN models inject (``shape``, ``initializer``, ``constrainer``, ...), so that
      ``DistMult(entity_representations="backfill", ...)`` and configuration files work,
    - keeps a given base instance as it is when a model initialises its parameters,
    - looks ids up through one precomputed index instead of sorting every batch,
    - refuses bad ids with an error naming the parameter and the value.

    Several bases can be combined with ``sources``, e.g. an old run for some ids and static features for others.

    ---
    name: Backfill
    """

    #: shape: ``(max_id,)``; the virtual row serving each global id (bases first, then the backfill)
    position: torch.Tensor

    #: shape: ``(max_id,)``; the global id served by each virtual row
    order: torch.Tensor

    #: Representation's own heuristic would pick ``unique=True``; a lookup through a precomputed index is as cheap as
    #: the ``unique`` call it would save
    default_unique: ClassVar[bool] = False

    #: the PyKEEN built-in whose resolver key this class takes over; it accepts everything the built-in accepts
    supersedes: ClassVar[type[Representation]] = pykeen_representation.BackfillRepresentation

    @update_docstring_with_resolver_keys(
        ResolverKey(name="base", resolver="pykeen.nn.representation_resolver"),
        ResolverKey(name="backfill", resolver="pykeen.nn.representation_resolver"),
    )
    def __init__(
        self,
        max_id: int,
        base_ids: IdsLike | None = None,
        base: HintOrType[Representation] = None,
        base_kwargs: OptionalKwargs = None,
        backfill: HintOrType[Representation] = None,
        backfill_kwargs: OptionalKwargs = None,
        *,
        sources: Sequence[BaseSource | Mapping[str, Any]] | None = None,
        pretrained: Any = None,
        labels: Any = None,
        target: str = "entity",
        index: int = 0,
        trainable: bool = False,
        allow_pickle: bool = False,
        **kwargs: Any,
    ) -> None:
        """Initialize the representation.

        :param max_id:
            The total number of ids that need to be represented.
        :param base_ids:
            The global ids served by the base, in the order of the base's rows: ``base_ids[i]`` is served by row ``i``.
            Any iterable of integers: a list, a range, a generator, a numpy array or a ``LongTensor``.
        :param base:
            The base representation, or a hint thereof. A hint is instantiated with ``max_id=len(base_ids)``, the
            model's ``shape`` unless ``base_kwargs`` gives one, and the model's initializer and constrainer unless
            ``base_kwargs`` fixes the values (with an ``initializer`` or ``trainable=False``). A given instance is
            kept as it is; in particular, a model's ``reset_parameters`` does not re-initialise it.
        :param base_kwargs:
            Keyword-based parameters to instantiate the base representation.
        :param backfill:
            The backfill representation, or a hint thereof. A hint is instantiated with ``max_id`` equal to the
            number of ids not served by a base, the base's shape, and the model's initializer, constrainer and dtype.
            A given instance must have exactly that ``max_id`` and shape.
        :param backfill_kwargs:
            Keyword-based parameters to instantiate the backfill representation.
        :param sources:
            Instead of ``base_ids``, ``base`` and ``base_kwargs``: several bases, each a :class:`BaseSource` or a
            mapping with the keys ``ids``, ``base`` and ``base_kwargs``. The ids of different sources must not overlap.
        :param pretrained:
            Instead of ids: vectors learned earlier, matched to the new ids by label (a warm start, see
            :mod:`pykeen_backfill.warm_start`). A run directory, an export directory, a tensor file with its labels,
            a :class:`~pykeen.pipeline.PipelineResult`, or a list of such sources (the first that has a label serves
            it), each also as a :class:`~pykeen_backfill.pretrained.PretrainedSource` or a mapping of its fields.
        :param labels:
            With ``pretrained``: the new id space, i.e. a dataset name such as ``"nations"``, the path of a saved
            triples factory or training triples file, a triples factory, or a mapping from label to id.
        :param target:
            With ``pretrained``: ``"entity"`` or ``"relation"``.
        :param index:
            With ``pretrained``: which of several representations per entity (or relation) of the earlier model to
            reuse, e.g. ``0`` for TransD's entity vectors and ``1`` for its entity projections.
        :param trainable:
            With ``pretrained``: whether the reused rows are fine-tuned; by default they are frozen.
        :param allow_pickle:
            With ``pretrained``: whether a run's ``trained_model.pkl`` may be unpickled, which can run arbitrary code.
            Only pass ``True`` for runs you trust; ``pykeen-backfill export`` converts a run into a safe format.
        :param kwargs:
            Additional keyword-based parameters. ``normalizer``, ``regularizer``, ``dropout`` and ``unique`` (and
            their ``*_kwargs``) are passed to :class:`~pykeen.nn.representation.Representation` and apply to the
            composed output; ``unique`` defaults to ``False``. ``shape`` (or ``embedding_dim``) must agree with the
            base's shape. ``initializer``, ``constrainer``, ``dtype`` (and their ``*_kwargs``), as injected by
            models, are used for parts built here, see :mod:`pykeen_backfill.injected`.

        :raises InvalidIdsError:
            If ids are negative, out of range, repeated, or claimed by two sources, or ``max_id`` is not positive.
        :raises IdTypeError:
            If ids are not integers.
        :raises ShapeMismatchError:
            If the base, the backfill and ``shape`` disagree, or a base does not have one row per id.
        :raises UnknownKeywordError:
            If a keyword argument has no destination.
        """
        sources = _warm_start_sources(
            pretrained,
            labels,
            max_id=max_id,
            options=dict(target=target, index=index, trainable=trainable, allow_pickle=allow_pickle),
            model_kwargs=kwargs,
            others=dict(base_ids=base_ids, base=base, base_kwargs=base_kwargs, sources=sources),
        )
        injected = split_kwargs(kwargs)
        specs = _collect_sources(base_ids, base, base_kwargs, sources)
        groups = [as_id_tensor(spec.ids, name=name) for spec, name in specs]
        layout = IdLayout.build(max_id, groups, names=[name for _, name in specs])
        defaults = dict(injected.build)
        if injected.shape is not None:
            defaults["shape"] = injected.shape
        bases = [
            _make_base(spec, len(ids), defaults, name=name) for (spec, name), ids in zip(specs, groups, strict=True)
        ]
        shape = _common_shape(bases, requested=injected.shape)
        backfill_module = _make_backfill(backfill, backfill_kwargs, layout.num_backfill, shape, injected.build)

        output_kwargs = dict(injected.output)
        output_kwargs.setdefault("unique", self.default_unique)
        super().__init__(max_id=layout.max_id, shape=shape, **output_kwargs)

        self.bases = nn.ModuleList(bases)
        self.backfill = backfill_module
        self.register_buffer("position", layout.position)
        self.register_buffer("order", layout.order)
        # one offset per part plus the end; an absent backfill has no part
        self._offsets: tuple[int, ...] = layout.offsets[: len(bases) + 1 + (backfill_module is not None)]
        # without a backfill part (the bases serve every id) the last hint has no partner
        hints = [spec.base for spec, _ in specs] + [backfill]
        for part, hint in zip(self._parts(), hints, strict=False):
            if isinstance(hint, Representation):
                if _initialised_from_pretrained(part):
                    # PyKEEN embeddings are filled by the model's reset, which a kept part no longer gets; with a
                    # pre-trained initializer, filling it now is what that reset would have done
                    part.reset_parameters()
                _keep_parameters(part)

    @classmethod
    def from_pretrained(
        cls,
        pretrained: Any,
        triples_factory: Any,
        *,
        target: str = "entity",
        trainable: bool = False,
        allow_pickle: bool = False,
        backfill: HintOrType[Representation] = None,
        backfill_kwargs: OptionalKwargs = None,
        **kwargs: Any,
    ) -> BackfillRepresentation:
        """Reuse vectors learned earlier for the labels the new graph still has, and backfill the others.

        Rows are matched by label, whatever the order of the ids on either side; labels only the earlier run has
        are dropped. See :mod:`pykeen_backfill.warm_start`.

        :param pretrained:
            A run directory, an export directory, a tensor file with its labels, a
            :class:`~pykeen.pipeline.PipelineResult`, or a list of such sources, see the parameter of the same name
            of :meth:`__init__`.
        :param triples_factory:
            The triples factory of the new graph; it gives the new ids and ``max_id``.
        :param target:
            ``"entity"`` or ``"relation"``.
        :param trainable:
            Whether the reused rows are fine-tuned; by default they are frozen.
        :param allow_pickle:
            Whether a run's ``trained_model.pkl`` may be unpickled. Only pass ``True`` for runs you trust.
        :param backfill:
            The backfill representation, or a hint thereof.
        :param backfill_kwargs:
            Keyword-based parameters to instantiate the backfill representation.
        :param kwargs:
            Further keyword-based parameters of :meth:`__init__`, e.g. ``index`` or ``shape``.

        :return:
            The representation, with one base per source that serves at least one id.
        """
        from .warm_start import max_id_for

        return cls(
            max_id=max_id_for(triples_factory, target),
            backfill=backfill,
            backfill_kwargs=backfill_kwargs,
            pretrained=pretrained,
            labels=triples_factory,
            target=target,
            trainable=trainable,
            allow_pickle=allow_pickle,
            **kwargs,
        )

    @property
    def base(self) -> Representation:
        """Return the (first) base representation."""
        return self.bases[0]

    @property
    def num_base_ids(self) -> int:
        """Return the number of ids served by the bases."""
        return self._offsets[len(self.bases)]

    @property
    def base_ids(self) -> torch.Tensor:
        """Return the global ids served by the bases, in the order of their rows."""
        return self.order[: self.num_base_ids].long()

    @property
    def backfill_ids(self) -> torch.Tensor:
        """Return the global ids served by the backfill, in increasing order."""
        return self.order[self.num_base_ids :].long()

    def _parts(self) -> list[Representation]:
        parts = list(self.bases)
        if self.backfill is not None:
            parts.append(self.backfill)
        return parts

    def _spans(self) -> Iterator[tuple[Representation, int, int]]:
        """Yield each part with its first and last-plus-one virtual row."""
        return zip(self._parts(), self._offsets[:-1], self._offsets[1:], strict=True)

    def iter_extra_repr(self) -> Iterable[str]:
        """Iterate over components for :meth:`extra_repr`."""
        yield from super().iter_extra_repr()
        yield f"num_base_ids={self.num_base_ids}"
        yield f"num_backfill_ids={self.max_id - self.num_base_ids}"

    def extra_repr(self) -> str:
        """Describe the composition in ``print()``; :class:`torch.nn.Module` would otherwise shadow the mixin."""
        return ", ".join(self.iter_extra_repr())

    # docstr-coverage: inherited
    def _plain_forward(self, indices: torch.Tensor | None = None) -> torch.Tensor:
        if indices is None:
            return self._all_rows()
        indices = self._checked(indices)
        rows = self._rows(indices)
        if self._avoids_sync(rows):
            x = self._gather_sync_free(rows)
        else:
            x = self._gather_exact(rows)
        return x.view(*indices.shape, *x.shape[1:])

    def _checked(self, indices: torch.Tensor) -> torch.Tensor:
        """Refuse indices that are not integers or not in ``[0, max_id)``; a negative id would silently wrap.

        On the CPU the range is checked by the lookup itself, see :meth:`_rows`.
        """
        if not isinstance(indices, torch.Tensor) or indices.dtype not in _INDEX_DTYPES:
            indices = _as_index_tensor(indices)
        indices = indices.to(self.position.device)
        if indices.device.type == "cpu" or indices.is_meta or indices.numel() == 0:
            # nothing to check here: no ids, no values (meta, when only shapes are inferred), or see _rows
            return indices
        if indices.is_cuda:
            # a device-side assertion keeps the host from waiting for the GPU
            torch._assert_async(
                (indices >= 0).all() & (indices < self.max_id).all(),
                f"indices must lie in [0, max_id={self.max_id})",
            )
            return indices
        low, high = torch.aminmax(indices)
        if low < 0 or high >= self.max_id:
            raise self._out_of_range(indices)
        return indices

    def _rows(self, indices: torch.Tensor) -> torch.Tensor:
        """Return the virtual row of each id, flattened.

        A one-dimensional ``index_select`` is several times faster than the equivalent advanced indexing, and on the
        CPU it refuses ids outside ``[0, max_id)`` itself, unlike indexing, which wraps negative ids around: that
        makes the range check free.
        """
        flat = indices.reshape(-1)
        try:
            rows = self.position.index_select(0, flat)
        except IndexError:
            raise self._out_of_range(flat) from None
        return rows.long()

    def _out_of_range(self, indices: torch.Tensor) -> IdOutOfRangeError:
        bad = indices[(indices < 0) | (indices >= self.max_id)].unique()
        more = f" ... ({bad.numel():,} distinct)" if bad.numel() > 5 else ""
        return IdOutOfRangeError(f"indices must lie in [0, max_id={self.max_id}), but got {bad[:5].tolist()}{more}")

    def _avoids_sync(self, rows: torch.Tensor) -> bool:
        """Whether to look rows up without host-device synchronisation: on an accelerator, where the parts allow it."""
        return rows.device.type != "cpu" and self._parts_are_pure_lookups()

    def _parts_are_pure_lookups(self) -> bool:
        """Whether every part may be asked for rows it does not serve, without side effects."""
        return all(part.regularizer is None and part.dropout is None for part in self._parts())

    def _gather_exact(self, rows: torch.Tensor) -> torch.Tensor:
        """Ask each part for exactly the rows it serves, and put the results in place.

        Where a part is a plain embedding, the largest such part (the *lead*) answers every row of the batch, straight
        into the output in batch order: a row of another part is clamped to one of the lead's own rows, which stays in
        cache, and is then overwritten. Only the other parts' shares of the batch are copied a second time, instead of
        the whole batch.
        """
        spans = list(self._spans())
        lead = _lead(spans)
        if lead is None:
            pieces = [self._served_rows(rows, *span) for span in spans]
            return _scatter(pieces, num_rows=rows.numel(), device=rows.device)
        part, start, stop = spans[lead]
        out = part(indices=(rows - start).clamp_(0, stop - start - 1))
        for index, span in enumerate(spans):
            if index != lead:
                out = _place(out, *self._served_rows(rows, *span))
        return out

    def _served_rows(
        self, rows: torch.Tensor, part: Representation, start: int, stop: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the batch positions whose rows one part serves, and that part's answer for exactly those rows."""
        selection = _between(rows, start, stop, last=stop == self.max_id).nonzero().squeeze(1)
        return selection, part(indices=rows.index_select(0, selection) - start)

    def _gather_sync_free(self, rows: torch.Tensor) -> torch.Tensor:
        """Ask each part for a row per index (clamped into range) and select; needs no host-device synchronisation.

        Nothing here depends on values on the host: no boolean-mask indexing (which calls ``nonzero``), no ``.item()``,
        no data-dependent shapes.
        """
        result: torch.Tensor | None = None
        for part, start, stop in self._spans():
            x = part(indices=(rows - start).clamp(0, stop - start - 1))
            if result is None:
                result = x
            else:
                # later parts serve higher virtual rows, so each overrides what the earlier ones answered
                keep = (rows >= start).view(-1, *(1,) * (x.ndim - 1))
                result = torch.where(keep, x, result)
        assert result is not None
        return result

    def _all_rows(self) -> torch.Tensor:
        """Assemble the whole table: each part's rows are copied once, straight to the positions of their ids."""
        pieces = [(self.order[start:stop], part(indices=None)) for part, start, stop in self._spans()]
        return _scatter(pieces, num_rows=self.max_id, device=self.order.device)


#: index dtypes that ``forward`` looks up as they are
_INDEX_DTYPES = frozenset({torch.long, torch.int32})


def _as_index_tensor(indices: Any) -> torch.Tensor:
    """Convert indices of another integer dtype to ``torch.long``; refuse anything else."""
    if not isinstance(indices, torch.Tensor):
        raise IdTypeError(f"indices must be a tensor of integer ids or None, but got {type(indices).__name__}")
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        # a float index would be truncated, a bool one read as a mask
        raise IdTypeError(f"indices must be an integer tensor, but got dtype {indices.dtype}")
    # torch would read a uint8 tensor as a mask, and refuses int8 and int16 as indices
    return indices.long()


def _between(rows: torch.Tensor, start: int, stop: int, *, last: bool) -> torch.Tensor:
    if start == 0:
        return rows < stop
    if last:
        return rows >= start
    return (rows >= start) & (rows < stop)


def _is_plain_lookup(part: Representation) -> bool:
    """Whether asking the part for any rows costs a row copy each, with no side effects, into a fresh tensor."""
    return (
        isinstance(part, pykeen_representation.Embedding)
        and type(part).forward is Representation.forward
        and type(part)._plain_forward is pykeen_representation.Embedding._plain_forward
        and part.normalizer is None
        and part.regularizer is None
        and part.dropout is None
    )


def _lead(spans: Sequence[tuple[Representation, int, int]]) -> int | None:
    """Pick the part that answers every row of a batch: the largest plain embedding; among equals, a frozen one.

    A frozen lead also keeps the backward pass exact: the rows it answered only to be overwritten get no gradient.
    """
    candidates = [
        # a plain embedding's only parameter is its weight; asking for it directly saves walking the module tree
        (stop - start, not part._embeddings.weight.requires_grad, index)
        for index, (part, start, stop) in enumerate(spans)
        if _is_plain_lookup(part)
    ]
    return max(candidates)[2] if candidates else None


def _place(out: torch.Tensor, target: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Copy the rows of ``x`` to the rows ``target`` of ``out``, promoting ``out`` if ``x`` needs a wider dtype."""
    dtype = torch.promote_types(out.dtype, x.dtype)
    if dtype != out.dtype:
        out = out.to(dtype)
    return out.index_copy_(0, target, x.to(dtype))


def _run_start(target: torch.Tensor) -> int | None:
    """Return the first id if ``target`` holds consecutive increasing ids, else ``None``; decided on the CPU only."""
    if target.device.type != "cpu" or target.numel() < 2:
        return None
    first, last = int(target[0]), int(target[-1])
    # the ids of a part are distinct, so the ends rule out almost every layout that is not one run
    if last - first != target.numel() - 1 or not bool((target[1:] - target[:-1] == 1).all()):
        return None
    return first


def _scatter(
    pieces: Sequence[tuple[torch.Tensor, torch.Tensor]], *, num_rows: int, device: torch.device
) -> torch.Tensor:
    """Place each piece's rows at its target positions of one output tensor."""
    dtype = functools.reduce(torch.promote_types, (x.dtype for _, x in pieces))
    out = torch.empty((num_rows, *pieces[0][1].shape[1:]), dtype=dtype, device=device)
    for target, x in pieces:
        start = _run_start(target)
        if start is None:
            out.index_copy_(0, target.long(), x.to(dtype))
        else:
            # a run of consecutive ids is one sequential copy, about twice as fast as a row-by-row scatter
            out.narrow(0, start, target.numel()).copy_(x)
    return out


#: the options of a warm start when none is asked for
_NO_WARM_START = dict(target="entity", index=0, trainable=False, allow_pickle=False)


def _warm_start_sources(
    pretrained: Any,
    labels: Any,
    *,
    options: Mapping[str, Any],
    others: Mapping[str, Any],
    **kwargs: Any,
) -> Sequence[BaseSource | Mapping[str, Any]] | None:
    """Return the given ``sources``, or build the bases of a warm start (importing its module only then)."""
    if pretrained is None:
        # an option of a warm start without one would be silently ignored
        given = sorted(key for key, value in options.items() if value != _NO_WARM_START[key])
        given += ["labels"] if labels is not None else []
        if given:
            raise TypeError(f"{given} only apply to a warm start: pass pretrained=... too")
        return others["sources"]
    from .warm_start import pretrained_sources

    return pretrained_sources(pretrained, labels, **options, others=others, **kwargs)


def _collect_sources(
    base_ids: IdsLike | None,
    base: HintOrType[Representation],
    base_kwargs: OptionalKwargs,
    sources: Sequence[BaseSource | Mapping[str, Any]] | None,
) -> list[tuple[BaseSource, str]]:
    """Return each base source with the parameter name that error messages use for its ids."""
    if sources is None:
        if base_ids is None:
            raise TypeError("BackfillRepresentation needs base_ids (or sources for several bases)")
        return [(BaseSource(ids=base_ids, base=base, base_kwargs=base_kwargs), "base_ids")]
    if base_ids is not None or base is not None or base_kwargs is not None:
        raise TypeError("pass either sources, or base_ids with base and base_kwargs, but not both")
    if isinstance(sources, (str, bytes, Mapping)) or not sources:
        raise TypeError(f"sources must be a non-empty sequence of sources, but got {sources!r}")
    return [(BaseSource.coerce(source), f"sources[{i}].ids") for i, source in enumerate(sources)]


def _make_base(spec: BaseSource, num_ids: int, defaults: Mapping[str, Any], *, name: str) -> Representation:
    if num_ids == 0:
        raise InvalidIdsError(f"{name} is empty: a base must serve at least one id")
    # "base_ids" -> "base", "sources[1].ids" -> "sources[1].base"
    part_name = "base" if name == "base_ids" else name.removesuffix("ids") + "base"
    own = as_kwargs(spec.base_kwargs, name=f"{part_name}_kwargs")
    if isinstance(spec.base, Representation):
        _refuse_kwargs_for_instance(own, name=part_name)
        base = spec.base
    else:
        if "embedding_dim" in own:
            # the model's shape must not collide with the user's spelling of the same thing
            defaults = {key: value for key, value in defaults.items() if key != "shape"}
        kwargs = kwargs_for_part(spec.base, own, defaults, keeps_values=chooses_values(own))
        if "shape" not in kwargs and "embedding_dim" not in kwargs:
            raise ShapeMismatchError(
                f"the base built from {spec.base!r} needs a shape: pass shape=... or base_kwargs={{'shape': ...}}",
            )
        base = build_part(spec.base, kwargs, name=part_name, max_id=num_ids)
        if chooses_values(own):
            _settle(base)
    if base.max_id != num_ids:
        raise ShapeMismatchError(f"the base has max_id={base.max_id}, but {name} lists {num_ids} ids")
    return base


def _settle(part: Representation) -> None:
    """Initialise a part whose values the user chose, once, and keep them through a model's later resets.

    A model resets every sub-module, including the :class:`torch.nn.Embedding` inside a PyKEEN embedding, whose own
    reset overwrites its weight in place with random values. After a first initialisation from a
    :class:`~pykeen.nn.init.PretrainedInitializer` that weight *is* the pre-trained tensor, so the second reset (a
    training loop resets the model before it starts) would silently replace the pre-trained vectors, and the caller's
    tensor, by noise.
    """
    part.reset_parameters()
    _keep_parameters(part)


def _refuse_kwargs_for_instance(kwargs: Mapping[str, Any], *, name: str) -> None:
    # a given instance is used as it is, so its keyword arguments would be silently ignored
    if kwargs:
        raise InvalidPartError(
            f"{name}_kwargs={kwargs!r} cannot apply to the given {name} instance; configure the instance itself, "
            f"or pass a hint such as {name}='embedding' to build it from {name}_kwargs",
        )


def _common_shape(bases: Sequence[Representation], *, requested: tuple[int, ...] | None) -> tuple[int, ...]:
    shapes = [tuple(base.shape) for base in bases]
    if len(set(shapes)) != 1:
        raise ShapeMismatchError(f"the bases have different shapes: {shapes}")
    shape = shapes[0]
    if requested is not None and requested != shape:
        raise ShapeMismatchError(f"shape={requested} was requested, but the base has shape {shape}")
    return shape


def _make_backfill(
    backfill: HintOrType[Representation],
    backfill_kwargs: OptionalKwargs,
    num_ids: int,
    shape: tuple[int, ...],
    defaults: Mapping[str, Any],
) -> Representation | None:
    own = as_kwargs(backfill_kwargs, name="backfill_kwargs")
    if num_ids == 0:
        if backfill is not None or own:
            raise ShapeMismatchError("the bases serve every id, so there is nothing for the given backfill to serve")
        logger.info("the bases serve every id; no backfill is created")
        return None
    if isinstance(backfill, Representation):
        _refuse_kwargs_for_instance(own, name="backfill")
        module = backfill
    else:
        given = [own.pop(key) for key in ("shape", "embedding_dim") if key in own]
        if given and tuple(numpy.atleast_1d(given[0]).tolist()) != shape:
            raise ShapeMismatchError(f"backfill_kwargs asks for shape {given[0]!r}, but the base has shape {shape}")
        kwargs = kwargs_for_part(backfill, own, defaults)
        module = build_part(backfill, kwargs, name="backfill", max_id=num_ids, shape=shape)
        if chooses_values(own):
            _settle(module)
    if module.max_id != num_ids:
        raise ShapeMismatchError(f"the backfill has max_id={module.max_id}, but {num_ids} ids are left to backfill")
    if tuple(module.shape) != shape:
        raise ShapeMismatchError(f"the backfill has shape {tuple(module.shape)}, but the base has shape {shape}")
    return module


# keep last: importing this module may have imported pykeen.nn, whose plugin registration waits for the class above
register_deferred()
