"""A lookup decided once: when every part is a plain embedding, what a batch needs is known before the batch comes.

:func:`~.lookup.gather_exact` asks, on every call, which parts are plain embeddings, which one leads, how rows are
read and how they are copied into place. Those answers only change when a part or its weight does, so a
:class:`PlainLookup` takes them once and checks, on every call, only that what it took them from is still there: a
handful of identity comparisons instead of dozens of attribute lookups. At a few hundred ids per batch, that Python
work was a third of a lookup's time.

It covers the CPU, eager code, plain parts of one real dtype and one-dimensional shape; everything else takes the
general path, which computes the same tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pykeen.nn.representation import Representation

from .lookup import lead, out_of_range, plain_weight, read_weight
from .memory import word_type

__all__ = [
    "PlainLookup",
]

#: options of torch's Embedding that a plain lookup ignores, with the values that make ignoring them right
_EMBEDDING_DEFAULTS = (("padding_idx", None), ("max_norm", None), ("scale_grad_by_freq", False), ("sparse", False))


class _Part:
    """One part of the plan: where its rows lie and what it was taken from."""

    __slots__ = ("embedding", "last", "modules", "part", "start", "stop", "trainable", "weight")

    def __init__(self, part: Representation, weight: torch.Tensor, start: int, stop: int, last: bool) -> None:
        self.part, self.weight, self.start, self.stop, self.last = part, weight, start, stop, last
        self.embedding = part._modules["_embeddings"]
        self.modules = len(part._modules)
        self.trainable = weight.requires_grad

    def current(self) -> bool:
        """Whether the part still looks rows up exactly as when the plan was made."""
        part, embedding = self.part, self.embedding
        state = part.__dict__
        return (
            part._modules.get("_embeddings") is embedding
            and embedding._parameters.get("weight") is self.weight
            and self.weight.requires_grad is self.trainable
            # a normalizer, regularizer or dropout assigned later would add a sub-module
            and len(part._modules) == self.modules
            and not state.get("unique")
            and state.get("normalizer") is None
            and state.get("regularizer") is None
            and state.get("dropout") is None
            and all(embedding.__dict__.get(name) == value for name, value in _EMBEDDING_DEFAULTS)
        )

    def read(self, rows: torch.Tensor) -> torch.Tensor:
        """Return the part's rows ``rows``, as :func:`~.lookup.read` does for a plain part of this shape."""
        return read_weight(self.weight, rows)


class PlainLookup:
    """The lookup of a representation whose parts are all plain embeddings of one real dtype, decided once.

    Besides the decisions, it keeps two vectors derived from the index, five or six bytes per id, on the CPU and never
    saved: each id's row within its own part, and which part serves it. The largest part leads, so every id's own row
    is also a row of the lead, and the lead reads the whole batch without a clamp; the others read their share without
    an offset.
    """

    def __init__(self, position: torch.Tensor, order: torch.Tensor, parts: Sequence[_Part], lead_index: int) -> None:
        self.position, self.max_id = position, position.shape[0]
        self.lead = parts[lead_index]
        self.others = [part for index, part in enumerate(parts) if index != lead_index]
        self.parts = list(parts)
        row_bytes = self.lead.weight.shape[1] * self.lead.weight.element_size()
        # fresh outputs of the allocator are aligned for any of these types
        self.words = word_type(row_bytes, self.lead.weight.element_size())
        # on a GPU, ids are looked up with gather, whose device-side check covers every int64 id
        self.sync_free = position.is_cuda
        self.local = torch.empty_like(position)
        # one other part: a mask is the owner itself; more: the owner's number, compared per part
        dtype = torch.bool if len(parts) == 2 else torch.int16
        self.owner = torch.zeros(self.max_id, dtype=dtype, device=position.device)
        for number, part in enumerate(self.others, start=1):
            ids = order[part.start : part.stop].long()
            self.owner.index_fill_(0, ids, True if dtype == torch.bool else number)
        for part in self.parts:
            ids = order[part.start : part.stop].long()
            rows = torch.arange(part.stop - part.start, dtype=position.dtype, device=position.device)
            self.local.index_copy_(0, ids, rows)

    @classmethod
    def build(cls, rep: Any) -> PlainLookup | None:
        """Return the plan for a representation, or ``None`` where its lookups need the general path."""
        spans = rep._span_list
        weights = [plain_weight(part) for part, _, _ in spans]
        position, order = rep._buffers.get("position"), rep._buffers.get("order")
        if position is None or order is None or position.device.type not in ("cpu", "cuda") or None in weights:
            return None
        if position.is_cuda and not rep._parts_are_pure_lookups():
            return None
        if len({(weight.dtype, weight.device) for weight in weights}) != 1 or weights[0].is_complex():
            return None
        if any(len(part._shape) != 1 or part.is_complex for part, _, _ in spans) or len(spans) > 2**15:
            return None
        parts = [
            _Part(part, weight, start, stop, last=stop == rep.max_id)
            for (part, start, stop), weight in zip(spans, weights, strict=True)
        ]
        chosen = lead(spans, weights)
        assert chosen is not None
        return cls(position, order, parts, chosen)

    def current(self, rep: Any) -> bool:
        """Whether the plan still holds for ``rep``: the same index buffer, the same parts, as they were."""
        return rep._buffers.get("position") is self.position and all(part.current() for part in self.parts)

    def __call__(self, indices: torch.Tensor) -> torch.Tensor:
        """Look up one-dimensional indices of dtype ``long`` or ``int32``, on the device of the index."""
        if self.sync_free:
            return self._sync_free(indices.long())
        try:
            # index_select refuses ids out of range (indexing would wrap negative ones around)
            local = self.local.index_select(0, indices)
        except IndexError:
            raise out_of_range(indices, self.max_id) from None
        out = self.lead.read(local)
        if not self.others:
            return out
        owner = self.owner.index_select(0, indices)
        for number, part in enumerate(self.others, start=1):
            mask = owner if owner.dtype == torch.bool else owner == number
            selection = mask.nonzero().squeeze_(1)
            x = part.read(local.index_select(0, selection))
            if self.words is None or out.requires_grad or x.requires_grad:
                out = out.index_copy_(0, selection, x)
            else:
                out.view(self.words).index_copy_(0, selection, x.view(self.words))
        return out

    def _sync_free(self, indices: torch.Tensor) -> torch.Tensor:
        """Ask each part for a row per id and select, without anything that makes the host wait for the device."""
        local = self.local.gather(0, indices)
        out = self.lead.read(local)
        if not self.others:
            return out
        owner = self.owner.gather(0, indices)
        for number, part in enumerate(self.others, start=1):
            x = part.read(local.clamp(max=part.stop - part.start - 1))
            mask = owner if owner.dtype == torch.bool else owner == number
            out = torch.where(mask.unsqueeze(-1), x, out)
        return out
