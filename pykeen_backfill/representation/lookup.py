"""The kernels of a lookup: converting indices, choosing the part that answers a whole batch, placing rows.

These are free functions over tensors and parts, so that the representation's class body keeps to what a
representation is, and so that each can be read and tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import Representation
from torch.autograd.function import once_differentiable

from ..errors import IdOutOfRangeError, IdTypeError
from . import memory
from .memory import copy_rows, host_buffer
from .table import scatter

__all__ = [
    "INDEX_DTYPES",
    "LazyGradientRows",
    "as_index_tensor",
    "between",
    "checked",
    "gather_exact",
    "gather_sync_free",
    "lazy_gradient",
    "lead",
    "out_of_range",
    "place",
    "plain_weight",
    "read_weight",
    "rows_of",
    "virtual_rows",
]

#: a span: a part with its first and last-plus-one virtual row
Span = tuple[Representation, int, int]

#: index dtypes that ``forward`` looks up as they are
INDEX_DTYPES = frozenset({torch.long, torch.int32})


def as_index_tensor(indices: Any, max_id: int | None = None) -> torch.Tensor:
    """Convert indices of another integer dtype to ``torch.long``; refuse anything else.

    :param indices: the indices, as given to ``forward``
    :param max_id: the number of ids, named in the error for uint64 ids beyond int64
    :return: the indices as ``torch.long``
    """
    if not isinstance(indices, torch.Tensor):
        raise IdTypeError(f"indices must be a tensor of integer ids or None, but got {type(indices).__name__}")
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        # a float index would be truncated, a bool one read as a mask
        raise IdTypeError(f"indices must be an integer tensor, but got dtype {indices.dtype}")
    if indices.dtype == torch.uint64 and indices.numel() and not indices.is_meta:
        # above 2**63 a uint64 id would wrap around to a negative int64 and be shown so
        wrapped = indices.view(torch.long) < 0
        if bool(wrapped.any()):
            values = sorted({int(v) for v in indices[wrapped].cpu().numpy().tolist()})
            more = f" ... ({len(values):,} distinct)" if len(values) > 5 else ""
            bound = "max_id" if max_id is None else f"max_id={max_id}"
            raise IdOutOfRangeError(f"indices must lie in [0, {bound}), but got {values[:5]}{more}")
    # torch would read a uint8 tensor as a mask, and refuses int8 and int16 as indices
    return indices.long()


def checked(indices: Any, position: torch.Tensor, max_id: int) -> torch.Tensor:
    """Refuse non-integer indices, move them to the index's device, and check the range where the lookup cannot.

    On the CPU :func:`rows_of` checks the range itself, and on CUDA its ``gather`` does so on the device.

    :param indices: the indices given to ``forward``
    :param position: the representation's index buffer (its device is the lookup's)
    :param max_id: the number of ids
    :return: the indices, as ``long`` or ``int32``, on the device of ``position``
    """
    if type(indices) is not torch.Tensor or indices.dtype not in INDEX_DTYPES:
        indices = as_index_tensor(indices, max_id)
    device = position.device
    if indices.device != device:
        indices = indices.to(device)
    if device.type == "cpu" or indices.is_meta or indices.numel() == 0 or torch.compiler.is_compiling():
        # nothing to check here: no ids, no values (meta, when only shapes are inferred), or see rows_of
        return indices
    if indices.is_cuda:
        # rows_of uses gather, whose device-side check covers every int64 id (index_select's wraps beyond 32 bits)
        # without making the host wait for the GPU
        return indices.long()
    low, high = torch.aminmax(indices)
    if low < 0 or high >= max_id:
        raise out_of_range(indices, max_id)
    return indices


def rows_of(position: torch.Tensor, indices: torch.Tensor, max_id: int) -> torch.Tensor:
    """Return the virtual row of each id, flattened, as ``position``'s integer dtype.

    A one-dimensional ``index_select`` is several times faster than the equivalent advanced indexing, and on the CPU
    it refuses ids outside ``[0, max_id)`` itself, unlike indexing, which wraps negative ids around: that makes the
    range check free. On CUDA, ``gather`` checks every int64 id on the device. Compiled code calls an operator of
    ours (:func:`virtual_rows`), which keeps the check.
    """
    flat = indices if indices.dim() == 1 else indices.reshape(-1)
    if torch.compiler.is_compiling():
        return virtual_rows(position, flat)
    if flat.is_cuda:
        return position.gather(0, flat)
    try:
        return position.index_select(0, flat)
    except IndexError:
        raise out_of_range(flat, max_id) from None


def between(rows: torch.Tensor, start: int, stop: int, *, last: bool) -> torch.Tensor:
    """Return which virtual rows lie in ``[start, stop)``, with one comparison where a bound is an end."""
    if start == 0:
        return rows < stop
    if last:
        return rows >= start
    return (rows >= start) & (rows < stop)


#: per class of part, whether it looks rows up exactly as PyKEEN's own Embedding; a plain dict, which torch.compile
#: traces without the warning it gives for functools' caches
_PLAIN_TYPES: dict[type, bool] = {}


def _plain_type(kind: type) -> bool:
    """Whether a class of part looks rows up exactly as PyKEEN's own :class:`~pykeen.nn.representation.Embedding`."""
    plain = _PLAIN_TYPES.get(kind)
    if plain is None:
        plain = _PLAIN_TYPES[kind] = (
            issubclass(kind, pykeen_representation.Embedding)
            and kind.forward is Representation.forward
            and kind._plain_forward is pykeen_representation.Embedding._plain_forward
        )
    return plain


