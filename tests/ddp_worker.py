"""One rank of a DistributedDataParallel training of DistMult with a backfill representation; for ``test_ddp.py``.

Started by ``python -m torch.distributed.run --standalone --nproc_per_node=2 tests/ddp_worker.py OUT_DIR
FIND_UNUSED``. Each rank trains on its own shard of nations with the gloo backend; the entity representation is a
frozen, pre-trained base for half of the entities and a trainable backfill for the rest. Some steps are fed batches
that touch only base entities, or only backfill entities, on one rank or on both. Each rank writes what it observed
to ``OUT_DIR/rank{rank}.json``.

Start-up and shutdown are deterministic: every collective has an explicit timeout (a lost peer is an error within
:data:`TIMEOUT`, not a hang), and a rank leaves with :func:`os._exit` once its result is written and the group is
destroyed. Leaving through the interpreter's normal exit ran the C++ destructors of gloo's and the store's threads in
an order that sometimes ended in ``terminate called without an active exception`` (SIGABRT) after the work was done.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import sys
import traceback
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

#: entities served by the frozen base; the others are backfilled
BASE_IDS = [0, 2, 4, 6, 8, 10, 12]

#: what each rank is fed in the special steps: "all", "base" (base entities only) or "backfill" (backfill only)
SPECIAL_STEPS = [("base", "all"), ("all", "backfill"), ("base", "base"), ("backfill", "backfill"), ("base", "backfill")]

BATCH_SIZE = 64
#: the longest any rank waits for the others in a collective, the rendezvous included
TIMEOUT = datetime.timedelta(seconds=120)
NUM_NORMAL_STEPS = 6


def pretrained() -> torch.Tensor:
    """Return the frozen base's vectors, as if learned earlier."""
    return torch.randn(len(BASE_IDS), 8, generator=torch.Generator().manual_seed(0))


def build_model() -> Any:
    """Build DistMult on nations with a frozen base and a trainable backfill."""
    from pykeen.datasets import Nations
    from pykeen.models import DistMult
    from pykeen.nn.init import PretrainedInitializer

    return DistMult(
        triples_factory=Nations().training,
        embedding_dim=8,
        entity_representations="backfill",
        entity_representations_kwargs=dict(
            base_ids=BASE_IDS,
            base_kwargs=dict(initializer=PretrainedInitializer(pretrained()), trainable=False),
        ),
        random_seed=0,
    )


def batch(kind: str, generator: torch.Generator, triples: torch.Tensor, num_entities: int) -> torch.Tensor:
    """Return triples and corrupted tails whose entities all lie in the set named by ``kind``."""
    allowed = torch.arange(num_entities)
    if kind != "all":
        in_base = torch.isin(allowed, torch.tensor(BASE_IDS))
        allowed = allowed[in_base] if kind == "base" else allowed[~in_base]
    keep = torch.isin(triples[:, 0], allowed) & torch.isin(triples[:, 2], allowed)
    pool = triples[keep]
    chosen = pool[torch.randint(len(pool), (BATCH_SIZE,), generator=generator)]
    negatives = allowed[torch.randint(len(allowed), (BATCH_SIZE,), generator=generator)]
    return torch.cat([chosen, negatives.unsqueeze(1)], dim=1)


def loss_of(model: torch.nn.Module, inner: Any, rows: torch.Tensor) -> torch.Tensor:
    """Return a softplus loss of positives against tail-corrupted negatives, plus the model's regularisation."""
    h, r, t, negative = rows.unbind(dim=1)
    positive_scores = model(h, r, t, mode=None)
    negative_scores = model(h, r, negative, mode=None)
    loss = torch.nn.functional.softplus(-positive_scores).mean() + torch.nn.functional.softplus(negative_scores).mean()
    return loss + inner.collect_regularization_term()


def gathered(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Return every rank's copy of a tensor."""
    copies = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(copies, tensor.contiguous())
    return copies


def main(out_dir: pathlib.Path, find_unused_parameters: bool) -> None:
    """Train, checking gradients after every step, and write the observations."""
    from pykeen.datasets import Nations

    rank, world_size = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    inner = build_model()
    representation = inner.entity_representations[0]
    ddp = DistributedDataParallel(inner, find_unused_parameters=find_unused_parameters)
    # the frozen base has no gradient, so DDP neither synchronises nor expects one for it
    optimizer = torch.optim.Adam([p for p in inner.parameters() if p.requires_grad], lr=0.05)
    triples = Nations().training.mapped_triples
    initial_backfill = representation.backfill._embeddings.weight.detach().clone()
    generator = torch.Generator().manual_seed(100 + rank)  # each rank draws its own batches
    plan = [("all", "all")] * NUM_NORMAL_STEPS + SPECIAL_STEPS
    observed: dict[str, Any] = dict(rank=rank, world_size=world_size, steps=[])
    for kinds in plan:
        rows = batch(kinds[rank], generator, triples, inner.num_entities)
        # the local gradient, without synchronisation, to check the all-reduce against
        optimizer.zero_grad()
        with ddp.no_sync():
            loss_of(ddp, inner, rows).backward()
        local = representation.backfill._embeddings.weight.grad.clone()
        optimizer.zero_grad()
        loss = loss_of(ddp, inner, rows)
        loss.backward()
        synced = representation.backfill._embeddings.weight.grad
        expected = torch.stack(gathered(local)).mean(dim=0)
        observed["steps"].append(
            dict(
                kinds=list(kinds),
                loss=loss.item(),
                local_grad_norm=local.norm().item(),
                synced_grad_norm=synced.norm().item(),
                max_error=(synced - expected).abs().max().item(),
                grads_equal_across_ranks=all(torch.equal(copy, synced) for copy in gathered(synced)),
                base_grad_is_none=representation.base._embeddings.weight.grad is None,
            )
        )
        optimizer.step()
        inner.post_parameter_update()
    state = torch.cat([p.detach().flatten() for p in inner.parameters()])
    observed["states_equal_across_ranks"] = all(torch.equal(copy, state) for copy in gathered(state))
    observed["base_equals_pretrained"] = torch.equal(representation.base._embeddings.weight, pretrained())
    observed["backfill_changed"] = not torch.equal(representation.backfill._embeddings.weight, initial_backfill)
    (out_dir / f"rank{rank}.json").write_text(json.dumps(observed, indent=2))


def run_rank(out_dir: pathlib.Path, find_unused_parameters: bool) -> int:
    """Run :func:`main` in a process group, and close the group whatever happens; return the exit status."""
    dist.init_process_group("gloo", timeout=TIMEOUT)
    status = 0
    try:
        main(out_dir, find_unused_parameters)
    except Exception:  # noqa: BLE001 -- reported, and the exit status tells the launcher
        traceback.print_exc()
        status = 1
    try:
        # no rank closes its connections while another still uses them: gloo aborts a process whose peer went away
        if status == 0:
            dist.barrier()
    finally:
        dist.destroy_process_group()
    return status


if __name__ == "__main__":
    exit_status = run_rank(pathlib.Path(sys.argv[1]), find_unused_parameters=sys.argv[2] == "1")
    sys.stdout.flush()
    sys.stderr.flush()
    # skip the interpreter's teardown: the result is written and the group destroyed, and the C++ destructors of
    # gloo's threads that run at teardown are what aborted (SIGABRT) now and then
    os._exit(exit_status)
