"""Sphinx configuration for pykeen-backfill."""

import pathlib
import sys

import pykeen_backfill

# docs/_ext: the resolver of references that autodoc leaves unqualified (see its docstring)
sys.path.insert(0, str(pathlib.Path(__file__).parent / "_ext"))

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
    "references",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# PyKEEN's and PyTorch's own docstrings are not ours to keep warning-free
autodoc_inherit_docstrings = False
# a reference to a name that does not exist fails the build (CI runs sphinx-build -W)
nitpicky = True
# offline and reproducible: the inventories are written from the installed packages by _inventories/make.py and
# committed, since neither CI nor the build machines can download each project's objects.inv
# names the projects' own documentation does not list as objects (so no inventory can hold them), with the reason
nitpick_ignore = [
    # PyKEEN's reference documents pykeen.nn by its docstring only; its resolvers are described in prose
    ("py:data", "pykeen.nn.representation_resolver"),
    # defined in pykeen.nn.representation, but not in its __all__, from which PyKEEN's reference is generated
    ("py:class", "pykeen.nn.representation.InvalidBaseIdsError"),
    ("py:class", "pykeen.nn.representation.MaxIDMismatchError"),
    # PyTorch Lightning documents these under lightning.pytorch, and ships no inventory this build could use offline
    ("py:func", "pytorch_lightning.seed_everything"),
    ("py:class", "pytorch_lightning.Trainer"),
    # pluggy's private type variable, in the signature of its hook markers (plugins.hookspec.hookimpl, hookspec)
    ("py:class", "_F"),
]
intersphinx_mapping = {
    "python": ("https://docs.python.org/3/", "_inventories/python.inv"),
    "torch": ("https://docs.pytorch.org/docs/stable/", "_inventories/torch.inv"),
    "pykeen": ("https://pykeen.readthedocs.io/en/stable/", "_inventories/pykeen.inv"),
    "numpy": ("https://numpy.org/doc/stable/", "_inventories/numpy.inv"),
    "class_resolver": ("https://class-resolver.readthedocs.io/en/latest/", "_inventories/class_resolver.inv"),
    "click": ("https://click.palletsprojects.com/en/stable/", "_inventories/click.inv"),
}
exclude_patterns = ["_build", "_inventories"]
# furo: a current, responsive theme whose code blocks scroll on their own instead of widening the page
html_theme = "furo"
html_title = f"pykeen-backfill {release}"
html_static_path = ["_static"]
# wider pages, readable code and plots at the full width of the text; see the comments in the file
html_css_files = ["custom.css"]
