"""End to end: training N epochs and evaluating, as ``pykeen-backfill`` does it and as plain PyKEEN does it.

Two parts, one command:

1. On ENTITY and FACT (``../shared/datasets/ckge/``, the union of snapshots 0..4: 14,541 entities, 186k training and
   62k test triples), for DistMult, TransE and RotatE: *ours* is a model whose entities are half a frozen base and half
   a trainable backfill, trained inside :func:`~pykeen_backfill.training.frozen_heap` and evaluated with
   :func:`~pykeen_backfill.growth.split_metrics` (overall, known, new: one pass of
   :class:`~pykeen_backfill.evaluation.FastRankBasedEvaluator`) on every test triple; *PyKEEN* is the same model with
   plain embeddings, trained by PyKEEN's loop as it comes and evaluated with PyKEEN's ``RankBasedEvaluator`` on a
   fixed random subset of the test triples (all of them would take about a quarter of an hour per model), given per
   triple. Both run side by side in this process, in alternating order; the figures are CPU time of one thread and
   wall-clock. The fast evaluator's metrics are compared with PyKEEN's on that subset (largest difference shown).
2. On UMLS (DistMult), the training time of ``pykeen-backfill run`` (:func:`pykeen_backfill.experiments.
   pipeline_from_config`) in a fresh process, of PyKEEN's ``pipeline`` in a fresh process, and of a retraining in
   the process of the former after everything is imported and frozen: the time without per-epoch collections.

    python benchmarks/end_to_end.py            # 2 epochs, 1,000 triples for PyKEEN, 2 rounds (3 on UMLS)
    python benchmarks/end_to_end.py --quick    # a smoke run of a few minutes
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import pathlib
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from pykeen.evaluation import RankBasedEvaluator
from pykeen.models import model_resolver
from pykeen.training import SLCWATrainingLoop
from pykeen.training.callbacks import TrainingCallback
from pykeen.triples import TriplesFactory

from pykeen_backfill.evaluation import FastRankBasedEvaluator
from pykeen_backfill.experiments.merge import merged_representation_kwargs
from pykeen_backfill.growth import split_metrics
from pykeen_backfill.training import frozen_heap

DATA = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "ckge"
MODELS = ("DistMult", "TransE", "RotatE")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load(path: pathlib.Path) -> list[list[str]]:
    with gzip.open(path, "rt") as file:
        return [line.rstrip("\n").split("\t") for line in file if line.strip()]


def union_graph(name: str) -> tuple[TriplesFactory, torch.Tensor, torch.Tensor]:
    """Return the training factory, the validation and the test triples of a ckge dataset's snapshots 0..4."""
    import numpy

    parts = {
        split: numpy.array([row for i in range(5) for row in _load(DATA / name / str(i) / f"{split}.txt.gz")])
        for split in ("train", "valid", "test")
    }
    training = TriplesFactory.from_labeled_triples(parts["train"])
    mapped = {
        split: TriplesFactory.from_labeled_triples(
            parts[split], entity_to_id=training.entity_to_id, relation_to_id=training.relation_to_id
        ).mapped_triples
        for split in ("valid", "test")
    }
    return training, mapped["valid"], mapped["test"]


@contextmanager
def clock(into: dict[str, float], key: str) -> Iterator[None]:
    """Add the CPU seconds and wall-clock seconds the block took to ``into[key]`` and ``into[key + '_wall']``."""
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    into[key] = into.get(key, 0.0) + time.process_time() - cpu
    into[f"{key}_wall"] = into.get(f"{key}_wall", 0.0) + time.perf_counter() - wall


def peak_rss_mib(function: Callable[[], Any]) -> tuple[Any, float]:
    """Run a function; return its result and the process's peak resident memory while it ran, in MiB (Linux)."""
    status = pathlib.Path("/proc/self/status")
    if not status.exists():
        return function(), float("nan")
    # writing 5 resets the peak resident set size of this process to its current size
    pathlib.Path("/proc/self/clear_refs").write_text("5")
    result = function()
    line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return result, int(line.split()[1]) / 1024


def build(model: str, training: TriplesFactory, dim: int, ours: bool) -> torch.nn.Module:
    """Build a model with plain embeddings, or with half of the entities in a frozen base (a seeded half)."""
    kwargs = dict(embedding_dim=dim)
    if not ours:
        return model_resolver.make(model, kwargs, triples_factory=training, random_seed=0)
    half = torch.randperm(training.num_entities, generator=torch.Generator().manual_seed(0))[
        : training.num_entities // 2
    ]
    entity = dict(base_ids=half.tolist(), base_kwargs=dict(trainable=False))
    with merged_representation_kwargs(entity_representations="backfill", entity=entity):
        return model_resolver.make(model, kwargs, triples_factory=training, random_seed=0)


