"""Bad input gets an error of the expected type whose message names the parameter and the offending value."""

from __future__ import annotations

import json
import pathlib
import pickle
import re
import subprocess
import sys
from typing import Any

import numpy
import pytest
import torch
from pykeen.nn import Embedding, representation_resolver
from pykeen.nn import representation as pykeen_representation
from pykeen.pipeline import pipeline

from pykeen_backfill import BackfillRepresentation, errors
from pykeen_backfill.errors import (
    BackfillError,
    IdOutOfRangeError,
    IdTypeError,
    InvalidIdsError,
    InvalidPartError,
    InvalidShapeError,
    ShapeMismatchError,
    UnknownKeywordError,
    UnknownRepresentationError,
)

# (keyword arguments, expected error, pattern the message must match)
CONSTRUCTOR_CASES: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("duplicate", dict(base_ids=[1, 4, 1]), InvalidIdsError, r"base_ids must not repeat ids, but repeats \[1\]"),
    ("negative", dict(base_ids=[2, -1]), InvalidIdsError, r"base_ids must lie in \[0, max_id=10\), but got \[-1\]"),
    ("too large", dict(base_ids=[10, 3]), InvalidIdsError, r"base_ids must lie in .*got \[10\]"),
    ("float", dict(base_ids=[1.5, 2.0]), IdTypeError, r"base_ids must contain only integers, but got \[1\.5, 2\.0\]"),
    ("integral float", dict(base_ids=[1, 2.0]), IdTypeError, r"base_ids .* integers, but got \[2\.0\]"),
    ("float array", dict(base_ids=numpy.array([1.0, 2.0])), IdTypeError, r"base_ids .*dtype float64"),
    ("float tensor", dict(base_ids=torch.tensor([1.0, 2.0])), IdTypeError, r"base_ids .*torch\.float32"),
    ("bools", dict(base_ids=[True, False]), IdTypeError, r"base_ids .*\[True, False\]"),
    ("string", dict(base_ids="12"), IdTypeError, r"base_ids .*the string '12'"),
    ("digit strings", dict(base_ids=["1", "2"]), IdTypeError, r"base_ids .*\['1', '2'\]"),
    ("None inside", dict(base_ids=[1, None]), IdTypeError, r"base_ids .*\[None\]"),
    ("an int", dict(base_ids=3), IdTypeError, r"base_ids must be an iterable of integer ids, but got int"),
    ("float scalars", dict(base_ids=list(torch.tensor([1.0, 2.0]))), IdTypeError, r"base_ids .*\[tensor\(1\.\)"),
    ("nested", dict(base_ids=torch.tensor([[1, 2]])), InvalidIdsError, r"base_ids must be one-dimensional.*\(1, 2\)"),
    ("empty", dict(base_ids=[]), InvalidIdsError, r"base_ids is empty"),
    ("max_id zero", dict(max_id=0), InvalidIdsError, r"max_id must be positive, but got max_id=0"),
    ("max_id negative", dict(max_id=-3), InvalidIdsError, r"max_id=-3"),
    ("max_id float", dict(max_id=10.0), IdTypeError, r"max_id must be an integer, but got 10\.0"),
    ("max_id string", dict(max_id="10"), IdTypeError, r"max_id must be an integer, but got '10'"),
    ("unknown keywords", dict(colour=1, size=2), UnknownKeywordError, r"\['colour', 'size'\]"),
    ("shape zero", dict(shape=0), InvalidShapeError, r"shape must be a positive integer .* but got 0"),
    ("shape negative", dict(shape=(4, -1)), InvalidShapeError, r"shape .* but got \(4, -1\)"),
    ("shape float", dict(shape=4.0), InvalidShapeError, r"shape .* but got 4\.0"),
    ("shape string", dict(shape="4"), InvalidShapeError, r"shape .* but got '4'"),
    ("dims disagree", dict(shape=4, embedding_dim=5), ShapeMismatchError, r"shape=4 and embedding_dim=5 disagree"),
    ("no shape", dict(shape=None), ShapeMismatchError, r"needs a shape"),
    ("base shape", dict(base=Embedding(2, shape=3)), ShapeMismatchError, r"shape=\(4,\) .* base has shape \(3,\)"),
    ("base rows", dict(base=Embedding(3, shape=4)), ShapeMismatchError, r"base has max_id=3, but base_ids lists 2"),
    (
        "backfill rows",
        dict(backfill=Embedding(7, shape=4)),
        ShapeMismatchError,
        r"backfill has max_id=7, but 8 ids are left",
    ),
    ("backfill shape", dict(backfill=Embedding(8, shape=3)), ShapeMismatchError, r"backfill has shape \(3,\)"),
    ("backfill_kwargs shape", dict(backfill_kwargs=dict(shape=5)), ShapeMismatchError, r"backfill_kwargs .* 5"),
    ("unknown base", dict(base="nope"), UnknownRepresentationError, r"base='nope' names no representation"),
    ("unknown backfill", dict(backfill="nope"), UnknownRepresentationError, r"backfill='nope' names no"),
    ("base not a representation", dict(base=torch.nn.Linear(2, 4)), InvalidPartError, r"base must be a Repr.*Linear"),
    ("backfill an int", dict(backfill=3), InvalidPartError, r"backfill must be a Representation.*got 3"),
    ("base_kwargs not a mapping", dict(base_kwargs=[1]), InvalidPartError, r"base_kwargs must be a mapping.*\[1\]"),
    ("base_kwargs unknown key", dict(base_kwargs=dict(colour=1)), UnknownKeywordError, r"base_kwargs=.*'colour'"),
    ("backfill_kwargs unknown", dict(backfill_kwargs=dict(colour=1)), UnknownKeywordError, r"backfill_kwargs=.*colour"),
    (
        "kwargs for an instance",
        dict(base=Embedding(2, shape=4), base_kwargs=dict(trainable=False)),
        InvalidPartError,
        r"base_kwargs=\{'trainable': False\} cannot apply to the given base instance",
    ),
    (
        "overlapping sources",
        dict(base_ids=None, sources=[dict(ids=[1, 2]), dict(ids=[5, 2])]),
        InvalidIdsError,
        r"sources\[1\]\.ids and sources\[0\]\.ids both claim the ids \[2\]",
    ),
    (
        "duplicate in a source",
        dict(base_ids=None, sources=[dict(ids=[1, 2]), dict(ids=[5, 5])]),
        InvalidIdsError,
        r"sources\[1\]\.ids must not repeat ids, but repeats \[5\]",
    ),
    (
        "unknown source key",
        dict(base_ids=None, sources=[dict(ids=[1], colour=2)]),
        TypeError,
        r"\['colour'\]",
    ),
    ("sources and base_ids", dict(sources=[dict(ids=[1])]), TypeError, r"either sources, or base_ids"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [case[1:] for case in CONSTRUCTOR_CASES],
    ids=[case[0] for case in CONSTRUCTOR_CASES],
)
def test_constructor_refuses(kwargs: dict[str, Any], error: type[Exception], pattern: str) -> None:
    kwargs = dict(dict(max_id=10, base_ids=[1, 4], shape=4), **kwargs)
    with pytest.raises(error, match=pattern) as info:
        BackfillRepresentation(**kwargs)
    # every refusal of ours can be caught as one of the built-in exceptions the issue names
    assert isinstance(info.value, (ValueError, TypeError, IndexError, KeyError))


