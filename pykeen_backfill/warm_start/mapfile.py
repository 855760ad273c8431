"""A table of vectors in a ``.npy`` file, mapped into memory read-only and never read whole.

The file is opened once and mapped with :class:`mmap.mmap` (``ACCESS_READ``: a write through the mapping is a
fault, never a change of the file). Its header is checked when it is opened: the dtype, the shape, and that the file
holds exactly the bytes they promise, so a truncated file is refused with its name before a row is read.

Rows are read by indexing the tensor that views the mapping: only the pages of the rows asked for are touched. The
kernel keeps those pages in its page cache, shared by every process that maps the file, and counts the ones a process
has touched in its resident memory. :meth:`MappedTable.touched` and :meth:`MappedTable.release` let a reader keep that
count bounded: released pages stay cached and come back on the next touch without reading the disk.

A file that changes while it is mapped would change the rows under the model, and a file cut short makes the next
touch of a lost page a ``SIGBUS`` that ends the process. :meth:`MappedTable.check` compares the file's identity
(device, inode, size, modification time) with the one seen at opening, both through the open descriptor and through
the path, and raises :class:`~pykeen_backfill.errors.MappedFileError` at the first difference; once changed, the
table stays refused.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import hashlib
import mmap
import os
import pathlib
import sys
import warnings
from typing import Any

import numpy
import torch

from ..errors import MappedFileError

__all__ = [
    "FileIdentity",
    "MappedTable",
    "STORED_DTYPES",
]

#: the dtypes a mapped file may hold; bfloat16, which numpy lacks, is stored as its raw 16 bits (``uint16``)
STORED_DTYPES = {
    numpy.dtype("float16"): torch.float16,
    numpy.dtype("float32"): torch.float32,
    numpy.dtype("float64"): torch.float64,
    numpy.dtype("complex64"): torch.complex64,
    numpy.dtype("complex128"): torch.complex128,
}

#: blocks of the data hashed by :meth:`MappedTable.fingerprint`, spread evenly over the file
FINGERPRINT_BLOCKS = 64
FINGERPRINT_BLOCK_BYTES = 4096


@dataclasses.dataclass(frozen=True)
class FileIdentity:
    """What tells one state of a file from another without reading it."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, stat: os.stat_result) -> FileIdentity:
        """Return the identity recorded in a :func:`os.stat` result."""
        return cls(device=stat.st_dev, inode=stat.st_ino, size=stat.st_size, mtime_ns=stat.st_mtime_ns)

    def difference(self, other: FileIdentity) -> str | None:
        """Describe how another identity differs from this one, or return ``None`` if it does not."""
        if (self.device, self.inode) != (other.device, other.inode):
            return "it was replaced by another file"
        if self.size != other.size:
            return f"its size changed from {self.size:,} to {other.size:,} bytes"
        if self.mtime_ns != other.mtime_ns:
            return "it was written to (its modification time changed)"
        return None