def train(model: torch.nn.Module, training: TriplesFactory, epochs: int, frozen: bool) -> None:
    loop = SLCWATrainingLoop(model=model, triples_factory=training, optimizer="adam")
    with frozen_heap() if frozen else _nothing():
        loop.train(triples_factory=training, num_epochs=epochs, batch_size=1024, use_tqdm=False)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def graph_round(name: str, graph: Any, args: argparse.Namespace, flip: bool) -> list[dict[str, Any]]:
    """Train and evaluate every model both ways once; return one row per model."""
    training, valid, test = graph
    filters = [training.mapped_triples, valid]
    subset = test[torch.randperm(len(test), generator=torch.Generator().manual_seed(1))[: args.pykeen_triples]]
    ours_test = test[: args.ours_triples] if args.ours_triples else test
    rows = []
    for model_name in MODELS:
        row: dict[str, Any] = {"graph": name, "model": model_name, "test": len(ours_test), "subset": len(subset)}
        models = {}
        for ours in (not flip, flip):
            models[ours] = build(model_name, training, args.dim, ours)
            with clock(row, "train_ours" if ours else "train_pykeen"):
                train(models[ours], training, args.epochs, frozen=ours)
        _log(f"  {name} {model_name}: trained, evaluating")
        with clock(row, "eval_pykeen"):
            theirs = RankBasedEvaluator().evaluate(
                models[False], subset, additional_filter_triples=filters, batch_size=256, use_tqdm=False
            )
        fast = FastRankBasedEvaluator().evaluate(models[False], subset, additional_filter_triples=filters)
        row["max_metric_difference"] = max(
            abs(value - fast.to_flat_dict()[key]) for key, value in theirs.to_flat_dict().items()
        )
        with clock(row, "split_ours"):
            ours_model = models[True]
            split, row["split_peak_rss_mib"] = peak_rss_mib(
                lambda: split_metrics(ours_model, ours_test, additional_filter_triples=filters)  # noqa: B023
            )
        row["mrr"] = {part: split[part]["mrr"] for part in ("overall", "known", "new")}
        rows.append(row)
        _log(f"  {name} {model_name}: {json.dumps(_ratios(row))}")
    return rows


def _ratios(row: dict[str, Any]) -> dict[str, float]:
    per_triple_pykeen = row["eval_pykeen"] / row["subset"]
    per_triple_ours = row["split_ours"] / row["test"]
    return {
        "train_ours/pykeen": row["train_ours"] / row["train_pykeen"],
        "pykeen_eval_ms_per_triple": 1000 * per_triple_pykeen,
        "ours_split_ms_per_triple": 1000 * per_triple_ours,
        "split/one_pykeen_eval": per_triple_ours / per_triple_pykeen,
    }


UMLS = {
    "dataset": "umls",
    "model": "DistMult",
    "model_kwargs": {"embedding_dim": 64},
    "training_kwargs": {"batch_size": 256, "use_tqdm": False},
    "evaluation_kwargs": {"use_tqdm": False},
    "random_seed": 0,
}


class TrainingClock(TrainingCallback):
    """CPU and wall-clock seconds from the first batch to the end of training."""

    def __init__(self) -> None:
        super().__init__()
        self.start: tuple[float, float] | None = None
        self.seconds: tuple[float, float] = (0.0, 0.0)

    def pre_batch(self, **kwargs: Any) -> None:
        if self.start is None:
            self.start = (time.process_time(), time.perf_counter())

    def post_train(self, losses: list[float], **kwargs: Any) -> None:
        assert self.start is not None
        self.seconds = (time.process_time() - self.start[0], time.perf_counter() - self.start[1])


def umls_child(kind: str, epochs: int) -> None:
    """Train on UMLS in this fresh process and print the training seconds as one JSON line."""
    from pykeen.pipeline import pipeline

    from pykeen_backfill.experiments import pipeline_from_config

    def config(watch: TrainingClock) -> dict[str, Any]:
        training = {**UMLS["training_kwargs"], "num_epochs": epochs, "callbacks": watch}
        return {**UMLS, "training_kwargs": training}

    first = TrainingClock()
    if kind == "run":
        pipeline_from_config({"pipeline": config(first)})
    else:
        pipeline(**config(first))
    figures = {"kind": kind, "cpu": first.seconds[0], "wall": first.seconds[1]}
    if kind == "run":
        again = TrainingClock()
        with frozen_heap():
            pipeline(**config(again))
        figures.update(retrain_cpu=again.seconds[0], retrain_wall=again.seconds[1])
    print(json.dumps(figures), flush=True)


