"""DDP on 2 CPU ranks (gloo) over one mapped base file: only the backfill is synchronised, and a dead rank ends the run.

Each rank is a plain process started here (see ``mapped_ddp_worker.py``): no launcher tears the group down, so a rank
whose peer died must end through its own process group's timeout, with an error it reports.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy
import pytest

WORKER = pathlib.Path(__file__).with_name("mapped_ddp_worker.py")
#: the process group's timeout in the run with a dead rank: rank 0 must give up within it
TIMEOUT_S = 20


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def run_ranks(tmp_path: pathlib.Path, mode: str, timeout_s: int) -> tuple[list[int], list[dict]]:
    table = tmp_path / "base.npy"
    numpy.save(table, numpy.random.default_rng(0).standard_normal((10, 8)).astype(numpy.float32))
    address, env = free_address(), dict(os.environ, OMP_NUM_THREADS="1")
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(rank), address, str(table), str(tmp_path), mode, str(timeout_s)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        statuses = [processes[0].wait(timeout=240)]
        if mode == "hang":
            processes[1].kill()
        statuses.append(processes[1].wait(timeout=240))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    results = [
        json.loads(path.read_text()) if (path := tmp_path / f"rank{rank}.json").exists() else {} for rank in (0, 1)
    ]
    return statuses, results


@pytest.mark.slow
def test_only_the_backfill_is_synchronised(tmp_path: pathlib.Path) -> None:
    statuses, results = run_ranks(tmp_path, "train", 120)
    assert statuses == [0, 0], results
    for observed in results:
        assert observed["states_equal_across_ranks"] and observed["base_equals_file"]
        assert observed["base_parameters"] == [] and observed["base_buffer_bytes"] == 0
        assert not any("bases" in name for name in observed["synchronised"])
        assert any("backfill" in name for name in observed["synchronised"])


@pytest.mark.slow
def test_a_dead_rank_ends_the_other_with_an_error(tmp_path: pathlib.Path) -> None:
    statuses, results = run_ranks(tmp_path, "die", TIMEOUT_S)
    assert statuses == [1, 3]
    # rank 0 was left waiting for its peer's gradients, and gave up with an error, not a hang
    assert results[0]["error"], results
    assert results[0]["seconds"] < TIMEOUT_S + 60


@pytest.mark.slow
def test_a_rank_that_stops_responding_ends_the_other_after_the_timeout(tmp_path: pathlib.Path) -> None:
    statuses, results = run_ranks(tmp_path, "hang", TIMEOUT_S)
    assert statuses[0] == 1
    assert results[0]["error"], results
    assert results[0]["seconds"] < TIMEOUT_S + 60
