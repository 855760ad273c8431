"""Install the built wheel into a fresh virtual environment and check that "backfill" is ours without an import.

The fresh environment reuses the installed torch and PyKEEN through a ``.pth`` line naming a view of this
environment's site-packages (so the test needs no network and stays fast): a directory of links to everything there
except pykeen-backfill itself, however it was installed here (editable or from a wheel). So pip installs the wheel
instead of finding the same version already there, and only the wheel's copy and metadata are visible. Such a line
only extends ``sys.path``; the ``.pth`` files behind it do not run. Every subprocess runs outside the source tree, so
that ``import pykeen_backfill`` can only find the wheel's copy.
"""

from __future__ import annotations

import os
import pathlib
import re
import site
import statistics
import subprocess
import sys
import sysconfig
import time

import pytest
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]

LOOKUP = (
    "import sys; from pykeen.nn import representation_resolver as r; cls = r.lookup('backfill'); print(cls); "
    "print(sys.modules[cls.__module__].__file__); print('pykeen_backfill' in sys.modules)"
)


class FreshVenv:
    """A virtual environment with the wheel installed, and this environment's packages visible behind it."""

    def __init__(self, root: pathlib.Path) -> None:
        self.root = root
        self.python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        self.purelib = pathlib.Path(
            sysconfig.get_path("purelib", vars={"base": str(root), "platbase": str(root)}),
        )

    def run(self, *args: str, cwd: pathlib.Path, autoload: bool = True, timeout: int = 300):
        env = {key: value for key, value in os.environ.items() if key not in {"PYTHONPATH", "PYTHONHOME"}}
        env.pop("PYKEEN_BACKFILL_AUTOLOAD", None)
        if not autoload:
            env["PYKEEN_BACKFILL_AUTOLOAD"] = "0"
        return subprocess.run(
            [str(self.python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
        )


def _outer_site_packages() -> list[pathlib.Path]:
    """Return the site-packages directories of this environment, and wherever torch and PyKEEN were found."""
    import pykeen

    found = [pathlib.Path(module.__file__).resolve().parents[1] for module in (torch, pykeen)]
    paths = [pathlib.Path(path).resolve() for path in site.getsitepackages()] + found
    return [path for path in dict.fromkeys(paths) if path.is_dir()]


def _is_ours(name: str) -> bool:
    """Tell whether an entry of site-packages belongs to an installation of pykeen-backfill, of any kind."""
    # the package, its .dist-info, its start-up hook, and the .pth files of editable installs (pip's, hatchling's)
    return "pykeen_backfill" in name.lower().replace("-", "_")


def _view_without_us(site_packages: pathlib.Path, view: pathlib.Path) -> pathlib.Path:
    """Link every entry of ``site_packages`` into ``view``, except pykeen-backfill's package, metadata and hooks."""
    view.mkdir()
    for entry in site_packages.iterdir():
        if not _is_ours(entry.name):
            (view / entry.name).symlink_to(entry)
    return view


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    wheels = tmp_path_factory.mktemp("wheels")
    # no build isolation: hatchling comes from this environment, nothing is downloaded
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("pykeen_backfill-*.whl")
    fresh = FreshVenv(tmp_path_factory.mktemp("venv"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh.root)], check=True, timeout=300)
    views = tmp_path_factory.mktemp("outer")
    outer = [_view_without_us(path, views / str(i)) for i, path in enumerate(_outer_site_packages())]
    # the name sorts before the wheel's pykeen_backfill.pth, so torch and PyKEEN are importable when it runs
    (fresh.purelib / "00_reuse_outer_site_packages.pth").write_text("\n".join(map(str, outer)) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(fresh.python),
            "install",
            "--no-deps",
            "--no-index",
            # never "already satisfied" by a copy outside the fresh environment
            "--ignore-installed",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return fresh


@pytest.mark.slow
def test_wheel_installs_the_startup_hook(venv: FreshVenv) -> None:
    assert (venv.purelib / "pykeen_backfill.pth").is_file()
    assert (venv.purelib / "pykeen_backfill" / "__init__.py").is_file()


@pytest.mark.slow
def test_backfill_resolves_to_ours_without_an_import(venv: FreshVenv, tmp_path: pathlib.Path) -> None:
    completed = venv.run("-c", LOOKUP, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    cls, module_file, imported = completed.stdout.split("\n")[:3]
    assert cls == "<class 'pykeen_backfill.representation.backfill.BackfillRepresentation'>"
    # the wheel's copy, not the source tree behind the editable install of this environment
    assert pathlib.Path(module_file).resolve().is_relative_to(venv.purelib.resolve()), module_file
    assert imported == "True"


@pytest.mark.slow
def test_switched_off_backfill_is_pykeens(venv: FreshVenv, tmp_path: pathlib.Path) -> None:
    completed = venv.run("-c", LOOKUP, cwd=tmp_path, autoload=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    cls, _, imported = completed.stdout.split("\n")[:3]
    assert cls == "<class 'pykeen.nn.representation.BackfillRepresentation'>"
    assert imported == "False"


@pytest.mark.slow
def test_pykeen_experiments_run_uses_ours(venv: FreshVenv, tmp_path: pathlib.Path) -> None:
    config = ROOT / "pykeen_backfill" / "examples" / "distmult_backfill.json"
    completed = venv.run("-m", "pykeen", "experiments", "run", str(config), "-d", "out", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    (model_path,) = tmp_path.glob("out/*/replicates/replicate-*/trained_model.pkl")
    model = torch.load(model_path, weights_only=False)
    for representation in (model.entity_representations[0], model.relation_representations[0]):
        assert type(representation).__module__ == "pykeen_backfill.representation.backfill"


@pytest.mark.slow
def test_startup_cost_is_measured(venv: FreshVenv, tmp_path: pathlib.Path, record_property) -> None:
    """Report (not assert) what the start-up hook costs an interpreter that never imports PyKEEN."""
    timings: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(25):
        for autoload in (True, False):
            start = time.perf_counter()
            completed = venv.run("-c", "pass", cwd=tmp_path, autoload=autoload)
            timings[autoload].append(time.perf_counter() - start)
            assert completed.returncode == 0 and completed.stderr == ""
    with_hook, without = (statistics.median(timings[flag]) * 1000 for flag in (True, False))
    record_property("startup_ms_with_hook", with_hook)
    record_property("startup_ms_without_hook", without)
    print(f"python -c pass: {with_hook:.1f} ms with the hook, {without:.1f} ms without (median of 25)")


def _quickstart() -> list[str]:
    """Return the code blocks of the README's Quickstart section."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)]


def test_readme_quickstart_is_two_commands_and_ci_runs_the_second() -> None:
    install_and_demo, install_and_test = _quickstart()
    for command in (install_and_demo, install_and_test):
        assert "\n" not in command
        # torch first, in a call of its own, so that no dependency pulls in another torch
        assert command.startswith("pip install torch==2.13.0 && pip install ")
    assert install_and_demo.endswith("pykeen-backfill demo")
    assert install_and_test.endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert any(line == install_and_test or line.startswith(install_and_test + " ||") for line in ci)
