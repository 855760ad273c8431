"""The id layout of a backfill representation: which part serves which id, at which row, and the ids asked for.

The parts are laid out one after the other in a *virtual* table: the rows of the first base, then those of the second
base, ..., then those of the backfill. Two integer vectors describe the layout:

- ``position[i]`` is the virtual row that serves global id ``i``;
- ``order[r]`` is the global id served by virtual row ``r``, i.e. the inverse permutation.

Both are built with vectorised tensor operations, so building the layout of ten million ids takes well under a second.
They are stored as ``int32`` whenever ``max_id`` allows, which keeps the index at 8 bytes per id.

A lookup first turns the ids it is asked for into virtual rows (:func:`checked_indices`, then :func:`rows_of`); the
part serving a virtual row ``r`` is the one whose range ``[start, stop)`` of virtual rows holds it, at its row
``r - start``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Sequence

import numpy
import torch

from ..checks import check_allocatable, preview
from ..errors import IdOutOfRangeError, IdTypeError, InvalidIdsError

__all__ = [
    "IdLayout",
    "as_id_tensor",
    "checked_indices",
    "rows_of",
    "virtual_rows",
]

#: the largest id an int64 tensor can hold
_INT64_MAX = torch.iinfo(torch.long).max

#: bytes per id that building a layout needs at its peak: a mask, the order, the position and temporaries
_BYTES_PER_ID = 32


def _preview(values: torch.Tensor) -> str:
    return preview(values.tolist())


def as_id_tensor(ids: Iterable[int] | torch.Tensor | numpy.ndarray, *, name: str) -> torch.Tensor:
    """Convert an iterable of integer ids into a one-dimensional ``int64`` tensor on the CPU.

    :param ids:
        Any iterable of integers: a list, a range, a generator, a numpy array or an integer tensor.
    :param name:
        The parameter name used in error messages.

    :return: shape: ``(n,)``
        The ids, as ``torch.long``.

    :raises IdTypeError:
        If the ids are not integers. Floats are refused, even integral ones such as ``2.0``, rather than truncated.
    :raises InvalidIdsError:
        If the ids are not one-dimensional.
    """
    if isinstance(ids, range):
        _check_int64([ids.start, ids.stop - ids.step] if ids else [], name=name)
        # a range of millions of ids would be slow to materialise as Python ints
        tensor = torch.arange(ids.start, ids.stop, ids.step, dtype=torch.long)
    elif isinstance(ids, torch.Tensor):
        if ids.is_meta:
            raise InvalidIdsError(f"{name} must hold values, but got {preview(ids)}")
        if ids.dtype in (torch.uint64, torch.uint32):
            return as_id_tensor(ids.detach().cpu().numpy(), name=name)
        tensor = ids.detach().cpu()
    elif isinstance(ids, numpy.ndarray):
        if ids.dtype.kind not in "iu":
            raise IdTypeError(f"{name} must contain integers, but got a numpy array of dtype {ids.dtype}")
        if ids.dtype.kind == "u" and ids.size:
            # a uint64 id above 2**63 would wrap around to a negative int64 and be shown so
            _check_int64(ids.reshape(-1)[ids.reshape(-1) > _INT64_MAX].tolist(), name=name)
        tensor = torch.from_numpy(numpy.ascontiguousarray(ids).astype(numpy.int64, copy=False))
    elif isinstance(ids, (str, bytes)):
        raise IdTypeError(f"{name} must be an iterable of integer ids, but got the string {preview(ids)}")
    else:
        tensor = _tensor_from_python(ids, name=name)
    if tensor.dtype == torch.bool or tensor.is_floating_point() or tensor.is_complex():
        raise IdTypeError(f"{name} must contain integers, but got {preview(tensor)}")
    if tensor.ndim != 1:
        raise InvalidIdsError(f"{name} must be one-dimensional, but has shape {tuple(tensor.shape)}")
    return tensor.long()


def _tensor_from_python(ids: Iterable[int], *, name: str) -> torch.Tensor:
    try:
        values = list(ids)
    except TypeError:
        raise IdTypeError(f"{name} must be an iterable of integer ids, but got {type(ids).__name__}") from None
    fast = _from_plain_ints(values)
    if fast is not None:
        return fast
    bad = [v for v in values if not _is_integer_scalar(v)]
    if bad:
        # checking types up front is what refuses 1.5 *and* 2.0, which torch would silently accept or truncate
        raise IdTypeError(f"{name} must contain only integers, but got {preview(bad)}")
    if not values:
        return torch.empty(0, dtype=torch.long)
    _check_int64([int(v) for v in values], name=name)
    return torch.as_tensor(values, dtype=torch.long)


def _check_int64(values: list[int], *, name: str) -> None:
    """Refuse ids that no int64 holds, showing them as the user wrote them; no id space is that large."""
    huge = [value for value in values if not -_INT64_MAX - 1 <= value <= _INT64_MAX]
    if huge:
        raise InvalidIdsError(f"{name} must lie in [0, max_id), but got {preview(huge)}, beyond the range of int64")


def _from_plain_ints(values: list[object]) -> torch.Tensor | None:
    """Convert a list of nothing but Python ints in one go, or return ``None`` to leave it to the careful path.

    The type test runs in C (``map``), and numpy reads the ints in one pass: for a million ids about 30 ms instead of
    about 250 ms for a test per value and ``torch.as_tensor``. ``bool`` is a subclass of ``int`` but not ``int``
    itself, so ``True`` still takes the careful path, which refuses it.
    """
    if not values or set(map(type, values)) != {int}:
        return None
    try:
        return torch.from_numpy(numpy.fromiter(values, dtype=numpy.int64, count=len(values)))
    except OverflowError:
        # beyond int64: the careful path reports it
        return None


def _is_integer_scalar(value: object) -> bool:
    # `list(tensor)` gives 0-d tensors, which are ids as much as Python ints are
    if isinstance(value, torch.Tensor):
        return value.ndim == 0 and not (value.dtype == torch.bool or value.is_floating_point() or value.is_complex())
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, bool)


def _index_dtype(max_id: int) -> torch.dtype:
    return torch.int32 if max_id <= torch.iinfo(torch.int32).max else torch.long


@dataclasses.dataclass(frozen=True)
class IdLayout:
    """Where each global id is served from: base groups first (in order), then the backfill."""

    #: shape: ``(max_id,)``; the virtual row of each global id
    position: torch.Tensor

    #: shape: ``(max_id,)``; the global id of each virtual row
    order: torch.Tensor

    #: the number of rows of each part, base groups first, then the backfill (which may have zero rows)
    sizes: tuple[int, ...]

    @property
    def max_id(self) -> int:
        """Return the number of global ids."""
        return self.position.shape[0]

    @property
    def num_backfill(self) -> int:
        """Return the number of ids served by the backfill."""
        return self.sizes[-1]

    @property
    def offsets(self) -> tuple[int, ...]:
        """Return the first virtual row of each part, followed by ``max_id``."""
        return tuple(itertools.accumulate(self.sizes, initial=0))

    @classmethod
    def build(cls, max_id: int, groups: Sequence[torch.Tensor], *, names: Sequence[str] | None = None) -> IdLayout:
        """Validate the base id groups and build the layout.

        :param max_id:
            The total number of ids, ``> 0``.
        :param groups:
            One ``int64`` tensor of global ids per base, in the order of the base's rows.
        :param names:
            The parameter name of each group, used in error messages. Defaults to ``base_ids``.

        :return:
            The layout; ids in no group go to the backfill in increasing order.

        :raises InvalidIdsError:
            If ``max_id`` is not positive, or if an id is negative, ``>= max_id``, repeated within a group, or claimed
            by two groups.
        """
        if isinstance(max_id, bool) or not isinstance(max_id, (int, numpy.integer)):
            raise IdTypeError(f"max_id must be an integer, but got {preview(max_id)} ({type(max_id).__name__})")
        if max_id <= 0:
            raise InvalidIdsError(f"max_id must be positive, but got max_id={max_id}")
        max_id = int(max_id)
        check_allocatable(max_id * _BYTES_PER_ID, what=f"the id index of max_id={max_id:,}", error=InvalidIdsError)
        names = list(names) if names is not None else ["base_ids"] * len(groups)
        for ids, name in zip(groups, names, strict=True):
            _check_range(ids, max_id=max_id, name=name)
        claimed = torch.cat(list(groups)) if groups else torch.empty(0, dtype=torch.long)
        # strike each claimed id once: exactly max_id - len(claimed) ids left means that no id was claimed twice,
        # neither within a group nor by two groups
        backfill_ids = torch.ones(max_id, dtype=torch.bool).index_fill_(0, claimed, False).nonzero().squeeze(1)
        if backfill_ids.numel() != max_id - claimed.numel():
            _explain_repeats(max_id, groups, names)
        dtype = _index_dtype(max_id)
        order = torch.cat([claimed, backfill_ids])
        # index_copy_ is several times faster than the equivalent `position[order] = ...`
        position = torch.empty(max_id, dtype=dtype).index_copy_(0, order, torch.arange(max_id, dtype=dtype))
        sizes = (*(ids.numel() for ids in groups), backfill_ids.numel())
        return cls(position=position, order=order.to(dtype), sizes=sizes)


def _explain_repeats(max_id: int, groups: Sequence[torch.Tensor], names: Sequence[str]) -> None:
    """Raise the error that names the group(s) and the ids behind a repeated claim; only runs when there is one."""
    owner = torch.full((max_id,), fill_value=-1, dtype=torch.long)
    for index, (ids, name) in enumerate(zip(groups, names, strict=True)):
        _check_unique(ids, max_id=max_id, name=name)
        _check_unclaimed(ids, owner=owner, name=name, names=names)
        owner[ids] = index
    raise InvalidIdsError(f"{', '.join(names)} claim some ids more than once")


def _check_range(ids: torch.Tensor, *, max_id: int, name: str) -> None:
    bad = ids[(ids < 0) | (ids >= max_id)]
    if bad.numel():
        # the words PyKEEN's own messages use, for code that looks for them
        why = "not non-negative" if bool((bad < 0).any()) else "ids that exceed max_id - 1"
        raise InvalidIdsError(f"{name} must lie in [0, max_id={max_id}), but got {_preview(bad)}: {why}")


def _check_unique(ids: torch.Tensor, *, max_id: int, name: str) -> None:
    counts = torch.bincount(ids, minlength=max_id)
    repeated = (counts > 1).nonzero().squeeze(1)
    if repeated.numel():
        raise InvalidIdsError(f"{name} must not repeat ids, but repeats {_preview(repeated)} (Duplicate ids)")


def _check_unclaimed(ids: torch.Tensor, *, owner: torch.Tensor, name: str, names: Sequence[str]) -> None:
    previous = owner[ids]
    clash = previous >= 0
    if clash.any():
        other = names[int(previous[clash][0])]
        raise InvalidIdsError(f"{name} and {other} both claim the ids {_preview(ids[clash])}")


def checked_indices(indices: object, position: torch.Tensor) -> torch.Tensor:
    """Refuse indices a lookup cannot use, and move them to the device of the index.

    :param indices:
        The indices given to ``forward``.
    :param position:
        The representation's index buffer; its device is the lookup's, its length is ``max_id``.

    :return:
        The indices, as ``torch.long`` or ``torch.int32``, on the device of ``position``.

    :raises IdTypeError:
        If the indices are not a tensor of integers: a float index would be truncated, a bool one read as a mask.
    :raises InvalidIdsError:
        If the indices are on the meta device (shapes only), but the representation holds values.
    :raises IdOutOfRangeError:
        If uint64 indices lie beyond int64.
    """
    if not isinstance(indices, torch.Tensor):
        raise IdTypeError(f"indices must be a tensor of integer ids or None, but got {type(indices).__name__}")
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        raise IdTypeError(f"indices must be an integer tensor, but got dtype {indices.dtype}")
    if indices.is_meta and not position.is_meta:
        raise InvalidIdsError(
            f"indices must hold values, but got a tensor of shape {tuple(indices.shape)} on the meta device"
        )
    if indices.dtype == torch.uint64 and indices.numel() and not indices.is_meta:
        # above 2**63 a uint64 id would wrap around to a negative int64
        wrapped = indices.view(torch.long) < 0
        if bool(wrapped.any()):
            values = sorted({int(v) for v in indices[wrapped].cpu().numpy().tolist()})
            more = f" ... ({len(values):,} distinct)" if len(values) > 5 else ""
            raise IdOutOfRangeError(f"indices must lie in [0, max_id={len(position)}), but got {values[:5]}{more}")
    if indices.dtype not in (torch.long, torch.int32):
        # torch reads a uint8 index as a mask and refuses int8 and int16
        indices = indices.long()
    return indices.to(position.device)


def rows_of(position: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Return the virtual row of each id, flattened, in the dtype of ``position``; refuse ids outside ``[0, max_id)``.

    On the CPU, ``index_select`` refuses such ids itself (indexing would wrap negative ids around); on CUDA, ``gather``
    checks every int64 id on the device, without making the host wait. Compiled code calls :func:`virtual_rows`.

    :param position:
        The representation's index buffer.
    :param indices:
        Indices from :func:`checked_indices`, of any shape.

    :return: shape: ``(indices.numel(),)``
        The virtual rows.
    """
    flat = indices.reshape(-1)
    if torch.compiler.is_compiling():
        return virtual_rows(position, flat)
    if flat.is_cuda:
        return position.gather(0, flat.long())
    return _checked_rows(position, flat)


