"""DistributedDataParallel training with a backfill representation on 2 CPU processes (gloo, torch.distributed.run).

Every part of a backfill representation takes part in every forward pass, with an empty index where a batch touches
none of its ids, so every trainable parameter gets a gradient (possibly zero) on every rank in every step. That is
what DDP expects with ``find_unused_parameters=False``, the strict setting, which the run uses: a parameter left out
on one rank would make DDP fail in the next step. The frozen base has no gradient, so DDP does not synchronise it.

Every wait is bounded: the rendezvous (:data:`RENDEZVOUS_S`), each collective (``ddp_worker.TIMEOUT``) and the whole
run (:data:`RUN_S`, after which the launcher and its ranks are killed as one process group).
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

WORKER = pathlib.Path(__file__).with_name("ddp_worker.py")
#: seconds the ranks may take to find each other
RENDEZVOUS_S = 120
#: seconds the whole run may take, start-up and shutdown included
RUN_S = 300


def launch(*args: str) -> subprocess.CompletedProcess:
    """Run ``torch.distributed.run`` with 2 CPU ranks; kill the launcher and its ranks together after :data:`RUN_S`."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "--max-restarts=0"]
    command += [f"--rdzv-conf=join_timeout={RENDEZVOUS_S}", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=RUN_S)
        except subprocess.TimeoutExpired:
            # the ranks are the launcher's children: end them too, not only the launcher
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"the DDP run did not end within {RUN_S} s:\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("ddp")
    done = launch(str(WORKER), str(out), "0")
    # the ranks' own messages, not only the launcher's summary at the end
    assert done.returncode == 0, "\n".join(line for line in done.stderr.splitlines() if "rank" in line)[-6000:]
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]


@pytest.mark.slow
def test_both_ranks_end_identical_with_the_base_untouched(ranks: list[dict]) -> None:
    for observed in ranks:
        assert observed["world_size"] == 2
        assert observed["states_equal_across_ranks"]
        assert observed["base_equals_pretrained"]
        assert observed["backfill_changed"]
        assert all(step["base_grad_is_none"] for step in observed["steps"])


@pytest.mark.slow
def test_backfill_gradients_are_all_reduced(ranks: list[dict]) -> None:
    for observed in ranks:
        for step in observed["steps"]:
            # the synchronised gradient is the mean of the ranks' local gradients, and the same on every rank
            assert step["max_error"] <= 1e-7, step
            assert step["grads_equal_across_ranks"], step
    # the ranks trained on different batches
    assert any(a["loss"] != b["loss"] for a, b in zip(ranks[0]["steps"], ranks[1]["steps"], strict=True))


@pytest.mark.slow
def test_batches_that_touch_only_one_part_do_not_break_ddp(ranks: list[dict]) -> None:
    kinds = {tuple(step["kinds"]) for step in ranks[0]["steps"]}
    assert {("base", "all"), ("all", "backfill"), ("base", "base"), ("backfill", "backfill")} <= kinds
    for rank, observed in enumerate(ranks):
        for step in observed["steps"]:
            mine, other = step["kinds"][rank], step["kinds"][1 - rank]
            if mine == "base":
                # no backfill id in this rank's batch: a zero local gradient ...
                assert step["local_grad_norm"] == 0.0
                # ... and after the all-reduce, the other rank's share
                assert (step["synced_grad_norm"] > 0.0) == (other != "base")
            else:
                assert step["local_grad_norm"] > 0.0