def plain_weight(part: Representation) -> torch.Tensor | None:
    """Return the weight that answers the part's lookups, if asking the part is nothing but reading rows of it.

    Such a part's forward is ``F.embedding`` on that weight followed by a view; reading the weight directly gives the
    same tensors and gradients and saves PyKEEN's generic ``forward`` (unique handling, hooks, a device query).
    """
    if not _plain_type(type(part)):
        return None
    if part.normalizer is not None or part.unique or part.regularizer is not None or part.dropout is not None:
        return None
    embedding = part._modules["_embeddings"]
    if (
        type(embedding) is not torch.nn.Embedding
        or embedding.padding_idx is not None
        or embedding.max_norm is not None
        or embedding.scale_grad_by_freq
        or embedding.sparse
    ):
        return None
    return embedding._parameters["weight"]


def read(part: Representation, weight: torch.Tensor | None, rows: torch.Tensor) -> torch.Tensor:
    """Return the part's answer for ``rows`` (one-dimensional), reading ``weight`` directly where it is given."""
    if weight is None:
        return part(indices=rows)
    # what pykeen.nn.Embedding._plain_forward computes, without the module calls around it
    x = read_weight(weight, rows)
    if len(part._shape) == 1 and not part.is_complex:
        # already the part's shape: a view would only cost a call
        return x
    x = x.view(rows.shape[0], *part._shape)
    return torch.view_as_complex(x) if part.is_complex else x


