"""PyKEEN's PyTorch Lightning module with a backfill: one process, and Lightning's DDP on 2 CPU processes (gloo).

Needs the ``lightning`` extra (``pip install -e ".[tests,lightning]"``); skipped with that reason where it is absent.
The DDP run uses :class:`~pykeen_backfill.scaling.lightning.ShardedSLCWALitModule`: with PyKEEN's own module every
rank trains on every batch of the epoch (measured: 24 of 24 batches per rank on nations), with ours on its share.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

pytest.importorskip(
    "pytorch_lightning", reason="the lightning extra is not installed (pip install -e '.[tests,lightning]')"
)

WORKER = pathlib.Path(__file__).with_name("lightning_worker.py")
#: seconds the whole DDP run may take, start-up and shutdown included
RUN_S = 300


def run_worker(out: pathlib.Path, module: str, devices: int, model: str) -> list[dict]:
    """Run the worker in its own process group; kill it and the rank it started after :data:`RUN_S`."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [sys.executable, str(WORKER), str(out), module, str(devices), model]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    ) as process:
        try:
            _, stderr = process.communicate(timeout=RUN_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            _, stderr = process.communicate()
            pytest.fail(f"the Lightning run did not end within {RUN_S} s:\n{stderr[-3000:]}")
    assert process.returncode == 0, stderr[-4000:]
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(devices)]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> dict:
    (observed,) = run_worker(tmp_path_factory.mktemp("single"), "sharded", 1, "DistMult")
    return observed


@pytest.fixture(scope="module")
def ddp(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    return run_worker(tmp_path_factory.mktemp("ddp"), "sharded", 2, "DistMult")


@pytest.mark.slow
def test_one_process_trains_every_batch_with_the_base_frozen(single: dict) -> None:
    assert single["world_size"] == 1
    assert single["base_unchanged"] and single["backfill_changed"]
    # one epoch: every training triple at most once, all but the last incomplete batch
    positives = [tuple(row) for row in single["positives"]]
    assert len(set(positives)) == len(positives) > 0


@pytest.mark.slow
def test_a_model_that_refuses_representation_kwargs_trains_too(tmp_path: pathlib.Path) -> None:
    (observed,) = run_worker(tmp_path, "sharded", 1, "TransE")
    assert observed["base_unchanged"] and observed["backfill_changed"]


@pytest.mark.slow
def test_ddp_ranks_end_identical_with_the_base_frozen(ddp: list[dict]) -> None:
    assert [observed["world_size"] for observed in ddp] == [2, 2]
    assert all(observed["base_unchanged"] and observed["backfill_changed"] for observed in ddp)
    assert ddp[0]["parameters"] == ddp[1]["parameters"]


@pytest.mark.slow
def test_ddp_ranks_share_the_batches_of_an_epoch(ddp: list[dict], single: dict, record_property) -> None:
    mine, other = ({tuple(row) for row in observed["positives"]} for observed in ddp)
    # each rank its own triples, together the epoch's
    assert not mine & other
    assert len(mine) + len(other) >= len(single["positives"]) - 2 * 64
    # half the batches each (one process: an odd count leaves one rank a batch short)
    assert [observed["batches"] for observed in ddp] == [single["batches"] // 2] * 2
    record_property("batches_one_process", single["batches"])
    record_property("batches_per_rank", [observed["batches"] for observed in ddp])
    record_property("epoch_seconds_one_process", single["epoch_seconds"])
    record_property("epoch_seconds_per_rank", [observed["epoch_seconds"] for observed in ddp])
