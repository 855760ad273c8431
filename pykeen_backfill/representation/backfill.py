"""A representation that serves known ids from a base and every other id from a trainable backfill."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import torch
from class_resolver import HintOrType, OptionalKwargs, ResolverKey, update_docstring_with_resolver_keys
from docdata import parse_docdata
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import Representation
from torch import nn

from .keep import Values, declared_values, restore
from .kwargs import split_kwargs
from .layout import IdLayout, as_id_tensor, checked_indices, rows_of
from .neighbours import seed_backfill
from .parts import common_shape, make_backfill, make_base
from .sources import BaseSource, IdsLike, collect_sources, id_space_of, warm_start_sources

__all__ = [
    "BackfillRepresentation",
]


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
        id_space: Any = None,
        target: str = "entity",
        index: int = 0,
        trainable: bool = False,
        allow_pickle: bool = False,
        backfill_init: str | None = None,
        triples: Any = None,
        labels: Any = None,
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
        :param id_space:
            With ``pretrained``: the new id space, i.e. a dataset name such as ``"nations"``, the path of a saved
            triples factory or training triples file, a triples factory, or a mapping from label to id.
        :param target:
            With ``pretrained`` or ``backfill_init``: ``"entity"`` or ``"relation"``.
        :param index:
            With ``pretrained``: which of several representations per entity (or relation) of the earlier model to
            reuse, e.g. ``0`` for TransD's entity vectors and ``1`` for its entity projections.
        :param trainable:
            With ``pretrained``: whether the reused rows are fine-tuned; by default they are frozen.
        :param allow_pickle:
            With ``pretrained``: whether a run's ``trained_model.pkl`` may be unpickled, which can run arbitrary code.
            Only pass ``True`` for runs you trust; ``pykeen-backfill export`` converts a run into a safe format.
        :param backfill_init:
            ``"neighbours"``: start each backfilled row at the mean of the vectors of its known neighbours in
            ``triples`` (the model's initializer where it has none), see :mod:`.neighbours`; ``None``: the model's
            initializer.
        :param triples:
            With ``backfill_init``: the training triples of the new graph, e.g. a dataset name or a triples factory.
        :param labels:
            Deprecated name of ``id_space``; it works the same, with a :class:`DeprecationWarning`.
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
        :raises OptionTypeError:
            If both ``id_space`` and its deprecated name ``labels`` are given.
        """
        # target also tells a neighbour start whether the ids are entities or relations
        warm_target = "entity" if pretrained is None and backfill_init is not None else target
        sources = warm_start_sources(
            pretrained,
            id_space_of(id_space, labels),
            options=dict(target=warm_target, index=index, trainable=trainable, allow_pickle=allow_pickle),
            others=dict(base_ids=base_ids, base=base, base_kwargs=base_kwargs, sources=sources),
            max_id=max_id,
            model_kwargs=kwargs,
        )
        injected = split_kwargs(kwargs)
        specs = collect_sources(base_ids, base, base_kwargs, sources)
        groups = [as_id_tensor(spec.ids, name=name) for spec, name in specs]
        layout = IdLayout.build(max_id, groups, names=[name for _, name in specs])
        defaults = dict(injected.build)
        if injected.shape is not None:
            defaults["shape"] = injected.shape
        bases = [
            make_base(spec, len(ids), defaults, name=name) for (spec, name), ids in zip(specs, groups, strict=True)
        ]
        shape = common_shape([part.module for part in bases], requested=injected.shape)
        backfill_part = make_backfill(
            backfill, backfill_kwargs, layout.num_backfill, shape, injected.build, [part.module for part in bases]
        )
        backfill_part = seed_backfill(
            backfill_part,
            [part.module for part in bases],
            layout.order,
            kind=backfill_init,
            triples=triples,
            target=target,
        )
        parts = [*bases, *([backfill_part] if backfill_part is not None else [])]

        output_kwargs = dict(injected.output)
        output_kwargs.setdefault("unique", self.default_unique)
        super().__init__(max_id=layout.max_id, shape=shape, **output_kwargs)

        self.bases = nn.ModuleList(part.module for part in bases)
        self.backfill = None if backfill_part is None else backfill_part.module
        self.register_buffer("position", layout.position)
        self.register_buffer("order", layout.order)
        # one offset per part plus the end; an absent backfill has no part
        self._offsets: tuple[int, ...] = layout.offsets[: len(parts) + 1]
        self._kept: list[Values | None] = [part.kept for part in parts]

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
        from ..warm_start.space import max_id_for

        return cls(
            max_id=max_id_for(triples_factory, target),
            backfill=backfill,
            backfill_kwargs=backfill_kwargs,
            pretrained=pretrained,
            id_space=triples_factory,
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

    def _spans(self) -> list[tuple[Representation, int, int]]:
        """Return each part with its first and last-plus-one virtual row."""
        return list(zip(self._parts(), self._offsets[:-1], self._offsets[1:], strict=True))

    def iter_extra_repr(self) -> Iterable[str]:
        """Iterate over components for :meth:`extra_repr`."""
        yield from super().iter_extra_repr()
        yield f"num_base_ids={self.num_base_ids}"
        yield f"num_backfill_ids={self.max_id - self.num_base_ids}"

    def extra_repr(self) -> str:
        """Describe the composition in ``print()``; :class:`torch.nn.Module` would otherwise shadow the mixin."""
        return ", ".join(self.iter_extra_repr())

    def reset_parameters(self) -> None:
        """Give the parts that keep their values (given instances, chosen values) those values back.

        A model resets every sub-module deepest first, so this runs after the parts' own resets. Parts built here
        from a hint are initialised by their own ``reset_parameters``, as in any PyKEEN model.
        """
        for part, kept in zip(self._parts(), self._kept, strict=True):
            if kept is not None:
                restore(part, kept)

    def release_backfill(self) -> None:
        """Let the backfill's own initializer give its values at every reset, instead of values recorded earlier."""
        if self.backfill is not None:
            self._kept[-1] = None

    def __getstate__(self) -> dict[str, Any]:
        # the recorded values are a copy of the parts' own: a pickle need not hold them twice
        state = dict(self.__dict__)
        state["_kept"] = [kept is not None for kept in self._kept]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # after loading, a part keeps the values it was saved with
        parts = zip(self._parts(), self._kept, strict=True)
        self._kept = [declared_values(part) if keeps else None for part, keeps in parts]

    def forward(self, indices: torch.Tensor | None = None) -> torch.Tensor:
        """Get representations for indices; ``None`` stands for all ids, see :meth:`Representation.forward`.

        :raises IdTypeError:
            If the indices are not a tensor of integers.
        :raises IdOutOfRangeError:
            If an index lies outside ``[0, max_id)``.
        :raises InvalidIdsError:
            If the indices are on the meta device but the representation is not.
        """
        return super().forward(None if indices is None else checked_indices(indices, self.position))

    # docstr-coverage: inherited
    def _plain_forward(self, indices: torch.Tensor | None = None) -> torch.Tensor:
        if indices is None:
            # all rows by id through the same path, as the built-in does: asked for ``None``, a PyKEEN Embedding
            # returns its inner module's weight without calling that module, so pruning and hook-based weight norm
            # would serve the values of the part's latest lookup, not its current ones
            indices = torch.arange(self.max_id, device=self.position.device)
        # long, as PyKEEN's Representation.forward declares its indices
        rows = rows_of(self.position, indices).long()
        # each part is called as a module, so whatever the user attached to it (hooks, pruning, parametrizations,
        # normalizers, dropout, regularizers) applies as when the user calls it
        if self._reads_exactly(rows):
            selections, xs = [], []
            for part, start, stop in self._spans():
                selections.append(self._serves(rows, start, stop).nonzero().squeeze(1))
                local = rows.index_select(0, selections[-1])
                xs.append(part(indices=local - start if start else local))
            # the answers in the order of the parts, put back in the order of the batch
            batch = torch.arange(rows.shape[0], device=rows.device)
            inverse = torch.empty_like(batch).index_copy_(0, torch.cat(selections), batch)
            x = torch.cat(xs).index_select(0, inverse)
        else:
            # a row per id from every part (clamped into its rows), later parts overriding earlier ones: nothing here
            # depends on values on the host, so an accelerator need not wait and torch.compile needs no graph break
            x = None
            for part, start, stop in self._spans():
                y = part(indices=(rows - start).clamp(0, stop - start - 1))
                x = y if x is None else torch.where((rows >= start).view(-1, *(1,) * (y.dim() - 1)), y, x)
        return x.view(*indices.shape, *x.shape[1:])

    def _serves(self, rows: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Return which virtual rows lie in ``[start, stop)``, with one comparison where a bound is an end."""
        if start == 0:
            return rows < stop
        if stop == self.max_id:
            return rows >= start
        return (rows >= start) & (rows < stop)

    def _reads_exactly(self, rows: torch.Tensor) -> bool:
        """Whether to ask each part for exactly the rows it serves, as PyKEEN's built-in does.

        On the CPU, always. On an accelerator and under ``torch.compile`` that costs a host-device synchronisation
        (the number of rows per part) or a graph break; there, parts that answer every row alike, i.e. without a
        regularizer or dropout of their own, are asked for a row per id instead, and the surplus rows dropped.
        """
        if rows.device.type == "cpu" and not torch.compiler.is_compiling():
            return True
        return any(part.regularizer is not None or part.dropout is not None for part in self._parts())
