"""Assembling the whole table (``forward(None)``): each part's rows copied once, straight to the rows of their ids."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .memory import copy_rows, host_buffer

__all__ = [
    "scatter",
]


def scatter(
    pieces: Sequence[tuple[torch.Tensor, torch.Tensor]], *, num_rows: int, device: torch.device
) -> torch.Tensor:
    """Return a table of ``num_rows`` rows in which row ``target[i]`` is row ``i`` of ``x``, for each piece.

    :param pieces: pairs ``(target, x)``; the targets of all pieces together name every row once
    :param num_rows: the number of rows of the table
    :param device: the device of the table
    :return: the table, in the widest dtype of the pieces
    """
    dtype = functools.reduce(torch.promote_types, (x.dtype for _, x in pieces))
    targets = [target for target, _ in pieces]
    xs = [x.to(dtype) for _, x in pieces]
    if device.type == "cpu" and torch.is_grad_enabled() and any(x.requires_grad for x in xs):
        return _Scatter.apply(num_rows, targets, *xs)
    return _place(num_rows, targets, xs, device)


def _place(num_rows: int, targets: Sequence[torch.Tensor], xs: Sequence[torch.Tensor], device: torch.device):
    shape = (num_rows, *xs[0].shape[1:])
    # every row is written below: a large table on the host needs memory without a fault per page, not zeros
    if device.type == "cpu":
        out = host_buffer(shape, xs[0].dtype)
    else:
        out = torch.empty(shape, dtype=xs[0].dtype, device=device)
    for target, x in zip(targets, xs, strict=True):
        start = _run_start(target)
        if start is None:
            copy_rows(out, target.long(), x.detach() if device.type == "cpu" else x)
        else:
            # a run of consecutive ids is one sequential copy, about twice as fast as a row-by-row scatter
            out.narrow(0, start, target.numel()).copy_(x)
    return out


class _Scatter(torch.autograd.Function):
    """:func:`scatter` on the host with gradients: the rows move as wide words, each gradient is a row gather."""

    @staticmethod
    def forward(ctx: Any, num_rows: int, targets: list[torch.Tensor], *xs: torch.Tensor) -> torch.Tensor:
        ctx.targets = targets
        ctx.needs = [x.requires_grad for x in xs]
        with torch.no_grad():
            return _place(num_rows, targets, xs, torch.device("cpu"))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        grads = []
        for target, needs in zip(ctx.targets, ctx.needs, strict=True):
            if not needs:
                grads.append(None)
                continue
            start = _run_start(target)
            if start is not None:
                grads.append(grad.narrow(0, start, target.numel()))
                continue
            out = host_buffer((target.numel(), *grad.shape[1:]), grad.dtype)
            grads.append(torch.index_select(grad, 0, target.long(), out=out))
        return None, None, *grads


def _run_start(target: torch.Tensor) -> int | None:
    """Return the first id if ``target`` holds consecutive increasing ids, else ``None``; decided on the CPU only."""
    if target.device.type != "cpu" or target.numel() < 2:
        return None
    first, last = int(target[0]), int(target[-1])
    # the ids of a part are distinct, so the ends rule out almost every layout that is not one run
    if last - first != target.numel() - 1 or not bool((target[1:] - target[:-1] == 1).all()):
        return None
    return first