@pytest.mark.parametrize(
    "base_ids",
    [[4, 1], range(4, 0, -3), numpy.array([4, 1], dtype=numpy.uint8), torch.tensor([4, 1]), list(torch.tensor([4, 1]))],
    ids=["list", "range", "uint8 array", "tensor", "list of 0-d tensors"],
)
def test_constructor_accepts_integer_ids_in_any_container(base_ids: Any) -> None:
    assert BackfillRepresentation(max_id=10, base_ids=base_ids, shape=4).base_ids.tolist() == [4, 1]


def test_our_errors_are_backfill_errors() -> None:
    with pytest.raises(BackfillError):
        BackfillRepresentation(max_id=10, base_ids=[1.5], shape=4)


#: every public error and the built-in (and PyKEEN's) exception a caller catches it as
FITTING_BASES: dict[str, tuple[type[Exception], ...]] = {
    "InvalidIdsError": (ValueError, pykeen_representation.InvalidBaseIdsError),
    "MaxIdMismatchError": (ValueError, ShapeMismatchError, pykeen_representation.MaxIDMismatchError),
    "IdTypeError": (TypeError,),
    "IdOutOfRangeError": (IndexError,),
    "InvalidPartError": (TypeError,),
    "UnknownRepresentationError": (KeyError,),
    "UnknownKeywordError": (TypeError,),
    "RepresentationIndexError": (IndexError,),
    "ConfigError": (ValueError,),
    "NoEntityVectorsError": (ValueError, errors.ConfigError),
    "OptionTypeError": (TypeError,),
    "OptionValueError": (ValueError,),
    "UnreadableFileError": (ValueError,),
}


@pytest.mark.parametrize("name", errors.__all__)
def test_every_error_is_a_plain_class_of_the_module(name: str) -> None:
    # defined by a class statement of the module: present before any attribute access, and picklable by name
    assert name in vars(errors)
    cls = vars(errors)[name]
    assert cls.__module__ == errors.__name__ and cls.__qualname__ == name
    assert issubclass(cls, BackfillError)
    for base in FITTING_BASES.get(name, ()):
        assert issubclass(cls, base), (name, base)
    error = pickle.loads(pickle.dumps(cls("message")))
    assert type(error) is cls and error.args == ("message",)


