#!/usr/bin/env python
"""Time pykeen-backfill's ``BackfillRepresentation`` beside a plain ``Embedding`` and PyKEEN's built-in.

All figures come from this one process. Each is the median of repeats taken in turns: in every round the contestants
run once each, in a shuffled order, so that a machine that is busy for a while slows all of them alike. Run::

    python benchmarks/bench.py                # 1M ids x 128 and a 200k-entity DistMult; about 6 minutes on 2 cores
    python benchmarks/bench.py --quick        # 100k ids and a 20k-entity DistMult; about a minute
    python benchmarks/bench.py --plot docs/_static/benchmark.png --json docs/_static/benchmark.json

The table is printed as a reStructuredText simple table, ready for ``docs/benchmarks.rst``. The plot needs matplotlib
(``pip install pykeen-backfill[benchmarks]``).

The setting follows issue 4: half of the ids are served by a frozen base ``Embedding``, the other half by a trainable
backfill ``Embedding``; the base ids are a random half of all ids (the least favourable layout for every contestant).
PyKEEN's built-in and ours are given the *same* base and backfill modules, and the script checks that they return the
same tensors before it times anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from pykeen.nn import Embedding
from pykeen.nn.representation import BackfillRepresentation as BuiltinBackfill
from pykeen.nn.representation import Representation

from pykeen_backfill import BackfillRepresentation

#: contestant names, in table order
PLAIN, BUILTIN, BUILTIN_NO_UNIQUE, OURS, OURS_UNIQUE = (
    "plain",
    "built-in",
    "built-in, unique=False",
    "ours",
    "ours, unique=True",
)


@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes of one run."""

    #: the numbers of ids of the size sweep; the table is taken at the largest
    sizes: tuple[int, ...]
    #: the number of dimensions of each vector
    dim: int = 128
    #: the number of ids per looked-up batch
    batch: int = 26_112
    #: interleaved repeats of the fast figures (lookup) and of the slow ones (all rows, a training step)
    repeats: int = 31
    slow_repeats: int = 9
    #: the number of ids of the construction test at scale (ours only)
    large: int = 10_000_000
    #: the end-to-end graph: entities, relations, triples per entity, evaluated triples, dimensions, batch sizes;
    #: DistMult scores a query against every entity at a cost proportional to their number times ``e2e_dim``, so a
    #: few hundred triples take seconds
    entities: int = 200_000
    relations: int = 50
    triples_per_entity: int = 2
    eval_triples: int = 200
    e2e_dim: int = 64
    train_batch: int = 8_192
    eval_batch: int = 256
    e2e_repeats: int = 3


FULL = Config(sizes=(10_000, 100_000, 1_000_000))
QUICK = Config(
    sizes=(10_000, 100_000),
    repeats=15,
    slow_repeats=5,
    large=1_000_000,
    entities=20_000,
    eval_triples=200,
    e2e_repeats=2,
)


