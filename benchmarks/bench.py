#!/usr/bin/env python
"""Time pykeen-backfill's ``BackfillRepresentation`` beside plain embeddings and PyKEEN's built-in, in one process.

Every figure is a ratio of two contestants timed in the same round: each round times every contestant of every row
once, in a shuffled order, so that a machine that is busy for a while slows all of them alike. The table gives the
ratio's minimum, median and maximum over the rounds, measured as CPU time of one thread (``torch.set_num_threads(1)``,
``time.process_time``), which other work on the machine disturbs far less than wall-clock, and the median wall-clock
ratio beside it, with the load average before and after. Run::

    python benchmarks/bench.py --quick     # 100k ids; about 30 seconds, 1.1 GB
    python benchmarks/bench.py             # 1M ids; about 1.5 minutes, 5.2 GB
    python benchmarks/bench.py --docs      # also refresh docs/_static/benchmark.*
    python benchmarks/bench.py --device cuda   # on a GPU: wall-clock until the device is done

Results go to ``--out`` (default ``benchmarks/results/``, which git ignores): ``benchmark.json`` (every
measurement), ``benchmark.txt`` (the table, reStructuredText) and ``benchmark.png`` (needs matplotlib,
``pip install pykeen-backfill[benchmarks]``). Committed files are only written with ``--docs``.

The setting: half of the ids, a random half, are served by a frozen base ``Embedding``, the others by a trainable
backfill ``Embedding``. PyKEEN's built-in and ours are given the *same* parts, and the script checks that they return
the same tensors before it times anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import platform
import random
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from pykeen.nn import Embedding
from pykeen.nn.representation import BackfillRepresentation as BuiltinBackfill

from pykeen_backfill import BackfillRepresentation

HERE = pathlib.Path(__file__).resolve().parent
DOCS_STATIC = HERE.parent / "docs" / "_static"
#: a machine whose load average exceeds this share of its cores is too busy for wall-clock figures
BUSY_SHARE = 0.5


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of one run."""

    max_id: int = 1_000_000
    dim: int = 128
    batch: int = 26_112
    small_batch: int = 512
    rounds: int = 5
    #: calls per timing, so that one timing lasts long enough for process_time's resolution
    calls: Mapping[str, int] = dataclasses.field(default_factory=lambda: {"large": 5, "small": 200, "slow": 1})
    #: entities of the compiled DistMult
    entities: int = 20_000
    compile: bool = True
    #: where the tensors live; on an accelerator every timing waits for the device, and CPU time is not reported
    device: str = "cpu"


FULL = Config()
QUICK = Config(max_id=100_000, rounds=3, entities=5_000)


@dataclasses.dataclass
class Row:
    """One line of the table: two contestants, timed in the same rounds, and what the ratio should be."""

    name: str
    ours: Callable[[], Any]
    reference: Callable[[], Any]
    reference_name: str
    calls: int
    goal: str = ""
    cpu: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    wall: list[tuple[float, float]] = dataclasses.field(default_factory=list)


def _time(fn: Callable[[], Any], calls: int) -> tuple[float, float]:
    """Return CPU and wall seconds per call; on an accelerator, both are wall seconds until the device is done."""
    accelerated = torch.cuda.is_available() and torch.cuda.is_initialized()
    if accelerated:
        torch.cuda.synchronize()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    if accelerated:
        torch.cuda.synchronize()
        elapsed = (time.perf_counter() - wall) / calls
        return elapsed, elapsed
    return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


def _step(module: Callable[..., torch.Tensor], params: torch.nn.Module, query: Any, w: torch.Tensor) -> Callable:
    def run() -> None:
        params.zero_grad(set_to_none=True)
        (module(query) * w).sum().backward()

    return run


def _adam_step(module: Callable[..., torch.Tensor], params: torch.nn.Module, query: Any, w: torch.Tensor) -> Callable:
    """A whole training step: forward, backward and an Adam update of the trainable parameters."""
    optimizer = torch.optim.Adam([p for p in params.parameters() if p.requires_grad], lr=1e-9)
    backward = _step(module, params, query, w)

    def run() -> None:
        backward()
        optimizer.step()

    return run