def test_the_errors_exist_from_the_import_on_and_the_command_line_stays_light() -> None:
    code = (
        "import sys, pykeen_backfill.cli\n"
        "light = 'pykeen' not in sys.modules\n"
        "import pykeen_backfill.errors as errors\n"
        "print(light, sorted(set(errors.__all__) - set(vars(errors))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.split() == ["True", "[]"]


def test_code_written_against_pykeen_catches_our_id_errors() -> None:
    with pytest.raises(pykeen_representation.InvalidBaseIdsError, match="base_ids must not repeat ids"):
        BackfillRepresentation(max_id=10, base_ids=[1, 1], shape=4)


def test_unknown_representation_error_reads_as_plain_text() -> None:
    with pytest.raises(KeyError) as info:
        BackfillRepresentation(max_id=10, base_ids=[1], base="nope", shape=4)
    # a plain KeyError would print its message as a quoted repr
    assert str(info.value).startswith("base='nope'")


def test_the_values_shown_are_capped() -> None:
    with pytest.raises(InvalidIdsError, match=r"\[-1, -2, -3, -4, -5, \.\.\. \(20 in total\)\]"):
        BackfillRepresentation(max_id=10, base_ids=list(range(-1, -21, -1)), shape=4)


@pytest.fixture(scope="module")
def rep() -> BackfillRepresentation:
    return BackfillRepresentation(max_id=10, base_ids=[3, 1, 7], shape=4)


@pytest.mark.parametrize(
    ("indices", "pattern"),
    [
        (torch.tensor([-1]), r"\[-1\]"),
        (torch.tensor([0, 10]), r"\[10\]"),
        (torch.tensor([[2, -10], [-1, 2]]), r"\[-10, -1\]"),
        (torch.tensor([-1], dtype=torch.int32), r"\[-1\]"),
    ],
)
def test_forward_refuses_out_of_range_ids(rep: BackfillRepresentation, indices: torch.Tensor, pattern: str) -> None:
    # PyKEEN's built-in returns the last row for -1: a silent wrong answer
    with pytest.raises(IdOutOfRangeError, match=r"indices must lie in \[0, max_id=10\), but got " + pattern):
        rep(indices)


def test_forward_names_how_many_ids_are_out_of_range(rep: BackfillRepresentation) -> None:
    with pytest.raises(IndexError, match=re.escape("[10, 11, 12, 13, 14] ... (30 distinct)")):
        rep(torch.arange(40))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bool, torch.complex64])
def test_forward_refuses_non_integer_tensors(rep: BackfillRepresentation, dtype: torch.dtype) -> None:
    with pytest.raises(IdTypeError, match=re.escape(f"indices must be an integer tensor, but got dtype {dtype}")):
        rep(torch.tensor([1, 2]).to(dtype))


@pytest.mark.parametrize("indices", [[1, 2], numpy.array([1, 2]), 3])
def test_forward_refuses_non_tensors(rep: BackfillRepresentation, indices: Any) -> None:
    with pytest.raises(IdTypeError, match=rf"indices must be a tensor .* got {type(indices).__name__}"):
        rep(indices)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int16, torch.uint8, torch.int32])
def test_forward_accepts_every_integer_dtype(rep: BackfillRepresentation, dtype: torch.dtype) -> None:
    indices = torch.tensor([[7, 0], [1, 9]])
    # uint8 in particular must be read as ids, not as a mask
    assert torch.equal(rep(indices.to(dtype)), rep(indices))


def test_forward_accepts_empty_and_scalar_indices(rep: BackfillRepresentation) -> None:
    assert rep(torch.empty(0, 3, dtype=torch.long)).shape == (0, 3, 4)
    assert torch.equal(rep(torch.tensor(7)), rep(torch.tensor([7]))[0])


def test_forward_checks_also_with_unique(rep: BackfillRepresentation) -> None:
    unique = BackfillRepresentation(max_id=10, base_ids=[3, 1, 7], shape=4, unique=True)
    with pytest.raises(IdOutOfRangeError):
        unique(torch.tensor([-1, -1]))
    with pytest.raises(IdTypeError):
        unique(torch.tensor([1.5]))


# configuration: the same checks through PyKEEN's resolver and pipeline, where the kwargs come from a config


def test_resolver_kwargs_are_checked() -> None:
    with pytest.raises(IdTypeError, match=r"base_ids .*\[1\.5, 2\.0\]"):
        representation_resolver.make("backfill", dict(max_id=10, base_ids=[1.5, 2.0], shape=4))
    with pytest.raises(UnknownKeywordError, match=r"\['colour'\]"):
        representation_resolver.make("backfill", dict(max_id=10, base_ids=[1], shape=4, colour="red"))


