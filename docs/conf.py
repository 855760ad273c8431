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
    "sphinx_click",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# PyKEEN's and PyTorch's own docstrings are not ours to keep warning-free
autodoc_inherit_docstrings = False
nitpicky = False
intersphinx_mapping = {}
exclude_patterns = ["_build"]
# furo: a current, responsive theme whose code blocks scroll on their own instead of widening the page
html_theme = "furo"
html_title = f"pykeen-backfill {release}"
html_static_path = ["_static"]
# wider pages, readable code and plots at the full width of the text; see the comments in the file
html_css_files = ["custom.css"]