def _checked_rows(position: torch.Tensor, flat: torch.Tensor) -> torch.Tensor:
    max_id = position.shape[0]
    if flat.device.type not in ("cpu", "meta") and flat.numel():
        low, high = torch.aminmax(flat)
        if low < 0 or high >= max_id:
            raise _out_of_range(flat, max_id)
    try:
        return position.index_select(0, flat)
    except IndexError:
        raise _out_of_range(flat, max_id) from None


def _out_of_range(indices: torch.Tensor, max_id: int) -> IdOutOfRangeError:
    bad = indices[(indices < 0) | (indices >= max_id)].unique()
    more = f" ... ({bad.numel():,} distinct)" if bad.numel() > 5 else ""
    return IdOutOfRangeError(f"indices must lie in [0, max_id={max_id}), but got {bad[:5].tolist()}{more}")


# an operator of its own: compiled code calls it as it is, instead of lowering the lookup into a kernel that wraps
# negative ids around (inductor) or fails with an error of its own; torch.compile offers no other way to keep a check
# that raises our error without a graph break
@torch.library.custom_op("pykeen_backfill::virtual_rows", mutates_args=())
def virtual_rows(position: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """Return ``position[indices]`` for one-dimensional ``indices``, refusing ids outside ``[0, len(position))``."""
    return _checked_rows(position, indices)


@virtual_rows.register_fake
def _virtual_rows_fake(position: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    return position.new_empty(indices.shape)
