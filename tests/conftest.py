"""Fixtures shared by several test modules."""

from __future__ import annotations

import pathlib

import pytest

#: the example configurations, shipped with the package (``pykeen-backfill examples``) and shown in the documentation
CONFIGS = pathlib.Path(__file__).parents[1] / "pykeen_backfill" / "examples"


@pytest.fixture
def configs() -> pathlib.Path:
    """Return the directory of the example configurations."""
    return CONFIGS
