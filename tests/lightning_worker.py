"""One PyTorch Lightning training of a model with a backfill on nations, one process or DDP; for test_lightning.py.

``python tests/lightning_worker.py OUT_DIR MODULE DEVICES MODEL``: MODULE is ``pykeen`` (PyKEEN's SLCWALitModule) or
``sharded`` (ours), DEVICES the number of CPU processes (2: Lightning's DDP strategy with gloo, which starts the second
process by running this script again). Each rank writes ``OUT_DIR/rank{rank}.json``: the batches it trained on, its
epoch time, its final parameters, and whether the frozen base rows are unchanged.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import sys
import time
from typing import Any

import pytorch_lightning
import torch

from pykeen_backfill import BackfillRepresentation

#: entities served by a frozen base of ones; the others are backfilled
BASE_IDS = [0, 2, 4, 6, 8, 10, 12]
BATCH_SIZE = 64
#: the longest any rank waits for another in a collective
TIMEOUT = datetime.timedelta(seconds=120)


class Record(pytorch_lightning.Callback):
    """Record each training batch's positive triples and the epoch's wall time."""

    def __init__(self) -> None:
        self.positives: list[list[int]] = []
        self.epoch_seconds = 0.0
        self._start = 0.0

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.epoch_seconds = time.perf_counter() - self._start

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.positives.extend(batch["positives"].tolist())


def build(module: str, model: str) -> Any:
    """Build PyKEEN's or our module, with a frozen base of ones for BASE_IDS."""
    from pykeen.contrib.lightning import SLCWALitModule

    from pykeen_backfill.scaling.lightning import ShardedSLCWALitModule

    cls = ShardedSLCWALitModule if module == "sharded" else SLCWALitModule
    model_kwargs = dict(
        embedding_dim=8,
        entity_representations="backfill",
        entity_representations_kwargs=dict(base_ids=BASE_IDS, base_kwargs=dict(initializer="ones", trainable=False)),
    )
    return cls(dataset="nations", model=model, model_kwargs=model_kwargs, batch_size=BATCH_SIZE, learning_rate=0.05)


def main(out_dir: pathlib.Path, module: str, devices: int, model: str) -> None:
    """Train one epoch and write what this rank observed."""
    from pytorch_lightning.strategies import DDPStrategy

    torch.set_num_threads(1)
    pytorch_lightning.seed_everything(0, verbose=False)
    lit = build(module, model)
    representation = lit.model.entity_representations[0]
    assert isinstance(representation, BackfillRepresentation)
    before = representation(torch.arange(lit.model.num_entities)).detach().clone()
    record = Record()
    strategy = DDPStrategy(process_group_backend="gloo", timeout=TIMEOUT) if devices > 1 else "auto"
    trainer = pytorch_lightning.Trainer(
        accelerator="cpu",
        devices=devices,
        strategy=strategy,
        max_epochs=1,
        limit_val_batches=0,
        num_sanity_val_steps=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[record],
    )
    trainer.fit(model=lit)
    after = representation(torch.arange(lit.model.num_entities)).detach()
    base_rows = after[BASE_IDS]
    observed = dict(
        rank=trainer.global_rank,
        world_size=trainer.world_size,
        batches=len(record.positives) // BATCH_SIZE,
        positives=record.positives,
        epoch_seconds=record.epoch_seconds,
        base_unchanged=torch.equal(base_rows, before[BASE_IDS]) and torch.equal(base_rows, torch.ones_like(base_rows)),
        backfill_changed=not torch.equal(after, before),
        parameters=torch.cat([p.detach().flatten() for p in lit.model.parameters()]).tolist(),
    )
    (out_dir / f"rank{trainer.global_rank}.json").write_text(json.dumps(observed))
    # every rank has written before any leaves
    trainer.strategy.barrier()


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4])
    sys.stdout.flush()
    sys.stderr.flush()
    # skip the interpreter's teardown, where gloo's C++ threads can abort a process whose work is done
    os._exit(0)