class MappedTable:
    """The rows of a ``.npy`` file, mapped read-only; a tensor views them without a copy."""

    #: the file
    path: pathlib.Path

    #: the shape of the whole table, rows first
    shape: tuple[int, ...]

    #: the dtype of the stored numbers
    dtype: torch.dtype

    #: whether every value is finite, where the writer recorded it; ``None``: not known
    finite: bool | None = None

    def __init__(self, path: str | pathlib.Path, *, bfloat16: bool = False) -> None:
        """Open and map the file, checking its header and size.

        :param path:
            The ``.npy`` file, written by :func:`numpy.save` or :func:`~pykeen_backfill.warm_start.export_vectors`.
        :param bfloat16:
            Whether the file's ``uint16`` numbers are the raw bits of bfloat16 numbers.

        :raises MappedFileError:
            If the file is missing, not a regular file, not a complete ``.npy`` file, or holds numbers that cannot be
            mapped (another dtype, another byte order, Fortran order).
        """
        self.path = pathlib.Path(path)
        self._changed: str | None = None
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as error:
            raise MappedFileError(f"cannot open the mapped file {self.path}: {error.strerror}") from None
        try:
            self._open(fd, bfloat16=bfloat16)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _open(self, fd: int, *, bfloat16: bool) -> None:
        stat = os.fstat(fd)
        if not os.path.isfile(self.path) or stat.st_size == 0:
            raise MappedFileError(f"the mapped file {self.path} is not a regular, non-empty file")
        self.identity = FileIdentity.of(stat)
        with open(fd, "rb", closefd=False) as file:
            shape, dtype, offset = _read_header(file, self.path)
        self.shape, self.offset = shape, offset
        self.dtype = _torch_dtype(dtype, bfloat16=bfloat16, path=self.path)
        expected = offset + int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
        if stat.st_size != expected:
            state = "truncated" if stat.st_size < expected else "longer than its header says"
            raise MappedFileError(
                f"the mapped file {self.path} is {state}: its header promises shape {shape} of {dtype} "
                f"({expected:,} bytes with the header), but it has {stat.st_size:,} bytes"
            )
        self._map = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        if hasattr(mmap, "MADV_RANDOM"):
            # lookups jump across the file: reading ahead would fill the cache with rows nobody asked for
            self._map.madvise(mmap.MADV_RANDOM)
        array = numpy.frombuffer(self._map, dtype=dtype, count=int(numpy.prod(shape)), offset=offset).reshape(shape)
        with warnings.catch_warnings():
            # the tensor views a read-only mapping on purpose; rows are only ever copied out of it
            warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
            tensor = torch.from_numpy(array)
        self.tensor = tensor.view(torch.bfloat16) if bfloat16 else tensor
        if not faulthandler.is_enabled():
            # a page lost to a truncation in the instant after check() ends the process with SIGBUS; say where
            faulthandler.enable(file=sys.stderr)

    @property
    def num_rows(self) -> int:
        """Return the number of rows."""
        return self.shape[0]

    @property
    def row_shape(self) -> tuple[int, ...]:
        """Return the shape of one row."""
        return self.shape[1:]

    def check(self) -> None:
        """Refuse a file that changed since it was opened, through its descriptor or its path.

        :raises MappedFileError:
            If the file was truncated, written to, replaced or removed.
        """
        if self._changed is None:
            self._changed = self._difference()
        if self._changed is not None:
            raise MappedFileError(
                f"the mapped file {self.path} changed while in use: {self._changed}; its rows can no longer be "
                "trusted. Open it again (build the model again) once it is complete"
            )

    def _difference(self) -> str | None:
        own = self.identity.difference(FileIdentity.of(os.fstat(self._fd)))
        if own is not None:
            return own
        try:
            return self.identity.difference(FileIdentity.of(os.stat(self.path)))
        except FileNotFoundError:
            return "it was removed"

    def fingerprint(self) -> str:
        """Return a hash of the header, the size and blocks spread over the data: it tells two files apart in O(1).

        The blocks are read with :func:`os.pread`, not through the mapping, so a file cut short is an error here,
        never a fault.

        :return:
            ``"sha256:"`` followed by the hex digest.
        """
        digest = hashlib.sha256(str(self.identity.size).encode())
        last = max(0, self.identity.size - FINGERPRINT_BLOCK_BYTES)
        starts = sorted({last * i // (FINGERPRINT_BLOCKS - 1) for i in range(FINGERPRINT_BLOCKS)})
        for start in starts:
            digest.update(os.pread(self._fd, FINGERPRINT_BLOCK_BYTES, start))
        return f"sha256:{digest.hexdigest()}"

    def touched(self) -> int:
        """Return the bytes of file pages the process has resident, or 0 where the system does not tell."""
        try:
            with open("/proc/self/statm", "rb") as file:
                shared = int(file.read().split()[2])
        except (OSError, IndexError, ValueError):
            return 0
        return shared * mmap.PAGESIZE

    def release(self) -> None:
        """Drop the mapping's pages from the process's resident memory; they stay in the page cache."""
        if hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Close the descriptor; the mapping ends with the last tensor that views it."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        fd = self.__dict__.get("_fd", -1)
        if fd >= 0:
            os.close(fd)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError(f"a MappedTable of {self.path} cannot be pickled; pickle what opens it instead")


def _read_header(file: Any, path: pathlib.Path) -> tuple[tuple[int, ...], numpy.dtype, int]:
    """Read a ``.npy`` header: the shape, the dtype and where the data begins."""
    try:
        version = numpy.lib.format.read_magic(file)
        read = numpy.lib.format.read_array_header_1_0 if version == (1, 0) else numpy.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read(file)
    except (ValueError, EOFError, OSError) as error:
        raise MappedFileError(f"the mapped file {path} is not a complete .npy file: {error}") from None
    if fortran_order and len(shape) > 1:
        raise MappedFileError(f"the mapped file {path} is in Fortran (column) order; save it in C (row) order")
    if len(shape) < 2 or shape[0] == 0 or 0 in shape[1:]:
        raise MappedFileError(f"the mapped file {path} must hold a table with one row per id, but has shape {shape}")
    return tuple(int(size) for size in shape), dtype, file.tell()


def _torch_dtype(dtype: numpy.dtype, *, bfloat16: bool, path: pathlib.Path) -> torch.dtype:
    if bfloat16:
        if dtype != numpy.dtype("uint16"):
            raise MappedFileError(f"the mapped file {path} should hold bfloat16 as uint16 bits, but holds {dtype}")
        return torch.bfloat16
    if dtype.hasobject or dtype not in STORED_DTYPES:
        kind = f"{dtype}, in the other byte order" if dtype.newbyteorder() in STORED_DTYPES else str(dtype)
        raise MappedFileError(
            f"the mapped file {path} holds {kind}; a mapped table holds {sorted(map(str, STORED_DTYPES))} "
            "in this machine's byte order"
        )
    return STORED_DTYPES[dtype]
