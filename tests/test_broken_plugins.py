"""Broken third-party plugins, really installed, never break start-up, ``import pykeen.nn`` or our "backfill" key.

Each plugin is a tiny distribution with an entry point in the group ``pykeen.representations``, built and installed
with pip into a directory that the child interpreters find through ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pykeen
import pytest

import pykeen_backfill

#: distribution name -> (entry point name, module source)
PLUGINS: dict[str, tuple[str, str]] = {
    "bf-import-error": (
        "import_error",
        """
        import a_module_that_does_not_exist_anywhere
        """,
    ),
    "bf-hook-raises": (
        "hook_raises",
        """
        from pykeen_backfill.plugins.hookspec import hookimpl

        @hookimpl
        def pykeen_representations():
            raise RuntimeError("the hook of bf-hook-raises broke")
        """,
    ),
    "bf-not-a-representation": (
        "not_a_representation",
        """
        import pluggy
        import torch

        hookimpl = pluggy.HookimplMarker("pykeen_representations")

        @hookimpl
        def pykeen_representations():
            return [torch.nn.Linear]
        """,
    ),
    "bf-clash-one": ("clash_one", "CLASH"),
    "bf-clash-two": ("clash_two", "CLASH"),
    "bf-takes-backfill": (
        "takes_backfill",
        """
        from pykeen.nn.representation import BackfillRepresentation as Builtin, Embedding
        from pykeen_backfill.plugins.hookspec import hookimpl

        class BackfillRepresentation(Embedding):
            '''Claims the key "backfill", even declaring that it supersedes the built-in.'''

            supersedes = Builtin

        @hookimpl
        def pykeen_representations():
            return [BackfillRepresentation]
        """,
    ),
    "bf-good": (
        "good",
        """
        from pykeen.nn.representation import Embedding
        from pykeen_backfill.plugins.hookspec import hookimpl

        class ExtraRepresentation(Embedding):
            '''A well-behaved plugin next to the broken ones.'''

        @hookimpl
        def pykeen_representations():
            return [ExtraRepresentation]
        """,
    ),
}

CLASH = """
from pykeen.nn.representation import Embedding
from pykeen_backfill.plugins.hookspec import hookimpl

class ClashRepresentation(Embedding):
    '''Takes the key "clash", as another plugin does.'''

@hookimpl
def pykeen_representations():
    return [ClashRepresentation]
"""

#: installs local projects without touching the network or the running environment
PIP_INSTALL = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]

#: the plugins that must each cause exactly one warning
BROKEN = ["bf-import-error", "bf-hook-raises", "bf-not-a-representation", "bf-takes-backfill"]

#: a child's report: where "backfill" and the plugins' keys resolve to, and the plugin warnings
PROBE = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    {import_first}
    import pykeen.nn
    from pykeen.nn import representation_resolver as resolver
try:
    # what a model's "backfill" hint builds; PyKEEN's built-in cannot take a model's shape, ours can
    built = type(resolver.make("backfill", max_id=10, base_ids=[1, 2], shape=4)).__module__
except ValueError as error:
    built = type(error).__name__
print(json.dumps(dict(
    backfill=resolver.lookup("backfill").__module__,
    model=built,
    keys={{key: resolver.lookup(key).__module__ for key in ("extra", "clash") if key in resolver.lookup_dict}},
    warnings=[str(w.message) for w in caught if type(w.message).__name__ == "PluginWarning"],
    others=[str(w.message) for w in caught if type(w.message).__name__ != "PluginWarning"],
)))
"""


