"""``pykeen-backfill examples`` writes the shipped configurations; the commands' output is quiet unless ``-v``."""

from __future__ import annotations

import logging
import os
import pathlib
import subprocess
import sys
import warnings

import pytest
import torch
from click.testing import CliRunner

from pykeen_backfill.cli import main
from pykeen_backfill.examples import EXAMPLES, example_path
from pykeen_backfill.experiments import check_config, load_config
from pykeen_backfill.quiet import quiet

PIN_MEMORY = (
    "'pin_memory' argument is set as true but no accelerator is found, then device pinned memory won't be used."
)


def test_examples_writes_every_shipped_config_and_they_check(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(main, ["examples", str(tmp_path / "new" / "dir")])
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "new" / "dir").iterdir())
    assert written == sorted(EXAMPLES)
    for name in EXAMPLES:
        path = tmp_path / "new" / "dir" / name
        assert path.read_bytes() == example_path(name).read_bytes()
        check_config(load_config(path), source=str(path))


def test_examples_keeps_a_users_file_unless_forced(tmp_path: pathlib.Path) -> None:
    mine = tmp_path / "transe_backfill.json"
    mine.write_text("{}")
    result = CliRunner().invoke(main, ["examples", str(tmp_path)])
    assert result.exit_code == 2
    assert "transe_backfill.json" in result.output and len(result.output.strip().splitlines()) == 1
    assert mine.read_text() == "{}" and not (tmp_path / "distmult_backfill.json").exists()
    # the same files again are no clash
    assert CliRunner().invoke(main, ["examples", str(tmp_path), "--force"]).exit_code == 0
    assert CliRunner().invoke(main, ["examples", str(tmp_path)]).exit_code == 0
    assert mine.read_bytes() == example_path("transe_backfill.json").read_bytes()


def test_example_path_names_the_examples() -> None:
    with pytest.raises(KeyError, match="examples"):
        example_path("nope.json")


def test_quiet_drops_the_noise_and_nothing_else(caplog: pytest.LogCaptureFixture) -> None:
    utils = logging.getLogger("pykeen.utils")
    level = logging.getLogger("pykeen").level
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet():
            warnings.warn(PIN_MEMORY, UserWarning, stacklevel=1)
            warnings.warn("Training instances are always shuffled.", DeprecationWarning, stacklevel=1)
            warnings.warn("a warning that concerns the user", UserWarning, stacklevel=1)
            utils.warning("No cuda devices were available. The model runs on CPU")
            utils.warning("a log line that concerns the user")
            logging.getLogger("pykeen.pipeline.api").info("Using device: None")
    assert [str(warning.message) for warning in caught] == ["a warning that concerns the user"]
    assert [record.getMessage() for record in caplog.records] == ["a log line that concerns the user"]
    # everything as it was after the block
    assert logging.getLogger("pykeen").level == level and not utils.filters


def test_verbose_leaves_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet(verbose=True):
            warnings.warn(PIN_MEMORY, UserWarning, stacklevel=1)
            logging.getLogger("pykeen.utils").warning("No cuda devices were available. The model runs on CPU")
    assert len(caught) == 1 and len(caplog.records) == 1


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine notes shown with -v are those of a CPU machine")
def test_run_is_quiet_and_verbose_brings_the_notes_back(tmp_path: pathlib.Path) -> None:
    config = example_path("transe_backfill.json")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONWARNINGS"}
    outputs = {}
    for flags in ((), ("-v",)):
        completed = subprocess.run(
            [sys.executable, "-m", "pykeen_backfill.cli", "run", str(config), "-d", f"out{len(flags)}", *flags],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        assert "MRR: " in completed.stdout
        outputs[flags] = completed.stderr
    # (PyKEEN's evaluator adds a note about devices; run evaluates with FastRankBasedEvaluator, which makes none)
    for note in ("pin_memory", "No cuda devices"):
        assert note not in outputs[()], outputs[()]
        assert note in outputs[("-v",)]
