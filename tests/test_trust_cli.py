"""The command line never loses a run: the output directory is checked before training and written all at once.

Tests run as root here, where ``chmod`` does not stop writes; an unwritable directory is therefore made by placing it
under a regular file, or under ``/proc``, which nobody can write to.
"""

from __future__ import annotations

import gzip
import pathlib
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pykeen_backfill import experiments, warm_start
from pykeen_backfill.cli import main
from pykeen_backfill.cli.common import UserError, checked_output
from pykeen_backfill.errors import ConfigError


def _run(config: pathlib.Path, out: pathlib.Path) -> Result:
    return CliRunner().invoke(main, ["run", str(config), "-d", str(out)])


def _one_line_exit_2(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    return result.output


def _no_leftovers(parent: pathlib.Path) -> None:
    assert not [path.name for path in parent.iterdir() if ".partial-" in path.name]


@pytest.fixture
def never_trains(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a run starts: the checks must come first."""

    def _trains(*_: Any, **__: Any) -> None:
        raise AssertionError("training started although the output directory cannot be written")

    monkeypatch.setattr(experiments, "run_experiment", _trains)


UNWRITABLE = {
    "under a file": lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "out",
    "deep under a file": lambda tmp: (tmp / "file").write_text("x") and tmp / "file" / "a" / "b",
    "a file": lambda tmp: (tmp / "out").write_text("x") and tmp / "out",
    "under /proc": lambda tmp: pathlib.Path("/proc/pykeen-backfill-out"),
    "in /proc": lambda tmp: pathlib.Path("/proc"),
}


@pytest.mark.parametrize("case", list(UNWRITABLE))
def test_an_unwritable_directory_is_refused_before_training(
    case: str, configs: pathlib.Path, tmp_path: pathlib.Path, never_trains: None
) -> None:
    out = UNWRITABLE[case](tmp_path)
    message = _one_line_exit_2(_run(configs / "transe_backfill.json", out))
    assert str(out) in message
    with pytest.raises(UserError):
        checked_output(out, option="-d")


def test_export_checks_its_output_first(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def _unpickles(*_: Any, **__: Any) -> None:
        raise AssertionError("the run was read although OUT cannot be written")

    monkeypatch.setattr(warm_start, "export_vectors", _unpickles)
    (tmp_path / "file").write_text("x")
    result = CliRunner().invoke(main, ["export", str(tmp_path), str(tmp_path / "file" / "out")])
    assert "not a directory" in _one_line_exit_2(result)


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, ConfigError])
def test_an_interrupted_run_leaves_nothing_half_written(
    interruption: type[BaseException], configs: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def _interrupted(config: pathlib.Path, directory: pathlib.Path) -> None:
        directory.joinpath("trained_model.pkl").write_bytes(b"half")
        raise interruption("stopped half-way")

    monkeypatch.setattr(experiments, "run_experiment", _interrupted)
    result = _run(configs / "transe_backfill.json", tmp_path / "new" / "out")
    assert result.exit_code != 0
    if interruption is ConfigError:
        _one_line_exit_2(result)
    # not even the parent created for it is left
    assert not (tmp_path / "new").exists()
    _no_leftovers(tmp_path)


def test_an_interrupted_export_leaves_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def _interrupted(source: Any, out: pathlib.Path, **_: Any) -> None:
        out.joinpath("entity_0.pt").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(warm_start, "export_vectors", _interrupted)
    result = CliRunner().invoke(main, ["export", str(tmp_path), str(tmp_path / "export")])
    assert result.exit_code != 0
    assert not (tmp_path / "export").exists()
    _no_leftovers(tmp_path)


def test_an_interrupted_run_keeps_what_was_there(
    configs: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "trained_model.pkl").write_bytes(b"the earlier run")

    def _interrupted(config: pathlib.Path, directory: pathlib.Path) -> None:
        directory.joinpath("trained_model.pkl").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments, "run_experiment", _interrupted)
    assert _run(configs / "transe_backfill.json", out).exit_code != 0
    assert (out / "trained_model.pkl").read_bytes() == b"the earlier run"
    _no_leftovers(tmp_path)


def test_a_complete_run_is_written_in_place(configs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "trained_model.pkl").write_bytes(b"the earlier run")
    result = _run(configs / "transe_backfill.json", out)
    assert result.exit_code == 0, result.output
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "trained_model.pkl").read_bytes() != b"the earlier run"
    assert {"results.json", "configuration_copied.json"} <= {path.name for path in out.iterdir()}
    _no_leftovers(tmp_path)


@pytest.mark.parametrize(
    "arguments",
    [
        ["run", "missing.json"],
        ["run", "."],
        ["plan", "--pretrained", "no/such/run", "--dataset", "nations"],
        ["plan", "--pretrained", "no/such/run"],
        ["export", "no/such/run", "out"],
    ],
)
def test_user_errors_exit_2_with_one_line(arguments: list[str], tmp_path: pathlib.Path) -> None:
    with CliRunner().isolated_filesystem(temp_dir=tmp_path):
        result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) <= 4  # click's usage lines for a missing option, else one line


def test_a_writable_directory_in_a_read_only_parent(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    from pykeen_backfill.cli.common import staged_output

    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("mine")
    real = tempfile.mkdtemp

    def _read_only_parent(prefix: str = "", dir: Any = None) -> str:
        if pathlib.Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied", str(dir))
        return real(prefix=prefix, dir=dir)

    monkeypatch.setattr(tempfile, "mkdtemp", _read_only_parent)
    assert checked_output(out, option="-d") == out
    with staged_output(out) as staging:
        (staging / "results.json").write_text("{}")
    assert sorted(path.name for path in out.iterdir()) == ["mine.txt", "results.json"]
    with pytest.raises(KeyboardInterrupt), staged_output(out) as staging:
        (staging / "half.pkl").write_text("half")
        raise KeyboardInterrupt
    assert sorted(path.name for path in out.iterdir()) == ["mine.txt", "results.json"]


#: malformed training files, as bytes, and what the one line of the error says about them
MALFORMED_TRIPLES = [
    (
        "two_columns.tsv",
        b"brazil\tembassy\nusa\tembassy\n",
        r"line 1: .* has 2 field\(s\): 'brazil\\tembassy'",
    ),
    ("one_column.tsv", b"brazil\n", r"line 1: .* has 1 field\(s\)"),
    ("four_columns.tsv", b"brazil\tembassy\tusa\t1990\n", r"line 1: .* has 4 field\(s\)"),
    ("short_second_line.tsv", b"brazil\tembassy\tusa\nusa\tembassy\n", r"line 2: .* has 2 field\(s\)"),
    ("empty_label.tsv", b"brazil\tembassy\t\n", r"line 1: .* has an empty field 3"),
    ("empty.tsv", b"", r"holds no triple"),
    ("latin1.tsv", b"brazil\tembassy\tS\xe3o Tom\xe9\n", r"is not UTF-8 text: byte b'\\xe3' at line 1"),
    ("two_columns.tsv.gz", gzip.compress(b"brazil\tembassy\tusa\nusa\tembassy\n"), r"line 2: .* 2 field"),
]


@pytest.mark.parametrize(("name", "content", "message"), MALFORMED_TRIPLES, ids=[m[0] for m in MALFORMED_TRIPLES])
def test_plan_refuses_a_malformed_training_file_in_one_line(
    name: str, content: bytes, message: str, old_nations_run: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    import re

    training = tmp_path / name
    training.write_bytes(content)
    result = CliRunner().invoke(main, ["plan", "--pretrained", str(old_nations_run), "--training", str(training)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    (line,) = result.output.strip().splitlines()
    assert repr(str(training)) in line and re.search(message, line), line


def test_plan_with_a_two_column_file_exits_2_in_a_fresh_interpreter(
    old_nations_run: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    import subprocess
    import sys

    training = tmp_path / "two_columns.tsv"
    training.write_text("brazil\tembassy\n", encoding="utf-8")
    command = "from pykeen_backfill.cli import main; main()"
    arguments = ["plan", "--pretrained", str(old_nations_run), "--training", str(training)]
    done = subprocess.run(
        [sys.executable, "-c", command, *arguments], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("Error: the triples file"), done.stderr
