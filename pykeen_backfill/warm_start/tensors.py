"""Tensor files: read a table of vectors without unpickling anything, and tell a corrupt file from an unsafe one."""

from __future__ import annotations

import pathlib
import pickle
import pickletools
import zipfile
from typing import IO

import numpy
import torch

from ..checks import open_regular
from ..errors import PretrainedFormatError, UnsafeFileError

__all__ = [
    "TENSOR_SUFFIXES",
    "intact_torch_file",
    "read_tensor_file",
]

TENSOR_SUFFIXES = (".pt", ".pth", ".npy")

#: what torch and numpy raise for a file that is cut short or damaged
_CORRUPT = (RuntimeError, EOFError, ValueError, KeyError, OSError, IndexError, zipfile.BadZipFile)


def read_tensor_file(path: str | pathlib.Path) -> torch.Tensor:
    """Read a tensor without unpickling: ``.pt``/``.pth`` with ``weights_only=True``, ``.npy`` without pickle.

    :param path:
        The tensor file.

    :return:
        The tensor, on the CPU.

    :raises PretrainedFormatError:
        If the file is missing, not a regular file, has another suffix, is truncated or corrupt, or holds something
        other than one tensor of numbers.
    :raises UnsafeFileError:
        If the file is intact but holds pickled objects beyond tensors.
    """
    path = pathlib.Path(path)
    if path.suffix not in TENSOR_SUFFIXES:
        raise PretrainedFormatError(f"{path} is not a tensor file: expected one of {list(TENSOR_SUFFIXES)}")
    with open_regular(path, what="the tensor file", error=PretrainedFormatError) as file:
        tensor = _read_npy(file, path) if path.suffix == ".npy" else _read_pt(file, path)
    if isinstance(tensor, torch.Tensor) and tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    if not isinstance(tensor, torch.Tensor) or not (tensor.is_floating_point() or tensor.is_complex()):
        kind = f"dtype {tensor.dtype}" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise PretrainedFormatError(f"{path} must hold one tensor of floating-point numbers, but holds {kind}")
    return tensor


def _read_npy(file: IO[bytes], path: pathlib.Path) -> torch.Tensor:
    # the header tells an object array (which needs pickle) from a damaged file before any data is read
    try:
        version = numpy.lib.format.read_magic(file)
        # version 3.0 differs from 2.0 only in allowing UTF-8 field names
        header = numpy.lib.format.read_array_header_1_0 if version == (1, 0) else numpy.lib.format.read_array_header_2_0
        _, _, dtype = header(file)
    except _CORRUPT as error:
        raise PretrainedFormatError(f"{path} is not a complete .npy file (truncated or corrupt?): {error}") from None
    if dtype.hasobject:
        raise UnsafeFileError(f"{path} holds Python objects (dtype {dtype}), which can only be read by unpickling")
    file.seek(0)
    try:
        array = numpy.load(file, allow_pickle=False)
    except _CORRUPT as error:
        raise PretrainedFormatError(f"{path} is not a complete .npy file (truncated or corrupt?): {error}") from None
    if not array.dtype.isnative:
        # e.g. big-endian '>f4', written on another machine: the same numbers in this machine's byte order
        array = array.astype(array.dtype.newbyteorder("="))
    try:
        return torch.from_numpy(array)
    except TypeError:
        raise PretrainedFormatError(
            f"{path} holds numbers of dtype {array.dtype}, which torch cannot hold; save them as float32 or float64"
        ) from None


def _read_pt(file: IO[bytes], path: pathlib.Path) -> object:
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        if not intact_torch_file(file):
            raise PretrainedFormatError(
                f"{path} is truncated or corrupt: it is not a complete torch.save file"
            ) from None
        raise UnsafeFileError(
            f"{path} holds Python objects other than tensors, which can only be read by unpickling; "
            "save the tensor alone with torch.save(tensor, path)",
        ) from None
    except _CORRUPT as error:
        raise PretrainedFormatError(
            f"{path} is truncated or corrupt: not a complete torch.save file ({error})"
        ) from None


def intact_torch_file(file: IO[bytes]) -> bool:
    """Return whether a file written by :func:`torch.save` is complete, reading it but never unpickling it.

    A zip archive (torch's format since 1.6) is checked with its checksums; the legacy format, a few pickles in a row,
    by parsing its opcodes, which executes nothing.

    :param file:
        The open file; it is read from the start.

    :return:
        Whether the file is complete and undamaged.
    """
    file.seek(0)
    if zipfile.is_zipfile(file):
        file.seek(0)
        try:
            with zipfile.ZipFile(file) as archive:
                return archive.testzip() is None
        except _CORRUPT:
            return False
    file.seek(0)
    try:
        # magic number, protocol, system info, then the object itself
        for _ in range(4):
            for _ in pickletools.genops(file):
                pass
    except _CORRUPT:
        return False
    return True