@pytest.mark.parametrize(
    ("entity_kwargs", "error", "pattern"),
    [
        (dict(base_ids=[0, 3, 3]), InvalidIdsError, r"base_ids must not repeat ids, but repeats \[3\]"),
        (dict(base_ids=[0, 14]), InvalidIdsError, r"base_ids must lie in \[0, max_id=14\), but got \[14\]"),
        (dict(base_ids=[0, 3.0]), IdTypeError, r"base_ids must contain only integers, but got \[3\.0\]"),
        (dict(base_ids=[0], colour="red"), UnknownKeywordError, r"\['colour'\]"),
        (dict(base_ids=[0], base_kwargs=dict(shape=5)), ShapeMismatchError, r"shape=\(4,\) .* base has shape \(5,\)"),
    ],
)
def test_pipeline_config_is_checked(entity_kwargs: dict[str, Any], error: type[Exception], pattern: str) -> None:
    with pytest.raises(error, match=pattern):
        pipeline(
            dataset="nations",
            model="DistMult",
            model_kwargs=dict(
                embedding_dim=4,
                entity_representations="backfill",
                entity_representations_kwargs=entity_kwargs,
            ),
            training_kwargs=dict(num_epochs=1),
        )


# the command line: errors a user can fix end with exit status 2 and one line, never a traceback


def _config(tmp_path: pathlib.Path, entity_kwargs: dict[str, Any]) -> pathlib.Path:
    path = tmp_path / "config.json"
    model_kwargs = dict(embedding_dim=8, entity_representations="backfill", entity_representations_kwargs=entity_kwargs)
    path.write_text(json.dumps(dict(pipeline=dict(dataset="nations", model="DistMult", model_kwargs=model_kwargs))))
    return path


@pytest.mark.parametrize(
    ("labels_name", "labels_text", "message"),
    [
        ("labels.txt", "china\nindia\nchina\n", "repeat 'china' (2 times)"),
        ("labels.json", '["china", "india", "china"]', "repeat 'china' (2 times)"),
        # a JSON object may repeat a key; json.loads alone would keep the last one silently
        ("labels.json", '{"china": 0, "india": 1, "china": 2}', "repeat 'china' (2 times)"),
        ("missing.txt", None, "the labels file"),
    ],
)
def test_cli_refuses_bad_labels_files(
    tmp_path: pathlib.Path, labels_name: str, labels_text: str | None, message: str
) -> None:
    torch.save(torch.randn(3, 8), tmp_path / "vectors.pt")
    if labels_text is not None:
        (tmp_path / labels_name).write_text(labels_text)
    source = dict(source=str(tmp_path / "vectors.pt"), labels_file=str(tmp_path / labels_name))
    config = _config(tmp_path, dict(pretrained=source, labels="nations"))
    _assert_one_line_exit_2(config, tmp_path, message)
    if labels_text is None:
        assert labels_name in _run_cli(config, tmp_path).stderr


@pytest.mark.parametrize(
    ("entity_kwargs", "message"),
    [
        (dict(pretrained="no/such/run", labels="nations"), "no/such/run does not exist"),
        (dict(base_ids=[1.5, 2.0]), "base_ids must contain only integers, but got [1.5, 2.0]"),
        (dict(base_ids=[-1, 3]), "base_ids must lie in [0, max_id=14), but got [-1]"),
        (dict(base_ids=[1], base_kwargs=dict(shape=5)), "shape=(8,) was requested, but the base has shape (5,)"),
        (dict(base_ids=[1], colour="red"), "unexpected keyword arguments ['colour']"),
    ],
)
def test_cli_refuses_bad_representation_kwargs(tmp_path: pathlib.Path, entity_kwargs: dict, message: str) -> None:
    _assert_one_line_exit_2(_config(tmp_path, entity_kwargs), tmp_path, message)


def _run_cli(config: pathlib.Path, tmp_path: pathlib.Path) -> Any:
    from click.testing import CliRunner

    from pykeen_backfill.cli import main

    return CliRunner().invoke(main, ["run", str(config), "-d", str(tmp_path / "out")])


def _assert_one_line_exit_2(config: pathlib.Path, tmp_path: pathlib.Path, message: str) -> None:
    result = _run_cli(config, tmp_path)
    assert result.exit_code == 2, result.output
    # PyKEEN may have logged before the error (no random seed, no GPU); the error itself is the one last line
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.startswith("Error")] == lines[-1:], result.stderr
    assert message in lines[-1] and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "trained_model.pkl").exists()