def read_weight(weight: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Return ``F.embedding(rows, weight)``, its gradient lazily zeroed where cheaper (:func:`lazy_gradient`)."""
    return LazyGradientRows.apply(weight, rows) if lazy_gradient(weight) else F.embedding(rows, weight)


def lazy_gradient(weight: torch.Tensor) -> bool:
    """Whether a lookup's gradient for ``weight`` is better built in memory that is zero until touched."""
    return (
        weight.requires_grad
        and torch.is_grad_enabled()
        and weight.device.type == "cpu"
        and weight.dtype in (torch.float32, torch.float64)
        and weight.numel() * weight.element_size() >= memory.LARGE
        and not torch.compiler.is_compiling()
    )


class LazyGradientRows(torch.autograd.Function):
    """``F.embedding(rows, weight)`` whose gradient for ``weight`` is built in a lazily zeroed host buffer.

    The gradient of a lookup is a dense table that is zero except at the rows looked up. ``F.embedding``'s backward
    allocates it with ``torch.zeros``, i.e. writes every byte (and faults every page) of a table that may be hundreds of
    megabytes; here only the pages of the rows looked up are ever written, see :mod:`.memory`. The sums are those of
    ``F.embedding``'s own backward, bit for bit: each row's contributions are added in the order of the batch.
    """

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Return ``F.embedding(rows, weight)``."""
        ctx.save_for_backward(rows)
        ctx.weight_shape = tuple(weight.shape)
        return F.embedding(rows, weight)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Return the weight's gradient, built in a host buffer that is zero until touched."""
        (rows,) = ctx.saved_tensors
        out = host_buffer(ctx.weight_shape, grad.dtype)
        return out.index_add_(0, rows, grad.reshape(rows.shape[0], -1)), None


def _is_plain_lookup(part: Representation) -> bool:
    """Whether asking the part for any rows costs a row copy each, with no side effects, into a fresh tensor."""
    return plain_weight(part) is not None


def lead(spans: Sequence[Span], weights: Sequence[torch.Tensor | None] | None = None) -> int | None:
    """Pick the part that answers every row of a batch: the largest plain embedding; among equals, a frozen one.

    A frozen lead's backward pass also skips the rows it answered only to be overwritten.

    :param spans: the parts with their virtual rows
    :param weights: each part's :func:`plain_weight`, if known already
    :return: the index of the lead in ``spans``, or ``None`` where no part is a plain embedding
    """
    if weights is None:
        weights = [plain_weight(part) for part, _, _ in spans]
    best: tuple[int, bool, int] | None = None
    for index, ((_, start, stop), weight) in enumerate(zip(spans, weights, strict=True)):
        if weight is not None:
            key = (stop - start, not weight.requires_grad, index)
            if best is None or key > best:
                best = key
    return None if best is None else best[2]


def gather_exact(spans: Sequence[Span], rows: torch.Tensor, max_id: int) -> torch.Tensor:
    """Ask each part for exactly the rows it serves, and put the results in place.

    Where a part is a plain embedding, the largest such part (the *lead*) answers every row of the batch, straight
    into the output in batch order: a row of another part is clamped to one of the lead's own rows, which stays in
    cache, and is then overwritten. Only the other parts' shares of the batch are copied a second time.
    """
    weights = [plain_weight(part) for part, _, _ in spans]
    chosen = lead(spans, weights)
    if chosen is None:
        pieces = [_served_rows(rows, span, None, max_id) for span in spans]
        return scatter(pieces, num_rows=rows.numel(), device=rows.device)
    part, start, stop = spans[chosen]
    local = rows.clamp(0, stop - 1) if start == 0 else (rows - start).clamp_(0, stop - start - 1)
    out = read(part, weights[chosen], local)
    for index, span in enumerate(spans):
        if index != chosen:
            out = place(out, *_served_rows(rows, span, weights[index], max_id))
    return out


def _served_rows(
    rows: torch.Tensor, span: Span, weight: torch.Tensor | None, max_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the batch positions whose rows one part serves, and that part's answer for exactly those rows."""
    part, start, stop = span
    selection = between(rows, start, stop, last=stop == max_id).nonzero().squeeze_(1)
    local = rows.index_select(0, selection)
    return selection, read(part, weight, local - start if start else local)


def gather_sync_free(spans: Sequence[Span], rows: torch.Tensor) -> torch.Tensor:
    """Ask each part for a row per index (clamped into range) and select; needs no host-device synchronisation.

    Nothing here depends on values on the host: no boolean-mask indexing (which calls ``nonzero``), no ``.item()``,
    no data-dependent shapes. Under ``torch.compile`` this also lets inductor fuse the whole lookup into one kernel.
    """
    result: torch.Tensor | None = None
    for part, start, stop in spans:
        x = read(part, plain_weight(part), _local(rows, start, stop, last=part is spans[-1][0]))
        if result is None:
            result = x
        else:
            # later parts serve higher virtual rows, so each overrides what the earlier ones answered
            keep = (rows >= start).view(-1, *(1,) * (x.ndim - 1))
            result = torch.where(keep, x, result)
    assert result is not None
    return result


def _local(rows: torch.Tensor, start: int, stop: int, *, last: bool) -> torch.Tensor:
    """Return ``rows - start`` clamped to the rows of a part, with as few kernels as its position allows."""
    if start == 0:
        # virtual rows are never negative
        return rows.clamp(max=stop - 1)
    local = rows - start
    return local.clamp_(min=0) if last else local.clamp_(0, stop - start - 1)


def place(out: torch.Tensor, target: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Copy the rows of ``x`` to the rows ``target`` of ``out``, promoting ``out`` if ``x`` needs a wider dtype."""
    if out.dtype == x.dtype:
        return copy_rows(out, target, x)
    dtype = torch.promote_types(out.dtype, x.dtype)
    if dtype != out.dtype:
        out = out.to(dtype)
    return copy_rows(out, target, x.to(dtype))


def out_of_range(indices: torch.Tensor, max_id: int) -> IdOutOfRangeError:
    """Return the error for indices outside ``[0, max_id)``, naming a few of the offending ids."""
    bad = indices[(indices < 0) | (indices >= max_id)].unique()
    more = f" ... ({bad.numel():,} distinct)" if bad.numel() > 5 else ""
    return IdOutOfRangeError(f"indices must lie in [0, max_id={max_id}), but got {bad[:5].tolist()}{more}")


@torch.library.custom_op("pykeen_backfill::virtual_rows", mutates_args=())
def virtual_rows(position: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Return ``position[indices]`` for one-dimensional ``indices``, refusing ids outside ``[0, len(position))``.

    An operator of its own, so that ``torch.compile`` calls it as it is instead of lowering the lookup into a kernel
    that wraps negative ids around (inductor) or fails with an error of its own; eager code calls
    ``index_select`` directly, which on the CPU refuses bad ids itself.
    """
    max_id = position.shape[0]
    if indices.device.type != "cpu" and indices.numel():
        low, high = torch.aminmax(indices)
        if low < 0 or high >= max_id:
            raise out_of_range(indices, max_id)
    try:
        return position.index_select(0, indices)
    except IndexError:
        raise out_of_range(indices, max_id) from None


@virtual_rows.register_fake
def _virtual_rows_fake(position: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    return position.new_empty(indices.shape)
