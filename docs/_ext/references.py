"""Resolve two kinds of reference that autodoc leaves unresolved, so that nitpicky mode reports only broken ones.

- A type hint names a class the module imports only for type checking (``PipelineResult``, imported from
  ``pykeen.pipeline`` under ``if TYPE_CHECKING:``): autodoc cannot evaluate it and writes the bare name. It is
  looked up again under the full name the module's own import statement gives it, in the inventories and here.
- A docstring names a module or object of this package that exists but is not part of the public API on the API
  page (e.g. ``:mod:`.workflow``` in a package's docstring): it is shown as code, without a link.

A name that exists nowhere still fails the build.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import sys
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.ext import intersphinx

PACKAGE = "pykeen_backfill"


@functools.cache
def _imports(module_name: str) -> dict[str, str]:
    """Map each name a module imports with ``from ... import ...`` (type checking only too) to its full name."""
    try:
        module = importlib.import_module(module_name)
        tree = ast.parse(inspect.getsource(module))
    except (ImportError, OSError, TypeError):
        return {}
    package = module.__name__ if hasattr(module, "__path__") else module.__package__
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            origin = importlib.util.resolve_name(relative, package) if node.level else node.module
            for alias in node.names:
                names[alias.asname or alias.name] = f"{origin}.{alias.name}"
    return names


def _imported_anywhere(name: str) -> str | None:
    """Return the full name under which this package's modules import ``name``, if they agree on one."""
    loaded = [module for module in list(sys.modules) if module.startswith(PACKAGE)]
    found = {_imports(module)[name] for module in loaded if name in _imports(module)}
    return found.pop() if len(found) == 1 else None


def _exists(dotted: str) -> bool:
    """Tell whether a dotted name is a module of this package or an attribute of one."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for part in parts[end:]:
            if not part or not hasattr(obj, part):
                return False
            obj = getattr(obj, part)
        return True
    return False


def _ours(target: str, module: str | None, cls: str | None) -> bool:
    """Tell whether ``target``, as written in ``module`` (and ``cls``), is an existing name of this package."""
    target = target.lstrip(".~")
    candidates = [target]
    if module:
        candidates += [f"{module}.{target}", *([f"{module}.{cls}.{target}"] if cls else [])]
    if any(candidate.startswith(PACKAGE) and _exists(candidate) for candidate in candidates):
        return True
    # a module-level name of the module that defines the documented object, which autodoc does not record
    loaded = [module for name, module in list(sys.modules.items()) if name.startswith(PACKAGE)]
    return "." not in target and any(hasattr(module, target) for module in loaded)


def _missing_reference(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.Node | None:
    if node.get("refdomain") != "py":
        return None
    target, module, cls = node["reftarget"], node.get("py:module"), node.get("py:class")
    head, _, rest = target.partition(".")
    # autodoc records the module that documents an object, which need not be the one that defines it
    full = (_imports(module).get(head) if module else None) or _imported_anywhere(head)
    if full and full != target:
        retry = node.deepcopy()
        retry["reftarget"] = f"{full}.{rest}" if rest else full
        # a type alias is data, not a class: any kind of object will do
        retry["reftype"] = "obj"
        domain = env.domains["py"]
        resolved = intersphinx.missing_reference(app, env, retry, contnode) or domain.resolve_xref(
            env, node["refdoc"], app.builder, "obj", retry["reftarget"], retry, contnode
        )
        if resolved is not None:
            return resolved
        target = retry["reftarget"]
    if _ours(target, module, cls):
        return contnode
    return None


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the resolver after intersphinx, so that it sees only what intersphinx could not resolve."""
    app.connect("missing-reference", _missing_reference, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
