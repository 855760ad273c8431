"""Sphinx configuration for pykeen-backfill."""

import pykeen_backfill

project = "pykeen-backfill"
author = "The pykeen-backfill developers"
copyright = "2026, The pykeen-backfill developers"
release = pykeen_backfill.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# PyKEEN's and PyTorch's own docstrings are not ours to keep warning-free
autodoc_inherit_docstrings = False
nitpicky = False
intersphinx_mapping = {}
exclude_patterns = ["_build"]
html_theme = "alabaster"
