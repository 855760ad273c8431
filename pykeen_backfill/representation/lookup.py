"""The kernels of a lookup: converting indices, choosing the part that answers a whole batch, placing rows.

These are free functions over tensors and parts, so that the representation's class body keeps to what a
representation is, and so that each can be read and tested on its own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch
from pykeen.nn import representation as pykeen_representation
from pykeen.nn.representation import Representation

from ..errors import IdOutOfRangeError, IdTypeError

__all__ = [
    "INDEX_DTYPES",
    "as_index_tensor",
    "between",
    "lead",
    "out_of_range",
    "place",
    "scatter",
]

#: index dtypes that ``forward`` looks up as they are
INDEX_DTYPES = frozenset({torch.long, torch.int32})


def as_index_tensor(indices: Any) -> torch.Tensor:
    """Convert indices of another integer dtype to ``torch.long``; refuse anything else."""
    if not isinstance(indices, torch.Tensor):
        raise IdTypeError(f"indices must be a tensor of integer ids or None, but got {type(indices).__name__}")
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        # a float index would be truncated, a bool one read as a mask
        raise IdTypeError(f"indices must be an integer tensor, but got dtype {indices.dtype}")
    # torch would read a uint8 tensor as a mask, and refuses int8 and int16 as indices
    return indices.long()


def between(rows: torch.Tensor, start: int, stop: int, *, last: bool) -> torch.Tensor:
    """Return which virtual rows lie in ``[start, stop)``, with one comparison where a bound is an end."""
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


def lead(spans: Sequence[tuple[Representation, int, int]]) -> int | None:
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


def place(out: torch.Tensor, target: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
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


def scatter(
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


def out_of_range(indices: torch.Tensor, max_id: int) -> IdOutOfRangeError:
    """Return the error for indices outside ``[0, max_id)``, naming a few of the offending ids."""
    bad = indices[(indices < 0) | (indices >= max_id)].unique()
    more = f" ... ({bad.numel():,} distinct)" if bad.numel() > 5 else ""
    return IdOutOfRangeError(f"indices must lie in [0, max_id={max_id}), but got {bad[:5].tolist()}{more}")