def interleaved(fns: Mapping[str, Callable[[], Any]], *, repeats: int, warmup: int = 1) -> dict[str, float]:
    """Return the median seconds of each function, timed in shuffled turns."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for _ in range(repeats):
        random.shuffle(names)
        for name in names:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    gc.collect()
    return {name: statistics.median(values) for name, values in times.items()}


@dataclasses.dataclass
class Contestants:
    """The three representations of one size, sharing their base and backfill modules where they can."""

    max_id: int
    base_ids: torch.Tensor
    base: Embedding
    backfill: Embedding
    representations: dict[str, Representation]

    @classmethod
    def build(cls, max_id: int, dim: int, seed: int = 0) -> Contestants:
        """Build a plain embedding, the built-in and ours (both with either ``unique``) around the same parts."""
        generator = torch.Generator().manual_seed(seed)
        num_base = max_id // 2
        base_ids = torch.randperm(max_id, generator=generator)[:num_base]
        base = Embedding(max_id=num_base, shape=dim, trainable=False)
        backfill = Embedding(max_id=max_id - num_base, shape=dim)
        listed = base_ids.tolist()
        representations = {
            PLAIN: Embedding(max_id=max_id, shape=dim),
            BUILTIN: BuiltinBackfill(max_id=max_id, base_ids=listed, base=base, backfill=backfill),
            BUILTIN_NO_UNIQUE: BuiltinBackfill(
                max_id=max_id, base_ids=listed, base=base, backfill=backfill, unique=False
            ),
            OURS: BackfillRepresentation(max_id=max_id, base_ids=base_ids, base=base, backfill=backfill),
            OURS_UNIQUE: BackfillRepresentation(
                max_id=max_id, base_ids=base_ids, base=base, backfill=backfill, unique=True
            ),
        }
        return cls(max_id=max_id, base_ids=base_ids, base=base, backfill=backfill, representations=representations)

    def check_identical(self, indices: torch.Tensor) -> None:
        """Refuse to time anything unless ours returns exactly what the built-in returns."""
        with torch.no_grad():
            for query in (indices, None):
                expected = self.representations[BUILTIN](query)
                if not torch.equal(self.representations[OURS](query), expected):
                    raise AssertionError(f"ours differs from the built-in for indices={query!r}")


def time_lookup(contestants: Contestants, indices: torch.Tensor, *, repeats: int) -> dict[str, float]:
    """Time a lookup of ``indices``, without autograd."""
    reps = contestants.representations

    def lookup(rep: Representation) -> Callable[[], Any]:
        return lambda: rep(indices)

    with torch.no_grad():
        return interleaved({name: lookup(rep) for name, rep in reps.items()}, repeats=repeats)


def time_all_rows(contestants: Contestants, *, repeats: int) -> dict[str, float]:
    """Time ``indices=None``; the plain column is one copy of a table of the same size (a plain one is a view)."""
    reps = contestants.representations
    table = reps[PLAIN]._embeddings.weight
    fns = {
        PLAIN: lambda: table.clone(),
        BUILTIN: lambda: reps[BUILTIN](None),
        OURS: lambda: reps[OURS](None),
    }
    with torch.no_grad():
        return interleaved(fns, repeats=repeats)


def time_training_step(contestants: Contestants, indices: torch.Tensor, *, repeats: int) -> dict[str, float]:
    """Time forward and backward of a weighted sum over the batch; the floor is the backfill alone on its rows."""
    reps = contestants.representations
    weights = torch.randn(indices.numel(), reps[PLAIN].shape[0], generator=torch.Generator().manual_seed(1))
    served = torch.isin(indices, contestants.base_ids, invert=True)
    backfill_rows = torch.searchsorted(reps[OURS].backfill_ids, indices[served])

    def step(module: torch.nn.Module, query: torch.Tensor, w: torch.Tensor) -> Callable[[], Any]:
        def run() -> None:
            module.zero_grad(set_to_none=True)
            (module(query) * w).sum().backward()

        return run

    fns = {name: step(reps[name], indices, weights) for name in (PLAIN, BUILTIN, OURS)}
    fns["floor"] = step(contestants.backfill, backfill_rows, weights[served])
    return interleaved(fns, repeats=repeats)


def time_construction(contestants: Contestants, *, repeats: int) -> dict[str, float]:
    """Time building the built-in and ours from the same Python list of base ids, around given parts."""
    c = contestants
    listed = c.base_ids.tolist()
    fns = {
        BUILTIN: lambda: BuiltinBackfill(max_id=c.max_id, base_ids=listed, base=c.base, backfill=c.backfill),
        OURS: lambda: BackfillRepresentation(max_id=c.max_id, base_ids=listed, base=c.base, backfill=c.backfill),
        "ours, from a tensor": lambda: BackfillRepresentation(
            max_id=c.max_id, base_ids=c.base_ids, base=c.base, backfill=c.backfill
        ),
    }
    return interleaved(fns, repeats=repeats, warmup=0)


def time_large_construction(max_id: int, *, repeats: int) -> dict[str, float]:
    """Time building ours for ``max_id`` ids (around given one-dimensional parts, whose size does not matter)."""
    num_base = max_id // 2
    base_ids = torch.randperm(max_id, generator=torch.Generator().manual_seed(0))[:num_base]
    listed = base_ids.tolist()
    base = Embedding(max_id=num_base, shape=1, trainable=False)
    backfill = Embedding(max_id=max_id - num_base, shape=1)
    fns = {
        "tensor": lambda: BackfillRepresentation(max_id=max_id, base_ids=base_ids, base=base, backfill=backfill),
        "list": lambda: BackfillRepresentation(max_id=max_id, base_ids=listed, base=base, backfill=backfill),
    }
    return interleaved(fns, repeats=repeats, warmup=0)


def index_bytes_per_id(rep: Representation) -> float:
    """Return the bytes of the representation's own buffers (its id index) per id."""
    own = [buffer for name, buffer in rep.named_buffers() if "." not in name]
    return sum(buffer.numel() * buffer.element_size() for buffer in own) / rep.max_id


