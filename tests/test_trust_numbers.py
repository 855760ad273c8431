"""Numbers out of range name the parameter and the value as written; dtypes agree; errors stay PyKEEN's types.

Also: every message that shows a user's values shows a few of them, with the shape or length of the whole.
"""

from __future__ import annotations

from typing import Any

import numpy
import pytest
import torch
from pykeen.datasets import get_dataset
from pykeen.nn import Embedding
from pykeen.nn.representation import InvalidBaseIdsError, MaxIDMismatchError

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import (
    BackfillError,
    DtypeMismatchError,
    IdOutOfRangeError,
    IdTypeError,
    InvalidIdsError,
    InvalidPartError,
    InvalidShapeError,
    OptionTypeError,
    OptionValueError,
    PretrainedFormatError,
    ShapeMismatchError,
)
from pykeen_backfill.warm_start import LabelledVectors

BIG = 2**63 + 5

# (keyword arguments over max_id=10, base_ids=[1, 4], shape=4; the error; what the message must show)
CASES: dict[str, tuple[dict[str, Any], type[Exception], str]] = {
    "uint64 above 2**63": (
        dict(base_ids=numpy.array([1, BIG], dtype=numpy.uint64)),
        InvalidIdsError,
        rf"base_ids .*\[{BIG}\]",
    ),
    "torch uint64": (dict(base_ids=torch.tensor([1, BIG], dtype=torch.uint64)), InvalidIdsError, rf"\[{BIG}\]"),
    "python int beyond int64": (dict(base_ids=[1, 2**64]), InvalidIdsError, rf"base_ids .*\[{2**64}\].*int64"),
    "negative beyond int64": (dict(base_ids=[-(2**70)]), InvalidIdsError, rf"\[{-(2**70)}\]"),
    "range beyond int64": (dict(base_ids=range(2**64, 2**64 + 2)), InvalidIdsError, rf"base_ids .*{2**64}"),
    "huge max_id": (dict(max_id=10**15), InvalidIdsError, r"max_id=1,000,000,000,000,000 would need .* GiB"),
    "max_id beyond int64": (dict(max_id=2**80), InvalidIdsError, r"max_id=1,208,925,819,614,629,174,706,176"),
    "max_id a tensor": (dict(max_id=torch.tensor(10)), IdTypeError, r"max_id must be an integer, but got tensor\(10\)"),
    "shape a tensor": (dict(shape=torch.tensor([4])), InvalidShapeError, r"shape .* but got Tensor of shape \(1,\)"),
    "shape an array": (dict(shape=numpy.array([4, 2])), InvalidShapeError, r"shape .* but got ndarray of shape \(2,\)"),
    "meta ids": (
        dict(base_ids=torch.tensor([1, 4], device="meta")),
        InvalidIdsError,
        r"base_ids must hold values.*meta",
    ),
    "torch embedding": (
        dict(base=torch.nn.Embedding(2, 4)),
        InvalidPartError,
        r"base must be .*torch\.nn.*from_pretrained",
    ),
    "a tensor as base": (dict(base=torch.ones(2, 4)), InvalidPartError, r"base must be .*Tensor of shape \(2, 4\)"),
    "torch embedding as backfill": (
        dict(backfill=torch.nn.Embedding(8, 4)),
        InvalidPartError,
        r"backfill must be .*Embedding\(8, 4\)",
    ),
    "index a string": (dict(index="1"), OptionTypeError, r"index must be a non-negative integer, but got '1' \(str\)"),
    "index a float": (dict(index=1.0), OptionTypeError, r"index .* but got 1\.0 \(float\)"),
    "index negative": (dict(index=-1), OptionValueError, r"index must be a non-negative integer, but got -1"),
    "index a bool": (dict(index=True), OptionTypeError, r"index .* but got True \(bool\)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_numbers_out_of_range_name_the_parameter(case: str) -> None:
    kwargs, error, pattern = CASES[case]
    with pytest.raises(error, match=pattern) as info:
        BackfillRepresentation(**{**dict(max_id=10, base_ids=[1, 4], shape=4), **kwargs})
    assert isinstance(info.value, BackfillError)
    # as written: a uint64 id is never shown wrapped to a negative number
    assert "-9223372036854775803" not in str(info.value)


@pytest.mark.parametrize("value", [2**63, 2**64 - 1])
def test_uint64_indices_beyond_int64_are_refused_as_written(value: int) -> None:
    representation = BackfillRepresentation(max_id=10, base_ids=[1, 4], shape=4)
    with pytest.raises(IdOutOfRangeError, match=rf"max_id=10\), but got \[{value}\]"):
        representation(indices=torch.tensor([3, value], dtype=torch.uint64))
    assert torch.equal(
        representation(indices=torch.tensor([3, 9], dtype=torch.uint64)), representation(indices=torch.tensor([3, 9]))
    )


def test_meta_vectors_are_refused() -> None:
    with pytest.raises(PretrainedFormatError, match=r"pre-trained vectors must hold values.*meta"):
        LabelledVectors(labels=("a", "b"), vectors=torch.ones(2, 3, device="meta"))


# --- dtypes ----------------------------------------------------------------------------------------------------------


def test_a_complex_base_gets_a_complex_backfill_that_learns() -> None:
    base = Embedding(max_id=2, shape=3, dtype=torch.cfloat)
    representation = BackfillRepresentation(max_id=6, base_ids=[0, 3], base=base)
    out = representation(indices=torch.arange(6))
    assert out.dtype == torch.cfloat
    out.imag[[1, 2, 4, 5]].sum().backward()
    # the imaginary parts of the backfilled rows get a gradient: they can learn
    assert representation.backfill._embeddings.weight.grad.abs().sum() > 0


def test_a_warm_start_with_complex_vectors_gets_a_complex_backfill() -> None:
    training = get_dataset(dataset="nations").training
    labels = tuple(sorted(training.entity_to_id)[:4])
    vectors = LabelledVectors(labels=labels, vectors=torch.randn(4, 3, dtype=torch.cdouble))
    representation = BackfillRepresentation.from_pretrained(vectors, training)
    assert representation.backfill.is_complex and representation(indices=None).dtype == torch.cdouble
    for label in labels:
        row = representation(indices=torch.as_tensor([training.entity_to_id[label]]))[0]
        assert torch.equal(row, vectors.vectors[labels.index(label)])


def test_a_wider_base_gets_a_backfill_as_wide() -> None:
    base = Embedding(max_id=2, shape=3, dtype=torch.float64)
    representation = BackfillRepresentation(max_id=6, base_ids=[0, 3], base=base)
    assert representation.backfill._embeddings.weight.dtype == torch.float64


@pytest.mark.parametrize("how", ["instance", "backfill_kwargs"])
def test_a_real_backfill_next_to_a_complex_base_is_refused(how: str) -> None:
    base = Embedding(max_id=2, shape=3, dtype=torch.cfloat)
    given = (
        dict(backfill=Embedding(max_id=4, shape=3))
        if how == "instance"
        else dict(backfill_kwargs={"dtype": torch.float32})
    )
    with pytest.raises(DtypeMismatchError, match=r"backfill has dtype torch\.float32.*base's dtype torch\.complex64"):
        BackfillRepresentation(max_id=6, base_ids=[0, 3], base=base, **given)


def test_a_complex_backfill_next_to_a_real_base_is_fine() -> None:
    representation = BackfillRepresentation(
        max_id=6,
        base_ids=[0, 3],
        base=Embedding(max_id=2, shape=3),
        backfill=Embedding(max_id=4, shape=3, dtype=torch.cfloat),
    )
    assert representation(indices=None).dtype == torch.cfloat


# --- PyKEEN's error types --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_ids", "words"), [([0, 1, 1], "Duplicate"), ([0, 1, 2, 5], "exceed max_id"), ([-1, 1], "not non-negative")]
)
def test_id_errors_are_pykeens_too(base_ids: list[int], words: str) -> None:
    with pytest.raises(InvalidBaseIdsError, match=words) as info:
        BackfillRepresentation(max_id=2, base_ids=base_ids, base=Embedding(max_id=4, shape=4))
    assert isinstance(info.value, InvalidIdsError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("part", ["base", "backfill"])
def test_size_errors_are_pykeens_too(part: str) -> None:
    kwargs = (
        dict(base=Embedding(max_id=4, shape=4))
        if part == "base"
        else dict(base=Embedding(max_id=2, shape=4), backfill=Embedding(max_id=5, shape=4))
    )
    with pytest.raises(MaxIDMismatchError, match="max_id") as info:
        BackfillRepresentation(max_id=6, base_ids=[0, 1], **kwargs)
    # what this package raised before, for code that catches that
    assert isinstance(info.value, ShapeMismatchError)


# --- values shown compactly ------------------------------------------------------------------------------------------

LONG: dict[str, tuple[dict[str, Any], str]] = {
    "tensor of ids": (
        dict(base_ids=torch.arange(-5000, 0)),
        r"\[-5000, -4999, -4998, -4997, -4996, \.\.\. \(5,000 in total\)\]",
    ),
    "array of ids": (dict(base_ids=numpy.arange(10, 100_010)), r"\(100,000 in total\)"),
    "long list of floats": (
        dict(base_ids=[0.5] * 10_000),
        r"\[0\.5, 0\.5, 0\.5, 0\.5, 0\.5, \.\.\. \(10,000 in total\)\]",
    ),
    "float tensor": (dict(base_ids=torch.rand(1000, 3)), r"Tensor of shape \(1000, 3\) and dtype torch\.float32"),
    "float array": (dict(base_ids=numpy.zeros((300, 300))), r"dtype float64"),
    "shape a long tensor": (dict(shape=torch.arange(10_000)), r"Tensor of shape \(10000,\)"),
    "kwargs a long list": (dict(base_kwargs=list(range(10_000))), r"\(10,000 in total\)"),
    "long string": (dict(base="x" * 10_000), r"\(10,002 characters\)"),
}


@pytest.mark.parametrize("case", list(LONG))
def test_messages_show_a_few_values(case: str) -> None:
    kwargs, pattern = LONG[case]
    with pytest.raises(BackfillError, match=pattern) as info:
        BackfillRepresentation(**{**dict(max_id=10, base_ids=[1, 4], shape=4), **kwargs})
    # the values shown are few; the rest of a message (e.g. the known names) is bounded too
    assert len(str(info.value)) < 800, str(info.value)


def test_a_part_too_large_for_memory_is_refused_before_allocating() -> None:
    with pytest.raises(InvalidShapeError, match=r"base with max_id=2 and shape=\(1000000000000,\) would need"):
        BackfillRepresentation(max_id=10, base_ids=[1, 4], shape=10**12)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        (dict(labels=(1, 2), vectors=torch.ones(2, 2)), OptionTypeError, r"labels must be strings, but got \[1, 2\]"),
        (dict(labels=("a", "b"), vectors=torch.ones(2, 0)), ShapeMismatchError, r"shape \(2, 0\): no values"),
        (dict(labels=("a", "b"), vectors=[[1.0], [2.0]]), OptionTypeError, r"must be a tensor, but got \[\[1\.0\]"),
    ],
)
def test_labelled_vectors_are_checked(kwargs: dict[str, Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        LabelledVectors(**kwargs)


def test_from_pretrained_takes_a_dataset_name() -> None:
    vectors = LabelledVectors(labels=("burma", "china"), vectors=torch.ones(2, 3))
    representation = BackfillRepresentation.from_pretrained(vectors, "nations")
    assert representation.max_id == 14 and representation.num_base_ids == 2
