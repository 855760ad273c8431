"""A frozen representation whose rows are read from a mapped file on each lookup, so that the table never loads whole.

:class:`MappedEmbedding` is a :class:`~pykeen.nn.representation.Representation` without parameters: a lookup checks
that the file is unchanged, copies the rows asked for out of the mapping (see
:mod:`~pykeen_backfill.warm_start.mapfile`) and casts them to the representation's dtype. It serves as the base of a
:class:`~pykeen_backfill.BackfillRepresentation` like any other
representation, and as a representation of its own.

Three limits keep a huge table from being loaded by accident:

- the pages a lookup touched are dropped from the process's resident memory once they exceed ``resident_bytes``
  (they stay in the page cache, shared with every other process mapping the file);
- all rows (``indices=None``, e.g. scoring against all entities, or an export) are copied into memory only up to
  ``max_full_bytes``; beyond it, :class:`~pykeen_backfill.errors.MappedRowsError` says how large the table is;
- the file must not change while the representation lives: every lookup checks it, see
  :meth:`~pykeen_backfill.warm_start.mapfile.MappedTable.check`.
"""

from __future__ import annotations

import logging
import math
import pathlib
from collections.abc import Iterable
from typing import Any, ClassVar

import numpy
import torch
from pykeen.nn.representation import Representation

from ..errors import IdOutOfRangeError, MappedFileError, MappedRowsError, OptionValueError, ShapeMismatchError
from ..warm_start.mapfile import MappedTable

__all__ = [
    "DEFAULT_MAX_FULL_BYTES",
    "DEFAULT_RESIDENT_BYTES",
    "MappedEmbedding",
]

logger = logging.getLogger(__name__)

#: the file pages a lookup may leave resident before they are dropped (they stay in the page cache)
DEFAULT_RESIDENT_BYTES = 128 * 2**20

#: the largest table that ``indices=None`` copies into memory
DEFAULT_MAX_FULL_BYTES = 256 * 2**20

#: the fewest and the most rows looked up between two readings of the resident file pages
_MIN_CHUNK, _MAX_CHUNK = 64, 65536

#: rows copied at a time when all rows are asked for
_CHUNK_ROWS = 65536


