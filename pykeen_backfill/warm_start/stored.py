"""Write tables of vectors as mappable ``.npy`` files, and open them again checked against what was written.

An export records, for each mappable file, what :func:`write_table` returns: its dtype, its size in bytes, its
:meth:`~.mapfile.MappedTable.fingerprint` and whether every value is finite. :func:`open_recorded` maps the file and
refuses it, naming it, where it no longer is what was recorded: cut short, grown, rewritten or replaced.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy
import torch

from ..errors import MappedFileError, OptionValueError
from .mapfile import STORED_DTYPES, MappedTable

__all__ = [
    "STORAGE_DTYPES",
    "chunks_of",
    "open_recorded",
    "storage_dtype",
    "write_table",
]

#: the dtypes a table may be stored as, by name
STORAGE_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}

#: rows written at a time
_CHUNK_ROWS = 65536


def storage_dtype(name: str | torch.dtype | None, *, parameter: str = "dtype") -> torch.dtype | None:
    """Return the storage dtype a user names, or ``None`` to keep each table's own.

    :param name:
        ``"float16"``, ``"bfloat16"``, ``"float32"``, ``"float64"``, the torch dtype itself, or ``None``.
    :param parameter:
        The parameter's name for the error message.

    :return:
        The dtype, or ``None``.

    :raises OptionValueError:
        If the dtype is not one of those.
    """
    if name is None:
        return None
    dtype = STORAGE_DTYPES.get(name) if isinstance(name, str) else name
    if dtype not in STORAGE_DTYPES.values():
        raise OptionValueError(f"{parameter} must be one of {sorted(STORAGE_DTYPES)}, but got {name!r}")
    return dtype


def write_table(
    path: str | pathlib.Path,
    chunks: Iterable[torch.Tensor],
    *,
    num_rows: int,
    row_shape: tuple[int, ...],
    dtype: torch.dtype,
) -> dict[str, Any]:
    """Write a table chunk by chunk as a mappable ``.npy`` file, never holding more than one chunk.

    :param path:
        The file.
    :param chunks:
        Consecutive rows, in any dtype that casts to ``dtype``; together ``num_rows`` rows of shape ``row_shape``.
    :param num_rows:
        The number of rows.
    :param row_shape:
        The shape of one row.
    :param dtype:
        The stored dtype; bfloat16 is stored as its raw 16 bits (``uint16``), see :mod:`.mapfile`.

    :return:
        What :func:`open_recorded` checks the file against: ``dtype``, ``bytes``, ``fingerprint`` and ``finite``.

    :raises ValueError:
        If the chunks do not add up to the table.
    """
    path = pathlib.Path(path)
    raw = numpy.dtype("uint16") if dtype == torch.bfloat16 else _numpy_dtype(dtype)
    header = {"descr": numpy.lib.format.dtype_to_descr(raw), "fortran_order": False, "shape": (num_rows, *row_shape)}
    written, finite = 0, True
    with path.open("wb") as file:
        numpy.lib.format.write_array_header_1_0(file, header)
        for chunk in chunks:
            chunk = chunk.detach().to(device="cpu", dtype=dtype).contiguous()
            if tuple(chunk.shape[1:]) != row_shape:
                raise ValueError(f"a chunk of {path} has rows of shape {tuple(chunk.shape[1:])}, not {row_shape}")
            values = torch.view_as_real(chunk) if chunk.is_complex() else chunk
            finite = finite and bool(torch.isfinite(values).all())
            file.write((chunk.view(torch.uint16) if dtype == torch.bfloat16 else chunk).numpy().tobytes())
            written += len(chunk)
    if written != num_rows:
        raise ValueError(f"{written} rows were written to {path}, but its header says {num_rows}")
    table = MappedTable(path, bfloat16=dtype == torch.bfloat16)
    try:
        return {
            "dtype": str(dtype).removeprefix("torch."),
            "bytes": table.identity.size,
            "fingerprint": table.fingerprint(),
            "finite": finite,
        }
    finally:
        table.close()


def chunks_of(tensor: torch.Tensor, rows: int = _CHUNK_ROWS) -> Iterable[torch.Tensor]:
    """Yield a tensor's rows in consecutive chunks.

    :param tensor:
        The table.
    :param rows:
        The rows per chunk.

    :yields: the chunks, views of the tensor
    """
    for start in range(0, len(tensor), rows):
        yield tensor[start : start + rows]


def open_recorded(path: str | pathlib.Path, recorded: Mapping[str, Any]) -> MappedTable:
    """Map a file written by :func:`write_table`, refusing it where it is no longer what was recorded.

    :param path:
        The file.
    :param recorded:
        What :func:`write_table` returned for it.

    :return:
        The mapped table.

    :raises MappedFileError:
        If the file cannot be mapped, or differs from the record in dtype, size or fingerprint.
    """
    table = MappedTable(path, bfloat16=recorded.get("dtype") == "bfloat16")
    expected = recorded.get("dtype"), recorded.get("bytes")
    found = str(table.dtype).removeprefix("torch."), table.identity.size
    if expected != found:
        raise MappedFileError(
            f"the mapped file {table.path} holds {found[0]} in {found[1]:,} bytes, but its manifest records "
            f"{expected[0]} in {expected[1]} bytes: it was changed after it was written"
        )
    if table.fingerprint() != recorded.get("fingerprint"):
        raise MappedFileError(f"the mapped file {table.path} differs from its manifest's fingerprint: it was changed")
    table.finite = bool(recorded.get("finite"))
    return table


def _numpy_dtype(dtype: torch.dtype) -> numpy.dtype:
    for numpy_dtype, torch_dtype in STORED_DTYPES.items():
        if torch_dtype == dtype:
            return numpy_dtype
    raise OptionValueError(f"a mapped table cannot store {dtype}; use one of {sorted(STORAGE_DTYPES)}")
