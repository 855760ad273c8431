"""Large host buffers and row copies that cost what the bytes cost, not what the page faults cost.

PyTorch's CPU allocator asks the operating system for every large tensor anew and gives it back when the tensor dies.
On Linux each fresh 4 KiB page then costs a fault (and the kernel zeroes it) the first time it is written: for a
256 MB gradient or table that is about 65,000 faults, several times the cost of the copy itself. A buffer mapped here
asks for transparent huge pages (2 MiB, 512 times fewer faults) where the kernel offers them, and a zero-filled one is
not written at all: its pages are zero until first touched, so a gradient that touches a few rows pays for those only.

Row copies between tensors (:func:`copy_rows`) go through the widest element type that divides a row, because
PyTorch's CPU ``index_copy_`` moves one element at a time; the bytes are moved as they are, without arithmetic.
"""

from __future__ import annotations

import math
import mmap

import torch

__all__ = [
    "LARGE",
    "copy_rows",
    "host_buffer",
    "host_copy",
    "word_type",
]

#: bytes from which a CPU tensor is allocated here; below it, the allocator reuses its heap without faults (glibc's
#: adaptive threshold for handing memory back to the system grows up to 32 MiB)
LARGE = 32 * 2**20

#: the flags of a private anonymous mapping, where the platform has them (not on Windows)
_PRIVATE: int | None = (
    mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS if hasattr(mmap, "MAP_PRIVATE") and hasattr(mmap, "MAP_ANONYMOUS") else None
)


def host_buffer(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Return a zero-filled CPU tensor; large ones are mapped lazily, with huge pages where the kernel allows.

    :param shape: the tensor's shape
    :param dtype: the tensor's dtype
    :return: a tensor of zeros, writable and not resizable where mapped here
    """
    count = math.prod(shape)
    nbytes = count * torch.empty((), dtype=dtype).element_size()
    if nbytes == 0 or nbytes < LARGE or _PRIVATE is None or torch.compiler.is_compiling():
        return torch.zeros(shape, dtype=dtype)
    # a private anonymous mapping reads as zeros until written, and goes back to the system with the last tensor using
    # it; a shared one (mmap's default) would live in shared memory, where the kernel gives no huge pages
    try:
        buffer = mmap.mmap(-1, nbytes, flags=_PRIVATE)
    except (OSError, OverflowError):
        # e.g. a system that does not overcommit: PyTorch's allocator then decides, and raises its own error
        return torch.zeros(shape, dtype=dtype)
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if advice is not None:
        try:
            buffer.madvise(advice)
        except OSError:  # pragma: no cover - kernels without transparent huge pages
            pass
    return torch.frombuffer(buffer, dtype=dtype, count=count).view(shape)


def host_copy(tensor: torch.Tensor) -> torch.Tensor:
    """Return a copy of ``tensor`` on the CPU (always a new tensor, also for a CPU tensor)."""
    tensor = tensor.detach()
    if tensor.numel() * tensor.element_size() < LARGE or tensor.is_meta or tensor.layout != torch.strided:
        return tensor.to("cpu", copy=True)
    out = host_buffer(tuple(tensor.shape), tensor.dtype)
    out.copy_(tensor)
    return out


#: element types to move bytes as, widest first, by item size
_WIDE = ((16, torch.complex128), (8, torch.float64), (4, torch.int32), (2, torch.int16))
_WORD_BYTES = {wide: size for size, wide in _WIDE}


def word_type(row_bytes: int, element_size: int) -> torch.dtype | None:
    """Return the widest element type that divides a row of ``row_bytes`` bytes and is wider than its elements."""
    for size, wide in _WIDE:
        if size <= element_size:
            return None
        if row_bytes % size == 0:
            return wide
    return None


def _as_words(x: torch.Tensor, row_bytes: int) -> torch.Tensor | None:
    """View the rows of a contiguous tensor as elements of the widest type dividing a row, if that makes fewer."""
    wide = word_type(row_bytes, x.element_size())
    # the wide type's loads may assume its alignment
    if wide is None or x.data_ptr() % _WORD_BYTES[wide]:
        return None
    return x.view(wide)


def copy_rows(out: torch.Tensor, target: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Copy row ``i`` of ``x`` to row ``target[i]`` of ``out`` (of the same dtype), in place; return ``out``.

    Autograd sees an ordinary ``index_copy_`` where gradients are needed; otherwise, on the CPU, the bytes of each row
    move as a few wide elements instead of many narrow ones.
    """
    if (
        out.device.type != "cpu"
        or torch.compiler.is_compiling()
        or out.requires_grad
        or x.requires_grad
        or out.dim() != 2
        or not (out.is_contiguous() and x.is_contiguous())
        or out.shape[0] == 0
        or x.shape[0] == 0
    ):
        return out.index_copy_(0, target, x)
    row_bytes = out.shape[1] * out.element_size()
    words_out, words_x = _as_words(out, row_bytes), _as_words(x, row_bytes)
    if words_out is None or words_x is None:
        return out.index_copy_(0, target, x)
    words_out.index_copy_(0, target, words_x)
    return out