class MappedEmbedding(Representation):
    """A frozen table of vectors read from a ``.npy`` file mapped into memory; only the rows looked up are read.

    ---
    name: Mapped embedding
    """

    #: its rows stay in their file, so building it never needs memory for the whole table
    rows_on_disk: ClassVar[bool] = True

    def __init__(
        self,
        path: str | pathlib.Path,
        *,
        rows: Iterable[int] | torch.Tensor | numpy.ndarray | None = None,
        dtype: torch.dtype | str | None = None,
        bfloat16: bool = False,
        fingerprint: str | None = None,
        resident_bytes: int = DEFAULT_RESIDENT_BYTES,
        max_full_bytes: int | None = DEFAULT_MAX_FULL_BYTES,
        max_id: int | None = None,
        shape: int | tuple[int, ...] | None = None,
        embedding_dim: int | None = None,
        trainable: bool = False,
        unique: bool = False,
        **kwargs: Any,
    ) -> None:
        """Map the file; nothing but its header is read.

        :param path:
            The ``.npy`` file, one row per id (e.g. written by :func:`~pykeen_backfill.warm_start.export_vectors`
            with ``tensor_format="npy"``). It must stay unchanged while the representation lives.
        :param rows:
            The file's row for each id, if the representation serves only some rows or another order; by default,
            id ``i`` is row ``i``.
        :param dtype:
            The dtype of the looked-up vectors (rows are cast on lookup); by default, torch's default dtype, or the
            stored dtype for complex numbers.
        :param bfloat16:
            Whether the file holds the raw bits of bfloat16 numbers as ``uint16``.
        :param fingerprint:
            The file's expected :meth:`~pykeen_backfill.warm_start.mapfile.MappedTable.fingerprint`; a file that
            differs is refused.
        :param resident_bytes:
            The file pages lookups may leave in the process's resident memory before they are dropped.
        :param max_full_bytes:
            The largest table that ``indices=None`` copies into memory; ``None`` for no limit.
        :param max_id:
            The number of ids, if given: it must agree with the file (or ``rows``).
        :param shape:
            The shape of one vector, if given: it must agree with the file.
        :param embedding_dim:
            The same as ``shape`` for vectors, as PyKEEN models spell it.
        :param trainable:
            Must be ``False``: a mapped table is read-only.
        :param unique:
            Whether each id is looked up once per call, see :class:`~pykeen.nn.representation.Representation`.
        :param kwargs:
            Further keyword arguments of :class:`~pykeen.nn.representation.Representation`, e.g. a ``normalizer``.

        :raises MappedFileError:
            If the file cannot be mapped, or differs from ``fingerprint``.
        :raises ShapeMismatchError:
            If ``max_id``, ``shape`` or ``dtype`` disagree with the file.
        """
        if trainable is not False:
            raise OptionValueError(
                f"trainable={trainable!r}, but a mapped table is read-only; load the rows into a pykeen.nn.Embedding "
                "to fine-tune them"
            )
        table = MappedTable(path, bfloat16=bfloat16)
        if fingerprint is not None and table.fingerprint() != fingerprint:
            raise MappedFileError(f"the mapped file {table.path} is not the file it should be: its fingerprint differs")
        index = _row_index(rows, table)
        num_ids = table.num_rows if index is None else len(index)
        _check_given(max_id, shape, embedding_dim, num_ids=num_ids, table=table)
        super().__init__(max_id=num_ids, shape=table.row_shape, unique=unique, **kwargs)
        out = _output_dtype(dtype, table)
        # holds no values: it gives the dtype and device of the looked-up vectors, and follows .to() like any buffer
        self.register_buffer("_out", torch.empty(0, dtype=out), persistent=False)
        self._table, self._rows = table, index
        self.resident_bytes, self.max_full_bytes = resident_bytes, max_full_bytes
        # the first chunks are small: what a row costs is not known before they are measured
        self._since_measure, self._chunk = 0, _MIN_CHUNK
        self._released_at = self._measured_at = table.touched()

    @property
    def path(self) -> pathlib.Path:
        """Return the mapped file."""
        return self._table.path

    @property
    def dtype(self) -> torch.dtype:
        """Return the dtype of the looked-up vectors."""
        return self._out.dtype

    @property
    def stored_dtype(self) -> torch.dtype:
        """Return the dtype of the numbers in the file."""
        return self._table.dtype

    # docstr-coverage: inherited
    def _plain_forward(self, indices: torch.Tensor | None = None) -> torch.Tensor:
        if indices is None:
            return self._all_rows()
        flat = indices.reshape(-1)
        # asked by id for as many rows as all rows would be (e.g. by a representation that holds this one): the same
        # limit, so that a huge table is not copied into memory by another route
        self._check_copy(len(flat), what=f"{len(flat):,} rows")
        self._table.check()
        try:
            # index_select checks the range itself (negative ids included), so a valid lookup pays for no check
            x = self._read(flat if flat.device.type == "cpu" else flat.cpu())
        except IndexError:
            low, high = torch.aminmax(flat)
            raise IdOutOfRangeError(f"the ids must lie in [0, {self.max_id}), but reach from {low} to {high}") from None
        if x.device != self._out.device:
            x = x.to(device=self._out.device)
        return x.view(*indices.shape, *self.shape)

    def _read(self, ids: torch.Tensor) -> torch.Tensor:
        rows = ids if self._rows is None else self._rows.index_select(0, ids).long()
        if len(rows) <= self._chunk:
            return self._read_rows(rows)
        # in chunks, so that the pages one lookup leaves resident stay bounded, see _measure
        return torch.cat([self._read_rows(chunk) for chunk in rows.split(self._chunk)])

    def _read_rows(self, rows: torch.Tensor) -> torch.Tensor:
        x = self._table.tensor.index_select(0, rows).to(self.dtype)
        self._since_measure += len(rows)
        if self._since_measure >= self._chunk:
            self._measure()
        return x

    def _measure(self) -> None:
        """Drop the resident pages above the budget, and size the chunks by what a row cost since the last time.

        A row looked up makes the kernel map more than its own page: its neighbours (fault-around), or the whole
        large folio of the page cache that holds it, measured at 16 to 96 pages. Chunks of at most half the budget
        bound what one lookup adds before it is measured.
        """
        touched = self._table.touched()
        grown = touched - self._measured_at
        if grown > 0:
            per_row = grown / self._since_measure
            self._chunk = int(min(max(self.resident_bytes // 2 / per_row, _MIN_CHUNK), _MAX_CHUNK))
        else:
            # the rows were resident already: measure less often
            self._chunk = min(2 * self._chunk, _MAX_CHUNK)
        self._since_measure = 0
        if touched - self._released_at > self.resident_bytes:
            self._table.release()
            touched = self._released_at = self._table.touched()
        self._measured_at = touched

    def _check_copy(self, num_rows: int, *, what: str) -> None:
        """Refuse to copy more than ``max_full_bytes`` of rows into memory at once."""
        size = num_rows * math.prod(self.shape) * self._out.element_size()
        if self.max_full_bytes is not None and size > self.max_full_bytes:
            raise MappedRowsError(
                f"{what} of the mapped file {self.path} were asked for ({size / 2**30:.2f} GiB "
                f"as {self.dtype}; e.g. to score against all ids, or to export), but max_full_bytes="
                f"{self.max_full_bytes:,}; look rows up by id in smaller batches, or pass max_full_bytes=None to "
                "copy them all into memory"
            )

    def _all_rows(self) -> torch.Tensor:
        self._check_copy(self.max_id, what=f"all {self.max_id:,} rows")
        self._table.check()
        out = torch.empty(self.max_id, *self.shape, dtype=self.dtype)
        for start in range(0, self.max_id, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, self.max_id)
            out[start:stop] = self._read(torch.arange(start, stop))
        return out.to(device=self._out.device)

    def iter_extra_repr(self) -> Iterable[str]:
        """Iterate over the parts of :meth:`extra_repr`."""
        yield from super().iter_extra_repr()
        yield f"path={str(self.path)!r}"
        yield f"stored_dtype={self.stored_dtype}"

    def __getstate__(self) -> dict[str, Any]:
        # a pickle holds where the rows are and how to recognise the file, never the rows
        state = dict(self.__dict__)
        table = state.pop("_table")
        state["_file"] = (str(table.path), table.dtype == torch.bfloat16, table.fingerprint())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        path, bfloat16, fingerprint = state.pop("_file")
        super().__setstate__(state)
        table = MappedTable(path, bfloat16=bfloat16)
        if table.fingerprint() != fingerprint:
            raise MappedFileError(f"the mapped file {path} is not the file the model was saved with")
        self._table, self._since_measure, self._chunk = table, 0, _MIN_CHUNK
        self._released_at = self._measured_at = table.touched()


def _row_index(rows: Iterable[int] | torch.Tensor | numpy.ndarray | None, table: MappedTable) -> torch.Tensor | None:
    """Return the file's row of each id as ``int32`` where it fits (half the memory of ``int64``), or ``None``."""
    if rows is None:
        return None
    index = torch.as_tensor(rows if isinstance(rows, (torch.Tensor, numpy.ndarray)) else list(rows))
    if index.dim() != 1 or index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
        raise OptionValueError(
            f"rows must be a 1-d sequence of integers, but has shape {tuple(index.shape)} and dtype {index.dtype}"
        )
    if index.numel() == 0:
        raise OptionValueError("rows is empty: a mapped base must serve at least one id")
    low, high = torch.aminmax(index)
    if low < 0 or high >= table.num_rows:
        raise IdOutOfRangeError(
            f"rows must lie in [0, {table.num_rows}) (the rows of {table.path}), but reach from {low} to {high}"
        )
    return index.to(torch.int32 if table.num_rows < 2**31 else torch.int64)


def _check_given(
    max_id: int | None, shape: Any, embedding_dim: int | None, *, num_ids: int, table: MappedTable
) -> None:
    if max_id is not None and max_id != num_ids:
        raise ShapeMismatchError(f"max_id={max_id}, but the mapped file {table.path} serves {num_ids} ids")
    for name, given in (("shape", shape), ("embedding_dim", embedding_dim)):
        if given is None:
            continue
        wanted = (given,) if isinstance(given, int) else tuple(given)
        if wanted != table.row_shape:
            raise ShapeMismatchError(
                f"{name}={given!r}, but the rows of the mapped file {table.path} have shape {table.row_shape}"
            )


def _output_dtype(dtype: torch.dtype | str | None, table: MappedTable) -> torch.dtype:
    if dtype is None:
        return table.dtype if table.dtype.is_complex else torch.get_default_dtype()
    out = getattr(torch, dtype, None) if isinstance(dtype, str) else dtype
    if (
        not isinstance(out, torch.dtype)
        or out.is_complex != table.dtype.is_complex
        or not (out.is_floating_point or out.is_complex)
    ):
        raise ShapeMismatchError(f"dtype={dtype!r} cannot hold the {table.dtype} numbers of {table.path}")
    return out
