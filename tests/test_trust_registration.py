"""Registration does not depend on what a user imports first, and the start-up hook can be switched off.

Each case runs in a fresh interpreter (a forked child of one that has imported only numpy and torch), so that nothing
of PyKEEN or of this package is loaded before the case's first statement.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

OURS = "pykeen_backfill.representation.backfill.BackfillRepresentation"
PYKEENS = "pykeen.nn.representation.BackfillRepresentation"

#: a user's first statement, as it would be written at the top of a script
FIRST_STATEMENTS = [
    "import pykeen",
    "from pykeen.nn import representation_resolver",
    "from pykeen.models import DistMult",
    "from pykeen.pipeline import pipeline",
    "import pykeen_backfill",
    "from pykeen_backfill.errors import InvalidIdsError",
    "import pykeen_backfill.warm_start",
    "from pykeen_backfill.cli import main",
]

_PROBE = r"""
import json, os, sys, warnings
import numpy, torch  # noqa: F401

def probe(statement):
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as caught:
        exec(statement, {})
        import pykeen.nn
        from pykeen.models import DistMult
        from pykeen.nn.representation import Representation
        cls = pykeen.nn.representation_resolver.lookup("backfill")
        try:
            model = DistMult(
                triples_factory=__import__("pykeen.datasets", fromlist=["Nations"]).Nations().training,
                embedding_dim=4,
                entity_representations="backfill",
                entity_representations_kwargs=dict(base_ids=[0, 1]),
            )
            built = type(model.entity_representations[0]).__module__
        except Exception as error:
            built = f"{type(error).__name__}: {error}"
    ours = [c for c in _subclasses(Representation) if c.__module__.startswith("pykeen_backfill")]
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "built": built,
        "our_subclasses": len(ours),
        "warnings": [str(w.message) for w in caught if "backfill" in str(w.message).lower()],
    }

def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)

for statement in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            report = probe(statement)
        except BaseException as error:
            report = {"error": f"{type(error).__name__}: {error}"}
        report["statement"] = statement
        os.write(write, (json.dumps(report) + "\n").encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        sys.stdout.write(pipe.read())
    sys.stdout.flush()
    os.waitpid(pid, 0)
"""


def _probe(statements: list[str], tmp_path, **environment: str) -> dict[str, dict]:
    env = {**os.environ, **environment}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *statements],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {report["statement"]: report for report in reports}


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="forks one child per case"),
]


def test_whatever_is_imported_first_backfill_is_ours(tmp_path) -> None:
    reports = _probe(FIRST_STATEMENTS, tmp_path)
    assert set(reports) == set(FIRST_STATEMENTS)
    wrong = {
        statement: report
        for statement, report in reports.items()
        if report.get("class") != OURS
        or not report.get("built", "").startswith("pykeen_backfill")
        or report["warnings"]
    }
    assert not wrong


def test_the_switch_leaves_pykeen_as_it_is(tmp_path) -> None:
    # what PyKEEN's own RepresentationModuleMetaTestCase needs: no subclass of Representation but PyKEEN's
    statements = ["import pykeen.nn", "from pykeen.models import DistMult"]
    reports = _probe(statements, tmp_path, PYKEEN_BACKFILL_AUTOLOAD="0")
    for statement in statements:
        assert reports[statement]["class"] == PYKEENS, reports[statement]
        assert reports[statement]["our_subclasses"] == 0, reports[statement]
    # an explicit import still registers
    reports = _probe(["import pykeen_backfill"], tmp_path, PYKEEN_BACKFILL_AUTOLOAD="0")
    assert reports["import pykeen_backfill"]["class"] == OURS


#: records every write of an import-system flag on a module spec made outside the import system itself
_SPEC_SPY = r"""
import json, sys
from importlib.machinery import ModuleSpec

writes = []

def spy(spec, name, value):
    writer = sys._getframe(1).f_globals.get("__name__")
    if name.startswith("_") and not writer.startswith("importlib."):
        writes.append(f"{writer} wrote {spec.name}.__spec__.{name}")
    object.__setattr__(spec, name, value)

ModuleSpec.__setattr__ = spy
import pykeen_backfill.warm_start
from pykeen.nn import representation_resolver
cls = representation_resolver.lookup("backfill")
print(json.dumps({"class": f"{cls.__module__}.{cls.__qualname__}", "writes": writes}))
"""


def test_registration_leaves_the_import_systems_flags_alone(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SPEC_SPY], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"class": OURS, "writes": []}
