"""Tensor files: read a table of vectors without unpickling anything."""

from __future__ import annotations

import pathlib
import pickle

import numpy
import torch

from ..errors import PretrainedFormatError, UnsafeFileError

__all__ = [
    "TENSOR_SUFFIXES",
    "read_tensor_file",
]

TENSOR_SUFFIXES = (".pt", ".pth", ".npy")


def read_tensor_file(path: str | pathlib.Path) -> torch.Tensor:
    """Read a tensor without unpickling: ``.pt``/``.pth`` with ``weights_only=True``, ``.npy`` without pickle.

    :param path:
        The tensor file.

    :return:
        The tensor, on the CPU.

    :raises PretrainedFormatError:
        If the file is missing, has another suffix, or holds something other than one tensor of numbers.
    :raises UnsafeFileError:
        If the file holds pickled objects beyond tensors.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise PretrainedFormatError(f"the tensor file {path} does not exist")
    if path.suffix == ".npy":
        try:
            array = numpy.load(path, allow_pickle=False)
        except ValueError as error:
            raise UnsafeFileError(
                f"{path} holds Python objects, which can only be read by unpickling: {error}"
            ) from None
        tensor = torch.from_numpy(array)
    elif path.suffix in (".pt", ".pth"):
        try:
            tensor = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError:
            raise UnsafeFileError(
                f"{path} holds Python objects other than tensors, which can only be read by unpickling; "
                "save the tensor alone with torch.save(tensor, path)",
            ) from None
        except (RuntimeError, EOFError) as error:
            raise PretrainedFormatError(f"{path} is not a file written by torch.save: {error}") from None
    else:
        raise PretrainedFormatError(f"{path} is not a tensor file: expected one of {list(TENSOR_SUFFIXES)}")
    if not isinstance(tensor, torch.Tensor) or not (tensor.is_floating_point() or tensor.is_complex()):
        kind = f"dtype {tensor.dtype}" if isinstance(tensor, torch.Tensor) else type(tensor).__name__
        raise PretrainedFormatError(f"{path} must hold one tensor of floating-point numbers, but holds {kind}")
    return tensor