def end_to_end(config: Config, *, seed: int = 0) -> dict[str, dict[str, float]]:
    """Train an epoch and evaluate DistMult on a generated graph with each of the three entity representations."""
    from pykeen.evaluation import RankBasedEvaluator
    from pykeen.models import DistMult
    from pykeen.training import SLCWATrainingLoop
    from pykeen.triples import CoreTriplesFactory

    generator = torch.Generator().manual_seed(seed)
    num_triples = config.entities * config.triples_per_entity
    heads = torch.randint(config.entities, (num_triples,), generator=generator)
    relations = torch.randint(config.relations, (num_triples,), generator=generator)
    tails = torch.randint(config.entities, (num_triples,), generator=generator)
    mapped = torch.stack([heads, relations, tails], dim=1)
    factory = CoreTriplesFactory.create(mapped, num_entities=config.entities, num_relations=config.relations)
    evaluated = mapped[torch.randperm(num_triples, generator=generator)[: config.eval_triples]]

    dim, num_base = config.e2e_dim, config.entities // 2
    base_ids = torch.randperm(config.entities, generator=generator)[:num_base]

    def trainable(max_id: int) -> Embedding:
        # DistMult's own defaults for its entity embedding
        return Embedding(max_id=max_id, shape=dim, initializer="xavier_uniform_", constrainer="normalize")

    def frozen() -> Embedding:
        return Embedding(max_id=num_base, shape=dim, trainable=False)

    entity_representations = {
        PLAIN: trainable(config.entities),
        BUILTIN: BuiltinBackfill(
            max_id=config.entities,
            base_ids=base_ids.tolist(),
            base=frozen(),
            backfill=trainable(config.entities - num_base),
        ),
        OURS: BackfillRepresentation(
            max_id=config.entities, base_ids=base_ids, base=frozen(), backfill=trainable(config.entities - num_base)
        ),
    }
    loops, models = {}, {}
    for name, rep in entity_representations.items():
        torch.manual_seed(seed)
        models[name] = DistMult(triples_factory=factory, embedding_dim=dim, entity_representations=rep)
        loops[name] = SLCWATrainingLoop(model=models[name], triples_factory=factory, optimizer="adam")
        # the first epoch (re-)initialises the model; only later ones are timed
        loops[name].train(factory, num_epochs=1, batch_size=config.train_batch, use_tqdm=False, use_tqdm_batch=False)

    def epoch(name: str) -> Callable[[], Any]:
        # num_epochs counts from the start of training, so one more than done so far trains exactly one epoch
        return lambda: loops[name].train(
            factory,
            num_epochs=loops[name]._epoch + 1,
            batch_size=config.train_batch,
            continue_training=True,
            use_tqdm=False,
            use_tqdm_batch=False,
        )

    evaluator = RankBasedEvaluator()

    def evaluate(name: str) -> Callable[[], Any]:
        return lambda: evaluator.evaluate(
            models[name],
            evaluated,
            additional_filter_triples=[mapped],
            batch_size=config.eval_batch,
            use_tqdm=False,
        )

    names = list(entity_representations)
    results = {
        "epoch": interleaved({name: epoch(name) for name in names}, repeats=config.e2e_repeats, warmup=0),
        "evaluation": interleaved({name: evaluate(name) for name in names}, repeats=config.e2e_repeats, warmup=0),
    }
    if loops[OURS]._epoch != config.e2e_repeats + 1:
        raise AssertionError(f"expected {config.e2e_repeats + 1} epochs, but trained {loops[OURS]._epoch}")
    return results