def _write_distribution(root: pathlib.Path, distribution: str, entry_point: str, source: str) -> pathlib.Path:
    module = distribution.replace("-", "_")
    project = root / distribution
    (project / module).mkdir(parents=True)
    (project / module / "__init__.py").write_text(textwrap.dedent(CLASH if source == "CLASH" else source))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{distribution}"
            version = "0.0.1"

            [project.entry-points."pykeen.representations"]
            {entry_point} = "{module}"

            [tool.hatch.build.targets.wheel]
            packages = ["{module}"]
            """,
        ),
    )
    return project


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Build and install every plugin distribution into one directory."""
    root = tmp_path_factory.mktemp("plugins")
    projects = [_write_distribution(root / "src", name, *spec) for name, spec in PLUGINS.items()]
    target = root / "installed"
    done = subprocess.run(
        [*PIP_INSTALL, "--target", str(target), *map(str, projects)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return target


def _run(code: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args, "-c", code], capture_output=True, text=True, env=env, timeout=180, check=False
    )


def _env(plugin_dir: pathlib.Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYKEEN_BACKFILL_AUTOLOAD"}
    path = os.pathsep.join(filter(None, [str(plugin_dir), env.get("PYTHONPATH")]))
    return dict(env, PYTHONPATH=path, **extra)


def _probe(plugin_dir: pathlib.Path, *, import_first: str = "pass", **extra: str) -> dict:
    done = _run(PROBE.format(import_first=import_first), env=_env(plugin_dir, **extra))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_one_warning_per_broken_plugin(warnings: list[str]) -> None:
    for distribution in BROKEN:
        entry_point = PLUGINS[distribution][0]
        naming = [w for w in warnings if repr(entry_point) in w and repr(distribution) in w]
        assert len(naming) == 1, (distribution, warnings)
    clash = [w for w in warnings if "clash on the key 'clash'" in w]
    assert len(clash) == 1, warnings
    assert "'clash_one'" in clash[0] and "'clash_two'" in clash[0]
    assert "bf-clash-one" in clash[0] and "bf-clash-two" in clash[0]
    assert len(warnings) == len(BROKEN) + 1, warnings


@pytest.mark.slow
def test_interpreter_start_up_is_untouched(plugin_dir: pathlib.Path) -> None:
    done = _run("import sys; print('pykeen_backfill' in sys.modules, 'pykeen' in sys.modules)", env=_env(plugin_dir))
    assert done.returncode == 0 and done.stderr == ""
    # the start-up hook ran, and loaded neither PyKEEN nor any plugin
    assert done.stdout.split() == ["True", "False"]


@pytest.mark.slow
def test_broken_plugins_are_skipped_with_one_warning_each(plugin_dir: pathlib.Path) -> None:
    report = _probe(plugin_dir)
    assert report["backfill"] == "pykeen_backfill.representation.backfill"
    assert report["model"] == "pykeen_backfill.representation.backfill"
    # good plugins still load, and of two clashing plugins exactly one holds the key
    assert report["keys"]["extra"] == "bf_good"
    assert report["keys"]["clash"] in ("bf_clash_one", "bf_clash_two")
    _check_one_warning_per_broken_plugin(report["warnings"])
    assert "a_module_that_does_not_exist_anywhere" in "".join(report["warnings"])
    assert "the hook of bf-hook-raises broke" in "".join(report["warnings"])
    assert "Linear" in "".join(report["warnings"])


@pytest.mark.slow
def test_the_switch_off_leaves_pykeen_as_it_is(plugin_dir: pathlib.Path) -> None:
    report = _probe(plugin_dir, PYKEEN_BACKFILL_AUTOLOAD="0")
    assert report["backfill"] == "pykeen.nn.representation" and report["model"] == "ValueError"
    assert report["keys"] == {} and report["warnings"] == []
    # an explicit import still registers, with the same warnings
    report = _probe(plugin_dir, import_first="import pykeen_backfill", PYKEEN_BACKFILL_AUTOLOAD="0")
    assert report["backfill"] == "pykeen_backfill.representation.backfill"
    _check_one_warning_per_broken_plugin(report["warnings"])


@pytest.mark.slow
def test_isolated_interpreter_without_site_works_through_an_explicit_import(plugin_dir: pathlib.Path) -> None:
    # -I ignores PYTHONPATH and the user's site, -S skips site-packages and thereby every .pth file
    paths = [str(plugin_dir), str(pathlib.Path(pykeen_backfill.__file__).parents[1])]
    paths.append(str(pathlib.Path(pykeen.__file__).parents[1]))
    # importing our class before pykeen.nn is the order in which registration has to wait for the class
    first = "from pykeen_backfill import BackfillRepresentation"
    code = f"import sys; sys.path[:0] = {paths!r}\n" + PROBE.format(import_first=first)
    done = _run(code, "-I", "-S", env=_env(plugin_dir))
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backfill"] == report["model"] == "pykeen_backfill.representation.backfill"
    _check_one_warning_per_broken_plugin(report["warnings"])