def build_rows(config: Config, log: Callable[[str], None]) -> list[Row]:
    """Build the contestants and the rows; check that ours and the built-in agree first."""
    generator = torch.Generator().manual_seed(0)
    n, dim = config.max_id, config.dim
    base_ids = torch.randperm(n, generator=generator)[: n // 2]
    listed = base_ids.tolist()
    torch.manual_seed(0)
    base = Embedding(max_id=n // 2, shape=dim, trainable=False)
    backfill = Embedding(max_id=n - n // 2, shape=dim)
    ours = BackfillRepresentation(max_id=n, base_ids=base_ids, base=base, backfill=backfill)
    builtin = BuiltinBackfill(max_id=n, base_ids=listed, base=base, backfill=backfill)
    pykeen_plain, torch_plain = Embedding(max_id=n, shape=dim), torch.nn.Embedding(n, dim)
    device = torch.device(config.device)
    for module in (ours, builtin, pykeen_plain, torch_plain):
        module.to(device)
    large, small = (
        torch.randint(n, (size,), generator=generator).to(device) for size in (config.batch, config.small_batch)
    )
    with torch.no_grad():
        for query in (large, small, None):
            if not torch.equal(ours(query), builtin(query)):
                raise AssertionError(f"ours differs from the built-in for indices={query!r}")
        if device.type == "cuda":
            check_sync_free(ours, (large, small, None))
    weights = torch.randn(config.batch, dim, generator=generator).to(device)
    table = torch_plain.weight.detach()
    calls = config.calls
    no_grad = torch.no_grad()

    def lookup(rep: Callable[..., torch.Tensor], query: torch.Tensor | None) -> Callable[[], Any]:
        def run() -> Any:
            with no_grad:
                return rep(query)

        return run

    rows = []
    for label, query, count, goal in (
        ("lookup of {:,} ids", large, "large", "<= 3"),
        ("lookup of {:,} ids", small, "small", "<= 3"),
    ):
        name = label.format(query.numel())
        rows += [
            Row(f"{name}", lookup(ours, query), lookup(torch_plain, query), "torch.nn.Embedding", calls[count], goal),
            Row(f"{name}", lookup(ours, query), lookup(pykeen_plain, query), "pykeen Embedding", calls[count], goal),
            Row(f"{name}", lookup(builtin, query), lookup(ours, query), "ours (built-in / ours)", calls[count]),
        ]
    rows += [
        Row("all rows", lookup(ours, None), table.clone, "one copy of the table", calls["slow"], "<= 1.5"),
        Row("all rows", lookup(builtin, None), lookup(ours, None), "ours (built-in / ours)", calls["slow"]),
        Row(
            f"training step, {config.batch:,} ids",
            _step(builtin, builtin, large, weights),
            _step(ours, ours, large, weights),
            "ours (built-in / ours)",
            calls["slow"],
            ">= 1.5",
        ),
        Row(
            f"training step with Adam's update, {config.batch:,} ids",
            _adam_step(builtin, builtin, large, weights),
            _adam_step(ours, ours, large, weights),
            "ours (built-in / ours)",
            calls["slow"],
        ),
    ]
    if device.type != "cpu":
        # construction is work on the host, measured on the CPU
        return rows + (compiled_rows(config, ours, large, weights, log) if config.compile else [])
    rows += [
        # what a model pays without a base: every row trainable, in one table
        Row(
            f"training step, {config.batch:,} ids",
            _step(ours, ours, large, weights),
            _step(pykeen_plain, pykeen_plain, large, weights),
            "pykeen Embedding",
            calls["slow"],
        ),
        Row(
            "construction from a Python list",
            lambda: BuiltinBackfill(max_id=n, base_ids=listed, base=base, backfill=backfill),
            lambda: BackfillRepresentation(max_id=n, base_ids=listed, base=base, backfill=backfill),
            "ours (built-in / ours)",
            calls["slow"],
            ">= 1",
        ),
    ]
    if config.compile:
        rows += compiled_rows(config, ours, large, weights, log)
    return rows


def check_sync_free(rep: BackfillRepresentation, queries: Sequence[torch.Tensor | None]) -> None:
    """Look each query up with every synchronising CUDA operation turned into an error, forward and backward."""
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for query in queries:
            rep(query)
        with torch.enable_grad():
            rep(queries[0]).sum().backward()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    rep.zero_grad(set_to_none=True)


def compiled_rows(
    config: Config, ours: BackfillRepresentation, query: torch.Tensor, weights: torch.Tensor, log: Callable[[str], None]
) -> list[Row]:
    """Rows for torch.compile (inductor): the lookup, and a DistMult training step, each against eager."""
    from pykeen.models import DistMult
    from pykeen.triples import CoreTriplesFactory

    log("compiling (inductor; excluded from the figures) ...")
    compiled = torch.compile(ours)
    generator = torch.Generator().manual_seed(1)
    n, dim = config.entities, 64
    triples = torch.stack(
        [
            torch.randint(n, (4 * n,), generator=generator),
            torch.randint(10, (4 * n,), generator=generator),
            torch.randint(n, (4 * n,), generator=generator),
        ],
        dim=1,
    )
    factory = CoreTriplesFactory.create(triples, num_entities=n, num_relations=10)
    base = Embedding(max_id=n // 2, shape=dim, trainable=False)
    kwargs = dict(base_ids=torch.randperm(n, generator=generator)[: n // 2], base=base)
    model = DistMult(
        triples_factory=factory,
        embedding_dim=dim,
        entity_representations=BackfillRepresentation,
        entity_representations_kwargs=kwargs,
        # a regularizer's running term would tie one step's graph to the next
        regularizer=None,
        random_seed=0,
    )
    model.to(config.device)
    batch = triples[: config.batch].to(config.device)
    score = torch.compile(model.score_hrt)
    with torch.no_grad():
        if not torch.equal(compiled(query), ours(query)):
            raise AssertionError("the compiled lookup differs from the eager one")
        torch.testing.assert_close(score(batch), model.score_hrt(batch))
    ones = torch.ones(len(batch), 1, device=batch.device)
    rows = [
        Row(
            f"compiled lookup of {query.numel():,} ids",
            lambda: ours(query),
            lambda: compiled(query),
            "compiled (eager / compiled)",
            config.calls["large"],
            ">= 1",
        ),
        Row(
            f"compiled DistMult training step, {len(batch):,} triples",
            _step(model.score_hrt, model, batch, ones),
            _step(score, model, batch, ones),
            "compiled (eager / compiled)",
            config.calls["slow"],
            ">= 1",
        ),
    ]
    for row in rows:  # compile the backward pass too, outside the timings
        row.reference()
    return rows


def run_rounds(rows: Sequence[Row], rounds: int, log: Callable[[str], None]) -> None:
    """Time every row once per round, in shuffled order, and log progress with an estimate of the time left."""
    for row in rows:
        row.ours(), row.reference()  # warm up
    started = time.perf_counter()
    total = rounds * len(rows)
    for index in range(rounds):
        order = list(rows)
        random.shuffle(order)
        for position, row in enumerate(order, start=1):
            pair = [("ours", row.ours), ("reference", row.reference)]
            random.shuffle(pair)
            times = dict((name, _time(fn, row.calls)) for name, fn in pair)
            row.cpu.append((times["ours"][0], times["reference"][0]))
            row.wall.append((times["ours"][1], times["reference"][1]))
            done = index * len(rows) + position
            elapsed = time.perf_counter() - started
            log(
                f"round {index + 1}/{rounds}, {position}/{len(rows)}: {row.name} vs {row.reference_name}; "
                f"about {elapsed / done * (total - done):.0f} s left"
            )


def _spread(pairs: Sequence[tuple[float, float]]) -> tuple[float, float, float]:
    ratios = [ours / reference for ours, reference in pairs]
    return min(ratios), statistics.median(ratios), max(ratios)


def summarise(rows: Sequence[Row], load: tuple[Sequence[float], Sequence[float]]) -> dict[str, Any]:
    """Return every measurement and the ratios, as stored in the JSON file."""
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_initialized() else ""),
        "device": "cuda" if torch.cuda.is_initialized() else "cpu",
        "load_average": {"before": list(load[0]), "after": list(load[1])},
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "rows": [
            {
                "name": row.name,
                "reference": row.reference_name,
                "goal": row.goal,
                "cpu_ms": [[1e3 * a, 1e3 * b] for a, b in row.cpu],
                "wall_ms": [[1e3 * a, 1e3 * b] for a, b in row.wall],
                "cpu_ratio": _spread(row.cpu),
                "wall_ratio": _spread(row.wall),
            }
            for row in rows
        ],
    }


def render(summary: Mapping[str, Any]) -> str:
    """Return the table as reStructuredText, with a loud warning when the machine was too busy for wall-clock."""
    head = ["figure", "relative to", "CPU ms, median", "ratio (CPU) min / median / max", "wall", "goal"]
    lines = []
    for row in summary["rows"]:
        first, second = (statistics.median(pair[i] for pair in row["cpu_ms"]) for i in (0, 1))
        low, mid, high = row["cpu_ratio"]
        lines.append(
            [
                row["name"],
                row["reference"],
                f"{first:.3g} / {second:.3g}",
                f"{low:.2f} / {mid:.2f} / {high:.2f}",
                f"{row['wall_ratio'][1]:.2f}",
                row["goal"],
            ]
        )
    widths = [max(len(cells[i]) for cells in [head, *lines]) for i in range(len(head))]
    rule = "  ".join("=" * w for w in widths)
    body = ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() for cells in lines]
    table = [rule, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip(), rule, *body, rule]
    load = summary["load_average"]
    notes = [
        f"Ratios are ours / reference (built-in / ours and eager / compiled where named so: higher is better for us). "
        f"Load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load['before'])}; after: "
        f"{', '.join(f'{x:.2f}' for x in load['after'])}; {summary['machine']}; peak memory "
        f"{summary['peak_rss_gb']:.1f} GB.",
    ]
    if summary.get("device") == "cuda":
        notes.insert(
            0,
            "On the GPU, both columns are wall-clock until the device has finished (``torch.cuda.synchronize``); "
            "every lookup first ran once under ``torch.cuda.set_sync_debug_mode('error')``.\n",
        )
    cores = os.cpu_count() or 1
    if max(load["before"][0], load["after"][0]) > BUSY_SHARE * cores:
        notes.insert(
            0,
            ".. warning:: THE MACHINE WAS BUSY (load average above half its cores): the wall-clock column "
            "is not meaningful; only the CPU-time ratios are.\n",
        )
    return "\n".join([*notes, "", *table]) + "\n"


def plot(summary: Mapping[str, Any], path: pathlib.Path) -> None:
    """Plot each ratio's median with its min-max spread, large enough to read."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary["rows"]
    labels = [f"{row['name']}\nvs {row['reference']}" for row in rows]
    mids = [row["cpu_ratio"][1] for row in rows]
    errors = [
        [m - row["cpu_ratio"][0] for m, row in zip(mids, rows, strict=True)],
        [row["cpu_ratio"][2] - m for m, row in zip(mids, rows, strict=True)],
    ]
    fig, ax = plt.subplots(figsize=(11, 0.75 * len(rows) + 1.5))
    ax.barh(range(len(rows)), mids, xerr=errors, color="tab:blue", capsize=4)
    ax.axvline(1, color="black", linewidth=1)
    ax.set_yticks(range(len(rows)), labels, fontsize=11)
    ax.invert_yaxis()
    ax.set_xlabel("ratio of CPU time, one thread (median, min-max over rounds)", fontsize=13)
    ax.tick_params(axis="x", labelsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100k ids, 3 rounds")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (at least 3)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "results", help="directory for the results")
    parser.add_argument("--docs", action="store_true", help="also write docs/_static/benchmark.{json,txt,png}")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda: time the lookups on an accelerator")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    config = dataclasses.replace(
        config, rounds=max(3, args.rounds or config.rounds), compile=not args.no_compile, device=args.device
    )
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    started = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    before = os.getloadavg()
    log(f"building {config.max_id:,} ids x {config.dim} (load average {before[0]:.2f}) ...")
    rows = build_rows(config, log)
    log(f"timing {len(rows)} rows in {config.rounds} interleaved rounds ...")
    run_rounds(rows, config.rounds, log)
    summary = summarise(rows, (before, os.getloadavg()))
    summary["command"] = "python benchmarks/bench.py " + " ".join(sys.argv[1:] if argv is None else argv)
    table = render(summary)
    print(table)
    for directory in [args.out, *([DOCS_STATIC] if args.docs else [])]:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "benchmark.json").write_text(json.dumps(summary, indent=1))
        (directory / "benchmark.txt").write_text(table)
        try:
            plot(summary, directory / "benchmark.png")
        except ImportError:
            log("no matplotlib: no plot")
        log(f"wrote {directory}/benchmark.{{json,txt,png}}")


if __name__ == "__main__":
    main()