def umls_rounds(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for index in range(args.umls_rounds):
        for kind in ("run", "pykeen") if index % 2 == 0 else ("pykeen", "run"):
            command = [sys.executable, __file__, "--umls-child", kind, "--umls-epochs", str(args.umls_epochs)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            _log(f"  UMLS round {index + 1} {kind}: {rows[-1]}")
    return rows


def _spread(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def report(graph_rows: list[dict[str, Any]], umls: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"load average before: {args.load_before}, after: {tuple(round(x, 2) for x in os.getloadavg())} "
        f"({os.cpu_count()} cores); CPU time of one thread; min / median / max over {args.rounds} round(s)",
        "",
        f"Training {args.epochs} epoch(s), dim {args.dim}, batch 1024, Adam; ours: half the entities in a frozen base, "
        "frozen_heap; PyKEEN: plain embeddings",
        "",
        f"{'graph':7} {'model':9} {'train ours/PyKEEN':>19} {'PyKEEN ms/triple':>17} {'split ms/triple':>16} "
        f"{'split/one PyKEEN':>17} {'peak MiB':>9} {'max |diff|':>10}",
    ]
    for graph in sorted({row["graph"] for row in graph_rows}):
        for model in MODELS:
            rows = [row for row in graph_rows if row["graph"] == graph and row["model"] == model]
            ratios = [_ratios(row) for row in rows]

            def column(key: str, scale: float = 1.0, rs: list[dict[str, float]] = ratios) -> str:
                return _spread([r[key] * scale for r in rs])

            lines.append(
                f"{graph:7} {model:9} {column('train_ours/pykeen'):>19} "
                f"{statistics.median(r['pykeen_eval_ms_per_triple'] for r in ratios):>17.2f} "
                f"{statistics.median(r['ours_split_ms_per_triple'] for r in ratios):>16.3f} "
                f"{column('split/one_pykeen_eval'):>17} {max(row['split_peak_rss_mib'] for row in rows):>9.0f} "
                f"{max(row['max_metric_difference'] for row in rows):>10.1e}"
            )
    wall = [(row["split_ours_wall"] / row["test"]) / (row["eval_pykeen_wall"] / row["subset"]) for row in graph_rows]
    lines += ["", f"wall-clock split/one PyKEEN evaluation, all rows: {_spread(wall)}"]
    runs = [row for row in umls if row["kind"] == "run"]
    plain = [row for row in umls if row["kind"] == "pykeen"]
    if runs:
        lines += [
            "",
            f"UMLS, DistMult dim 64, {args.umls_epochs} epochs, {args.umls_rounds} round(s), training seconds (CPU): "
            f"run {_spread([r['cpu'] for r in runs])}, "
            f"PyKEEN pipeline {_spread([r['cpu'] for r in plain])}, retraining with everything frozen "
            f"{_spread([r['retrain_cpu'] for r in runs])}",
            f"run / retraining: {_spread([r['cpu'] / r['retrain_cpu'] for r in runs])} (CPU), "
            f"{_spread([r['wall'] / r['retrain_wall'] for r in runs])} (wall); PyKEEN pipeline / retraining: "
            f"{_spread([p['cpu'] / r['retrain_cpu'] for p, r in zip(plain, runs, strict=True)])} (CPU)",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 1 epoch, small subsets: a smoke run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--pykeen-triples", type=int, default=1000, help="test triples PyKEEN's evaluator ranks")
    parser.add_argument("--ours-triples", type=int, default=0, help="test triples split_metrics ranks; 0: all")
    parser.add_argument("--graphs", nargs="*", default=["ENTITY", "FACT"])
    parser.add_argument("--umls-epochs", type=int, default=60)
    parser.add_argument("--umls-rounds", type=int, default=3)
    parser.add_argument("--umls-child", choices=["run", "pykeen"], help=argparse.SUPPRESS)
    parser.add_argument("--json", type=pathlib.Path, help="also write every measurement to this file")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("pykeen").setLevel(logging.ERROR)
    torch.set_num_threads(1)
    if args.umls_child:
        umls_child(args.umls_child, args.umls_epochs)
        return
    if args.quick:
        args.rounds, args.epochs, args.pykeen_triples, args.ours_triples = 1, 1, 100, 5000
        args.umls_epochs, args.umls_rounds = 20, 1
    args.load_before = tuple(round(x, 2) for x in os.getloadavg())
    _log(f"load average {args.load_before}; UMLS training in fresh processes")
    umls = umls_rounds(args)
    graph_rows = []
    for name in args.graphs:
        _log(f"{name}: loading the union of snapshots 0..4")
        graph = union_graph(name)
        for index in range(args.rounds):
            _log(f"{name}: round {index + 1} of {args.rounds}")
            graph_rows += graph_round(name, graph, args, flip=index % 2 == 1)
    if args.json:
        args.json.write_text(json.dumps({"graphs": graph_rows, "umls": umls}, indent=1))
    print(report(graph_rows, umls, args))


if __name__ == "__main__":
    main()
