"""Fixtures shared by several test modules."""

from __future__ import annotations

import pathlib

import pytest

#: the example configurations, also shown in the documentation
CONFIGS = pathlib.Path(__file__).parent / "configs"


@pytest.fixture
def configs() -> pathlib.Path:
    """Return the directory of the example configurations."""
    return CONFIGS
