"""One rank of DDP training of DistMult whose entity base is one mapped file shared by all ranks; for test_mapped_ddp.

Started as ``python tests/mapped_ddp_worker.py RANK ADDRESS TABLE OUT_DIR MODE TIMEOUT_S`` by the test, one process per
rank, without a launcher: a rank whose peer is gone must end on its own, through the process group's timeout.
``MODE`` is ``train`` (both ranks train and report), ``die`` (rank 1 leaves with status 3 after the first step) or
``hang`` (rank 1 stops responding after the first step); rank 0 then reports the error it gets. Each rank writes
what it observed to ``OUT_DIR/rank{rank}.json``.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import sys
import time
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

BATCH_SIZE = 64
NUM_STEPS = 6
#: nations entities served by the mapped base; the others are backfilled
NUM_BASE = 10


def build_model(table: pathlib.Path) -> Any:
    """Build DistMult on nations: the first entities from the mapped file, the others from a trainable backfill."""
    from pykeen.datasets import Nations
    from pykeen.models import DistMult

    from pykeen_backfill.representation.mapped import MappedEmbedding

    return DistMult(
        triples_factory=Nations().training,
        embedding_dim=8,
        entity_representations="backfill",
        entity_representations_kwargs=dict(base_ids=list(range(NUM_BASE)), base=MappedEmbedding(table)),
        random_seed=0,
    )


def peak_rss_bytes() -> int:
    """Return the peak resident memory of this process, as the kernel counts it."""
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return -1


def train(table: pathlib.Path, mode: str, rank: int) -> dict[str, Any]:
    """Train a few steps on this rank's batches; return what was observed."""
    from pykeen.datasets import Nations

    torch.set_num_threads(1)
    inner = build_model(table)
    ddp = DistributedDataParallel(inner)
    synchronised = [name for name, p in inner.named_parameters() if p.requires_grad]
    optimizer = torch.optim.Adam([p for p in inner.parameters() if p.requires_grad], lr=0.05)
    triples = Nations().training.mapped_triples
    generator = torch.Generator().manual_seed(100 + rank)
    for step in range(NUM_STEPS):
        if mode == "die" and rank == 1 and step == 1:
            os._exit(3)
        if mode == "hang" and rank == 1 and step == 1:
            time.sleep(3600)
        rows = triples[torch.randint(len(triples), (BATCH_SIZE,), generator=generator)]
        optimizer.zero_grad()
        scores = ddp(rows[:, 0], rows[:, 1], rows[:, 2], mode=None)
        torch.nn.functional.softplus(-scores).mean().backward()
        optimizer.step()
    state = torch.cat([p.detach().flatten() for p in inner.parameters()])
    copies = [torch.empty_like(state) for _ in range(2)]
    dist.all_gather(copies, state)
    base = inner.entity_representations[0].bases[0]
    import numpy

    return dict(
        synchronised=synchronised,
        base_parameters=[name for name, _ in base.named_parameters()],
        base_buffer_bytes=sum(b.numel() * b.element_size() for b in base.buffers()),
        states_equal_across_ranks=all(torch.equal(copy, state) for copy in copies),
        base_equals_file=torch.equal(base(None), torch.from_numpy(numpy.load(table)[:NUM_BASE])),
        peak_rss_bytes=peak_rss_bytes(),
    )


def main() -> int:
    """Join the group, train, and write the observations or the error; return the exit status."""
    rank, address, table, out_dir, mode, timeout_s = sys.argv[1:7]
    rank = int(rank)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://{address}",
        rank=rank,
        world_size=2,
        timeout=datetime.timedelta(seconds=float(timeout_s)),
    )
    start = time.monotonic()
    try:
        observed: dict[str, Any] = train(pathlib.Path(table), mode, rank)
        status = 0
    except Exception as error:  # noqa: BLE001 -- reported to the test, which checks it
        observed, status = dict(error=f"{type(error).__name__}: {error}"), 1
    observed["seconds"] = time.monotonic() - start
    pathlib.Path(out_dir, f"rank{rank}.json").write_text(json.dumps(observed))
    if status == 0:
        dist.barrier()
        dist.destroy_process_group()
    return status


if __name__ == "__main__":
    exit_status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # gloo's threads may abort the interpreter's teardown when a peer is gone; the result is written
    os._exit(exit_status)
