#!/usr/bin/env python
"""A frozen base served from disk at scale: 20 million entities x 64 dims, growing by 1% new entities.

Generates (once, cached) a base table as a mappable ``.npy`` file, written chunk by chunk, and measures:

- construction of a :class:`~pykeen_backfill.representation.mapped.MappedEmbedding` over it;
- lookups and training steps against an in-memory base of the same rows (CPU time of one thread, rounds side by
  side, min/median/max);
- one training epoch over the new triples, in a child process per rank (1 process, then 2 DDP ranks with gloo), with
  the peak resident memory of each child measured from outside (its ``/proc/PID/status``), and the child's own breakdown
  into anonymous memory and mapped file pages.

Run::

    python benchmarks/scale.py --quick     # 2M x 64 base (0.5 GB); about 1.5 minutes
    python benchmarks/scale.py             # 20M x 64 base (5.1 GB); writes it once, then about 10 minutes
    python benchmarks/scale.py --precision 3   # UMLS grown from float32 and float16 exports, 3 seeds

Files go to ``benchmarks/results/`` (git ignores it): the bases in ``scale-cache/``, the figures in ``scale.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results"
DIM = 64
#: the rows of the in-memory comparison: small enough for a shared machine
COMPARED_ROWS = 2_000_000
NUM_RELATIONS = 100
BATCH = 4096
#: the training epoch's negatives per positive, drawn from all entities
NEGATIVES = 4


def base_file(rows: int, cache: pathlib.Path) -> pathlib.Path:
    """Return the cached base of ``rows`` random rows, writing it chunk by chunk if it is missing."""
    from pykeen_backfill.warm_start.stored import write_table

    path = cache / f"base-{rows}x{DIM}-float32.npy"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    generator = torch.Generator().manual_seed(rows)

    def chunks() -> Iterator[torch.Tensor]:
        for start in range(0, rows, 262_144):
            yield torch.randn(min(262_144, rows - start), DIM, generator=generator)

    start = time.perf_counter()
    write_table(partial, chunks(), num_rows=rows, row_shape=(DIM,), dtype=torch.float32)
    partial.replace(path)
    print(f"wrote {path} ({path.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def spread(values: list[float]) -> dict[str, float]:
    """Return the minimum, median and maximum."""
    return dict(min=min(values), median=statistics.median(values), max=max(values))


def side_by_side(contestants: dict[str, Callable[[], Any]], rounds: int) -> dict[str, dict[str, float]]:
    """Time each contestant once per round, alternating, as CPU time of one thread; return seconds per call."""
    times: dict[str, list[float]] = {name: [] for name in contestants}
    for _ in range(rounds):
        for name, call in contestants.items():
            start = time.process_time()
            call()
            times[name].append(time.process_time() - start)
    return {name: spread(values) for name, values in times.items()}


def construction(path: pathlib.Path) -> dict[str, float]:
    """Time building a mapped base over the file (header, size and identity checks; no rows read)."""
    from pykeen_backfill.representation.mapped import MappedEmbedding

    seconds = []
    for _ in range(5):
        start = time.perf_counter()
        MappedEmbedding(path)
        seconds.append(time.perf_counter() - start)
    return spread(seconds)


def lookups(path: pathlib.Path, rows: int, rounds: int) -> dict[str, Any]:
    """Time lookups of random ids among the first ``COMPARED_ROWS`` rows: mapped, in memory, and over all rows."""
    from pykeen.nn import Embedding
    from pykeen.nn.init import PretrainedInitializer

    from pykeen_backfill.representation.mapped import MappedEmbedding

    compared = min(rows, COMPARED_ROWS)
    mapped = MappedEmbedding(path, resident_bytes=2**40)
    values = mapped(torch.arange(compared))
    memory = Embedding(max_id=compared, shape=DIM, initializer=PretrainedInitializer(values), trainable=False)
    memory.reset_parameters()
    del values
    out: dict[str, Any] = {}
    generator = torch.Generator().manual_seed(0)
    for size in (512, BATCH * (1 + NEGATIVES)):
        ids = torch.randint(compared, (size,), generator=generator)
        assert torch.equal(mapped(ids), memory(ids))
        timed = side_by_side({"mapped": lambda ids=ids: mapped(ids), "memory": lambda ids=ids: memory(ids)}, rounds)
        everywhere = lambda size=size: mapped(torch.randint(rows, (size,), generator=generator))  # noqa: E731
        # ids over the whole file: pages in the page cache but not yet (or no longer) in this process
        timed.update(side_by_side({"mapped, all rows, fresh ids": everywhere}, rounds))
        out[str(size)] = timed
    return out


def training_steps(path: pathlib.Path, rows: int, rounds: int) -> dict[str, Any]:
    """Time a training step of DistMult whose base is mapped, and one whose base is in memory (same rows)."""
    from pykeen.nn.init import PretrainedInitializer

    from pykeen_backfill.representation.mapped import MappedEmbedding

    compared = min(rows, COMPARED_ROWS)
    values = MappedEmbedding(path, max_full_bytes=None, rows=range(compared))(None)
    rows_kwargs = dict(rows=torch.arange(compared)) if compared < rows else {}
    # the default budget of resident pages, and one above the working set of the compared rows
    mapped = MappedEmbedding(path, **rows_kwargs)
    roomy = MappedEmbedding(path, resident_bytes=2 * compared * DIM * 4, **rows_kwargs)
    in_memory = dict(base="embedding", base_kwargs=dict(initializer=PretrainedInitializer(values), trainable=False))
    models = {
        "mapped": build_model(compared, base=mapped),
        "mapped, budget above the working set": build_model(compared, base=roomy),
        "memory": build_model(compared, **in_memory),
    }
    del values
    generator = torch.Generator().manual_seed(1)
    triples = new_triples(compared, compared // 100, generator)
    steppers = {name: stepper(model, triples, generator) for name, model in models.items()}
    return side_by_side(steppers, rounds)


def build_model(num_base: int, **base: Any) -> Any:
    """DistMult over ``num_base`` base entities and 1% new ones, served by a trainable backfill."""
    from pykeen.models import DistMult
    from pykeen.triples import CoreTriplesFactory

    num_new = max(1, num_base // 100)
    factory = CoreTriplesFactory.create(
        torch.tensor([[0, 0, num_base + num_new - 1]]), num_entities=num_base + num_new, num_relations=NUM_RELATIONS
    )
    return DistMult(
        triples_factory=factory,
        embedding_dim=DIM,
        entity_representations="backfill",
        entity_representations_kwargs=dict(base_ids=torch.arange(num_base), **base),
        random_seed=0,
    )


def new_triples(num_base: int, num_new: int, generator: torch.Generator) -> torch.Tensor:
    """Two triples per new entity, each with a random base entity: the triples a grow epoch trains on."""
    new = torch.arange(num_base, num_base + num_new).repeat(2)
    known = torch.randint(num_base, (len(new),), generator=generator)
    relations = torch.randint(NUM_RELATIONS, (len(new),), generator=generator)
    heads_new = torch.arange(len(new)) % 2 == 0
    heads = torch.where(heads_new, new, known)
    tails = torch.where(heads_new, known, new)
    return torch.stack([heads, relations, tails], dim=1)


def stepper(model: Any, triples: torch.Tensor, generator: torch.Generator) -> Callable[[], None]:
    """Return one training step on a random batch: positives against tail corruptions over all entities."""
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.01)

    def step(batch: torch.Tensor | None = None) -> None:
        if batch is None:
            batch = triples[torch.randint(len(triples), (BATCH,), generator=generator)]
        h, r, t = batch.unbind(dim=1)
        negatives = torch.randint(model.num_entities, (len(batch), NEGATIVES), generator=generator)
        positive = model(h, r, t, mode=None)
        negative = model(h.repeat_interleave(NEGATIVES), r.repeat_interleave(NEGATIVES), negatives.flatten(), mode=None)
        loss = torch.nn.functional.softplus(-positive).mean() + torch.nn.functional.softplus(negative).mean()
        # PyKEEN's regularizers sum up their terms until collected, as its training loop does after each step
        loss = loss + getattr(model, "module", model).collect_regularization_term()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def epoch_child(path: pathlib.Path, rank: int, world: int, address: str, out: pathlib.Path, resident: int) -> None:
    """One process of the epoch run: build the model over the whole mapped base, train one epoch on its shard."""
    from pykeen_backfill.representation.mapped import MappedEmbedding

    torch.set_num_threads(1)
    start = time.perf_counter()
    if world > 1:
        import torch.distributed as dist

        dist.init_process_group(
            "gloo", init_method=f"tcp://{address}", rank=rank, world_size=world,
            timeout=datetime.timedelta(seconds=600),
        )  # fmt: skip
    mapped = MappedEmbedding(path, **(dict(resident_bytes=resident) if resident else {}))
    model = build_model(mapped.max_id, base=mapped)
    built = time.perf_counter() - start
    generator = torch.Generator().manual_seed(2)
    triples = new_triples(mapped.max_id, mapped.max_id // 100, generator)
    shard = triples[torch.randperm(len(triples), generator=generator)][rank::world]
    trained = model
    if world > 1:
        trained = torch.nn.parallel.DistributedDataParallel(model)
        trained.num_entities = model.num_entities
    step = stepper(trained, shard, torch.Generator().manual_seed(10 + rank))
    start = time.perf_counter()
    for batch in shard.split(BATCH):
        step(batch)
    epoch = time.perf_counter() - start
    status = {
        key: int(value.split()[0]) * 1024
        for key, value in (line.split(":", 1) for line in pathlib.Path("/proc/self/status").read_text().splitlines())
        if key in ("VmHWM", "RssAnon", "RssFile")
    }
    backfill = model.entity_representations[0].backfill
    backfill_bytes = sum(p.numel() * p.element_size() for p in backfill.parameters())
    report = dict(build_s=built, epoch_s=epoch, triples=len(shard), backfill_bytes=backfill_bytes, **status)
    out.joinpath(f"epoch-{world}-{rank}.json").write_text(json.dumps(report))
    # alive until the parent has read this process's peak memory from /proc, then gone
    sys.stdin.read()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


def epoch_run(path: pathlib.Path, world: int, out: pathlib.Path, resident: int = 0) -> dict[str, Any]:
    """Run the epoch in ``world`` child processes; measure each child's peak resident memory from outside."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    reports = [out.joinpath(f"epoch-{world}-{rank}.json") for rank in range(world)]
    for report in reports:
        report.unlink(missing_ok=True)
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", str(path), str(rank), str(world), address, str(out), str(resident)],
            env=env,
            stdin=subprocess.PIPE,
        )
        for rank in range(world)
    ]
    peaks = []
    for child, report in zip(children, reports, strict=True):
        while not report.exists():
            if child.poll() is not None:
                raise RuntimeError(f"a rank of {world} failed with status {child.returncode}")
            time.sleep(0.2)
        # the kernel's own count, read from outside before the child ends (getrusage of a child would also
        # count the parent's memory at the fork, which the child's resident set took over until its exec)
        status = pathlib.Path(f"/proc/{child.pid}/status").read_text()
        peaks.append(next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM")))
    for child in children:
        child.stdin.close()
    for child in children:
        if child.wait(timeout=600) != 0:
            raise RuntimeError(f"a rank of {world} failed with status {child.returncode}")
    reports = [json.loads(out.joinpath(f"epoch-{world}-{rank}.json").read_text()) for rank in range(world)]
    return dict(peak_rss_bytes=peaks, total_peak_rss_bytes=sum(peaks), ranks=reports)


def precision(out: pathlib.Path, seeds: int, epochs: int) -> dict[str, Any]:
    """Grow UMLS from 90% of its entities, from a float32 and a float16 export of the same run; compare test MRR."""
    import tempfile

    from pykeen.datasets import get_dataset
    from pykeen.pipeline import pipeline
    from pykeen.triples import TriplesFactory

    from pykeen_backfill.experiments.run import save_result
    from pykeen_backfill.growth import grow
    from pykeen_backfill.warm_start import export_vectors

    umls = get_dataset(dataset="umls")
    kept = set(sorted(umls.training.entity_to_id)[: int(0.9 * umls.training.num_entities)])
    labelled = umls.training.triples
    old = TriplesFactory.from_labeled_triples(labelled[[h in kept and t in kept for h, _, t in labelled]])
    hyper = dict(model="DistMult", model_kwargs=dict(embedding_dim=64), optimizer_kwargs=dict(lr=0.1))
    rows = []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory(dir=out) as scratch:
            work = pathlib.Path(scratch)
            training = dict(num_epochs=epochs, batch_size=256, use_tqdm=False)
            result = pipeline(training=old, testing=old, training_kwargs=training, random_seed=seed, **hyper)
            run = save_result(result, work / "old")
            config = dict(pipeline=dict(dataset="umls", training_kwargs=training, random_seed=seed, **hyper))
            row: dict[str, Any] = dict(seed=seed)
            for dtype in ("float32", "float16"):
                export_vectors(run, work / dtype, allow_pickle=True, tensor_format="npy", dtype=dtype)
                row[dtype] = grow(work / dtype, config).split["overall"]["mrr"]
            row["difference"] = row["float16"] - row["float32"]
            print("precision", row, flush=True)
            rows.append(row)
    return dict(runs=rows, max_abs_difference=max(abs(row["difference"]) for row in rows))


def main() -> None:
    """Measure and write ``scale.json``."""
    if sys.argv[1:2] == ["--child"]:
        path, rank, world, address, out, resident = sys.argv[2:8]
        epoch_child(pathlib.Path(path), int(rank), int(world), address, pathlib.Path(out), int(resident))
        os._exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 2M-row base instead of 20M")
    parser.add_argument("--rows", type=int, help="the base's rows (default 20M; 2M with --quick)")
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--epochs-only", action="store_true", help="only the epochs in 1 process and in 2 ranks")
    parser.add_argument("--resident-mib", type=int, default=0, help="the mapped base's resident_bytes in the epochs")
    parser.add_argument("--precision", type=int, metavar="SEEDS", help="only the float16 against float32 growth")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.precision:
        args.out.mkdir(parents=True, exist_ok=True)
        report = precision(args.out, args.precision, epochs=20)
        args.out.joinpath("scale-precision.json").write_text(json.dumps(report, indent=2))
        print(json.dumps(report, indent=2))
        return
    rows = args.rows or (COMPARED_ROWS if args.quick else 20_000_000)
    rounds = 5 if args.quick else 15
    args.out.mkdir(parents=True, exist_ok=True)
    path = base_file(rows, args.out / "scale-cache")
    results: dict[str, Any] = dict(rows=rows, dim=DIM, file_bytes=path.stat().st_size, load_before=os.getloadavg())
    if not args.epochs_only:
        results["construction_s"] = construction(path)
        print("construction", results["construction_s"], flush=True)
        results["lookup_s"] = lookups(path, rows, rounds)
        print("lookups", json.dumps(results["lookup_s"], indent=1), flush=True)
        results["step_s"] = training_steps(path, rows, rounds)
        print("steps", results["step_s"], flush=True)
    for world in (1, 2):
        results[f"epoch_{world}"] = epoch_run(path, world, args.out, resident=args.resident_mib * 2**20)
        print(f"epoch with {world} process(es)", json.dumps(results[f"epoch_{world}"], indent=1), flush=True)
    results["load_after"] = os.getloadavg()
    name = "scale-quick.json" if args.quick else "scale-epochs.json" if args.epochs_only else "scale.json"
    name = name.replace(".json", f"-{args.resident_mib}mib.json") if args.resident_mib else name
    args.out.joinpath(name).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
