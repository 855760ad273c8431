"""The package's shape: no import circle, no module too long, and registration whatever a user imports first."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).parents[1] / "pykeen_backfill"


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _owner(name: str) -> str | None:
    """Return the package module a dotted name belongs to, or None outside the package."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Every import of every module, function-level ones included, as edges between the package's modules."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, module, path.name == "__init__.py")
                targets = [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
                # importlib.import_module("pykeen_backfill.x") with a literal name
                arg = node.args[0]
                targets = [arg.value] if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else []
            else:
                continue
            for target in targets:
                owner = _owner(target)
                if owner is not None and owner != module:
                    graph[module].add(owner)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for succ in sorted(graph[node]):
            if state.get(succ) == 1:
                return [*stack[stack.index(succ) :], succ]
            if succ not in state and (found := visit(succ)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_import_graph_has_no_cycle() -> None:
    graph = import_graph()
    # the checker sees the edges it must see, e.g. a function-level one
    assert "pykeen_backfill.representation.backfill" in graph["pykeen_backfill.plugins.own"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


#: the layers, lowest first: a module may import its own layer and those below, never one above
LAYERS = [
    {"errors", "version", "checks", "examples"},
    {"warm_start"},
    {"representation"},
    {"plugins"},
    {"quiet"},
    {"evaluation", "training"},
    {"experiments", "demo", "growth", "models", "scaling"},
    {"cli"},
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    for index, layer in enumerate(LAYERS):
        if top in layer:
            return index
    # the package module itself and helpers such as _moved stand outside the layers
    return len(LAYERS)


def test_lower_layers_never_import_higher_ones() -> None:
    upward = [
        f"{module} -> {target}"
        for module, targets in import_graph().items()
        for target in targets
        if _layer(module) < len(LAYERS) and _layer(target) > _layer(module)
    ]
    assert not upward


def test_the_model_matrix_is_no_part_of_the_package() -> None:
    # a test harness and docs generator (tests/model_matrix.py): no module of the package may reach it
    assert not any(name.rpartition(".")[2] in ("matrix", "model_matrix") for name in MODULES)
    reaching = [
        module
        for module, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and any("matrix" in name for name in [getattr(node, "module", None) or "", *(a.name for a in node.names)])
    ]
    assert not reaching


def test_no_module_is_longer_than_400_lines() -> None:
    long = {module: n for module, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 400}
    assert not long


#: imports each module given on the command line first, in a fresh child process per module; the children are
#: forked from one parent that has imported only torch, numpy, pandas, scipy and sklearn (the bulk of the start-up
#: time, none of them PyKEEN or ours), so that forty fresh starts take seconds instead of minutes
_PROBE = """
import json, os, sys
import numpy, pandas, scipy.stats, sklearn, torch  # noqa: F401

def probe(name):
    import importlib, warnings
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        importlib.import_module(name)
        import pykeen.nn
        cls = pykeen.nn.representation_resolver.lookup("backfill")
    ours = [str(w.message) for w in caught if "backfill" in str(w.message) or w.category.__name__ == "PluginWarning"]
    return {"module": name, "class": f"{cls.__module__}.{cls.__qualname__}", "warnings": ours}

for name in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            report = probe(name)
        except BaseException as error:
            report = {"module": name, "error": f"{type(error).__name__}: {error}"}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        print(pipe.read(), flush=True)
    os.waitpid(pid, 0)
"""


@pytest.fixture(scope="module")
def first_imports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    names = sorted(m for m in MODULES if m != "pykeen_backfill.cli.__main__")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *names],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path_factory.mktemp("first-imports"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {report["module"]: report for report in reports}


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="forks one child per module")
def test_registration_holds_whichever_module_is_imported_first(first_imports: dict[str, dict]) -> None:
    assert set(first_imports) == set(MODULES) - {"pykeen_backfill.cli.__main__"}
    wrong = {
        name: report
        for name, report in first_imports.items()
        if report.get("class") != "pykeen_backfill.representation.backfill.BackfillRepresentation"
        or report.get("warnings")
    }
    assert not wrong
