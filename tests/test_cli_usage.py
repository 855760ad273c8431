"""Usage errors of the command line (a missing argument, an unknown option or command) are one line and exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pykeen_backfill.cli import main


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["run"], "Missing argument 'CONFIG'"),
        (["plan", "--no-such-option"], "No such option"),
        (["no-such-command"], "No such command"),
        (["export", "only-one"], "Missing argument"),
        (["demo", "--epochs", "zero"], "'zero' is not a valid integer"),
    ],
)
def test_a_usage_error_is_one_line_with_exit_status_2(arguments: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0]
    assert "--help" in lines[0]


def test_no_command_shows_the_help() -> None:
    result = CliRunner().invoke(main, [])
    assert "Commands:" in result.output
    assert not result.output.startswith("Error")


def test_help_and_version_exit_0() -> None:
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0
    version = CliRunner().invoke(main, ["--version"])
    assert version.exit_code == 0 and "pykeen-backfill" in version.output