def sweep(config: Config, *, log: Callable[[str], None]) -> dict[int, dict[str, dict[str, float]]]:
    """Measure lookup, all rows, a training step and construction for every size of the sweep."""
    results: dict[int, dict[str, dict[str, float]]] = {}
    for max_id in config.sizes:
        torch.manual_seed(0)
        contestants = Contestants.build(max_id, config.dim)
        indices = torch.randint(max_id, (config.batch,), generator=torch.Generator().manual_seed(2))
        contestants.check_identical(indices)
        log(f"{max_id:,} ids: lookup")
        figures = {"lookup": time_lookup(contestants, indices, repeats=config.repeats)}
        log(f"{max_id:,} ids: all rows")
        figures["all rows"] = time_all_rows(contestants, repeats=config.slow_repeats)
        log(f"{max_id:,} ids: training step")
        figures["training step"] = time_training_step(contestants, indices, repeats=config.slow_repeats)
        log(f"{max_id:,} ids: construction")
        figures["construction"] = time_construction(contestants, repeats=max(3, config.slow_repeats // 2))
        figures["index bytes per id"] = {
            name: index_bytes_per_id(rep) for name, rep in contestants.representations.items()
        }
        results[max_id] = figures
        del contestants
        gc.collect()
    return results


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table: a figure of the three contestants and the issue's goal for it."""

    figure: str
    plain: float | None
    builtin: float | None
    ours: float
    goal: str
    #: whether each goal (separated by ";" in ``goal``) is met; empty for a reference line
    met: tuple[bool, ...] = ()
    unit: str = "ms"


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms":
        return f"{value * 1e3:,.1f} ms" if value < 1 else f"{value:,.2f} s"
    return f"{value:g} {unit}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "—"
    return f"{numerator / denominator:.2f}x"


def rows_for(
    figures: Mapping[str, Mapping[str, float]],
    large: Mapping[str, float],
    e2e: Mapping[str, Mapping[str, float]] | None,
    config: Config,
) -> list[Row]:
    """Turn the measurements into table rows with the goals of issue 4."""
    lookup, everything = figures["lookup"], figures["all rows"]
    step, build, memory = figures["training step"], figures["construction"], figures["index bytes per id"]
    rows = [
        Row(
            f"lookup of {config.batch:,} ids",
            lookup[PLAIN],
            lookup[BUILTIN],
            lookup[OURS],
            "ours <= 1.5x plain; built-in >= 5x ours",
            (lookup[OURS] <= 1.5 * lookup[PLAIN], lookup[BUILTIN] >= 5 * lookup[OURS]),
        ),
        Row("lookup, both unique=False", None, lookup[BUILTIN_NO_UNIQUE], lookup[OURS], "(for reference)"),
        Row("lookup, both unique=True", None, lookup[BUILTIN], lookup[OURS_UNIQUE], "(for reference)"),
        Row(
            "all rows (plain: one copy)",
            everything[PLAIN],
            everything[BUILTIN],
            everything[OURS],
            "ours <= 2x copy; built-in >= 5x ours",
            (everything[OURS] <= 2 * everything[PLAIN], everything[BUILTIN] >= 5 * everything[OURS]),
        ),
        Row(
            "training step (forward + backward)",
            step[PLAIN],
            step[BUILTIN],
            step[OURS],
            "built-in >= 2x ours",
            (step[BUILTIN] >= 2 * step[OURS],),
        ),
        Row("training step floor: backfill alone", None, None, step["floor"], "(for reference)"),
        Row(
            "construction, both from a list",
            None,
            build[BUILTIN],
            build[OURS],
            "built-in >= 10x ours",
            (build[BUILTIN] >= 10 * build[OURS],),
        ),
        Row(
            "construction, ours from a tensor",
            None,
            build[BUILTIN],
            build["ours, from a tensor"],
            "built-in >= 10x ours",
            (build[BUILTIN] >= 10 * build["ours, from a tensor"],),
        ),
        Row(
            f"construction, {config.large:,} ids, tensor",
            None,
            None,
            large["tensor"],
            "< 2 s" if config.large >= 10_000_000 else "(10M in the full run)",
            (large["tensor"] < 2,) if config.large >= 10_000_000 else (),
        ),
        Row(f"construction, {config.large:,} ids, list", None, None, large["list"], "(for reference)"),
        Row(
            "index memory",
            memory[PLAIN],
            memory[BUILTIN],
            memory[OURS],
            "ours <= 8 bytes per id",
            (memory[OURS] <= 8,),
            unit="B/id",
        ),
    ]
    if e2e is not None:
        epoch, evaluation = e2e["epoch"], e2e["evaluation"]
        rows += [
            Row(
                f"DistMult epoch, {config.entities:,} entities",
                epoch[PLAIN],
                epoch[BUILTIN],
                epoch[OURS],
                "ours <= 1.1x plain",
                (epoch[OURS] <= 1.1 * epoch[PLAIN],),
            ),
            Row(
                f"DistMult evaluation, {config.eval_triples:,} triples",
                evaluation[PLAIN],
                evaluation[BUILTIN],
                evaluation[OURS],
                "ours <= 1.25x plain",
                (evaluation[OURS] <= 1.25 * evaluation[PLAIN],),
            ),
        ]
    return rows


def render(rows: Sequence[Row]) -> str:
    """Render the rows as a reStructuredText simple table."""
    header = ["figure", "plain", "built-in", "ours", "ours / plain", "built-in / ours", "goal (issue 4)", "met"]
    body = []
    for row in rows:
        ratios = ("—", "—") if row.unit != "ms" else (_ratio(row.ours, row.plain), _ratio(row.builtin, row.ours))
        met = "; ".join("yes" if ok else "no" for ok in row.met)
        cells = [_cell(row.plain, row.unit), _cell(row.builtin, row.unit), _cell(row.ours, row.unit)]
        body.append([row.figure, *cells, *ratios, row.goal, met])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([rule, line(header), rule, *(line(cells) for cells in body), rule])


def plot(results: Mapping[int, Mapping[str, Mapping[str, float]]], path: str) -> None:
    """Plot time against the number of ids for the three contestants."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, LogLocator

    panels = [
        ("lookup", "lookup of a batch of ids"),
        ("all rows", "all rows (indices=None)"),
        ("construction", "construction from a list of base ids"),
    ]
    styles = {
        PLAIN: ("plain Embedding", "tab:blue"),
        BUILTIN: ("PyKEEN built-in", "tab:orange"),
        OURS: ("pykeen-backfill", "tab:green"),
    }
    sizes = sorted(results)
    figure, axes = plt.subplots(1, len(panels), figsize=(13, 4), constrained_layout=True)
    for axis, (key, title) in zip(axes, panels, strict=True):
        for name, (label, color) in styles.items():
            if name in results[sizes[0]][key]:
                shown = "one copy of the table" if (key, name) == ("all rows", PLAIN) else label
                times = [results[size][key][name] * 1e3 for size in sizes]
                axis.plot(sizes, times, marker="o", label=shown, color=color)
        axis.set(xscale="log", yscale="log", xlabel="number of ids", ylabel="milliseconds (median)", title=title)
        axis.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        axis.yaxis.set_minor_formatter(FormatStrFormatter(""))
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    figure.savefig(path, dpi=110)


def describe_machine() -> str:
    """Describe where the figures were taken."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} with "
        f"{torch.get_num_threads()} threads, Python {platform.python_version()}; load average {load:.2f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end DistMult figures")
    parser.add_argument("--plot", help="write a PNG of time against the number of ids here")
    parser.add_argument("--json", help="write all measurements here")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    # PyKEEN warns on every evaluation that its memory search is meant for GPUs; the batch sizes here are fixed
    logging.getLogger("pykeen.utils").setLevel(logging.ERROR)
    logging.getLogger("torch_max_mem").setLevel(logging.ERROR)
    config = QUICK if args.quick else FULL

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    at_start = describe_machine()
    log(at_start)
    results = sweep(config, log=log)
    log(f"{config.large:,} ids: construction")
    large = time_large_construction(config.large, repeats=3)
    e2e = None
    if not args.no_e2e:
        log(f"end to end: DistMult on {config.entities:,} entities")
        e2e = end_to_end(config)
    rows = rows_for(results[max(config.sizes)], large, e2e, config)
    at_end = describe_machine()
    load_at_start = at_start.rsplit(" ", 1)[-1]
    print(f"{max(config.sizes):,} ids x {config.dim} dimensions; {at_end} (at the start: {load_at_start})")
    print(render(rows))
    if args.plot:
        plot(results, args.plot)
        log(f"wrote {args.plot}")
    if args.json:
        payload = {
            "machine": at_end,
            "load average at the start": load_at_start,
            "config": dataclasses.asdict(config),
            "sweep": {str(size): figures for size, figures in results.items()},
            "large": large,
            "end_to_end": e2e,
        }
        with open(args.json, "w") as file:
            json.dump(payload, file, indent=2)
        log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
