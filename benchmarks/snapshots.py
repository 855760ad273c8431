"""Growth over real growing graphs: every snapshot step of ENTITY and FACT, each strategy against retraining.

The graphs (``../shared/datasets/ckge``, from LKGE) grow in five snapshots; the graph at step *i* is the union of the
training triples of snapshots 0..*i*. Step 0 is trained from scratch once per model and seed; from there each
strategy grows its own chain, step after step, from its own previous model, and a retraining from scratch on the
union graph is run at every step with the same configuration and epoch budget (PyKEEN's ``ERModel``, ``Embedding``
and ``SLCWATrainingLoop``, one thread, the collector's per-epoch pass made cheap by
:func:`pykeen_backfill.training.frozen_heap`, as for every contestant).

After step *i* every model is evaluated as the continual-KGE literature does: filtered ranks (both sides, realistic)
of the union of the test triples of snapshots 0..*i* (``--test-sample`` draws a fixed sample of them, the same for
every contestant), MRR, Hits@1 and Hits@10, overall and split into triples among ids known at step *i - 1* and those
touching a new id. Training time is CPU time of one thread (:func:`time.process_time`). Drift is the largest absolute
change of a known entity or relation vector over the step.

    python benchmarks/snapshots.py --quick          # about 2 minutes
    python benchmarks/snapshots.py --docs           # everything; writes docs/_static/growth.json and growth.png
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import pathlib
import statistics
import sys
import time
import warnings
from typing import Any

import torch
from pykeen.models import ERModel
from pykeen.nn.representation import Embedding
from pykeen.training import SLCWATrainingLoop
from pykeen.triples import CoreTriplesFactory

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.growth.strategies import STRATEGIES, Strategy, new_triples, replayed, restrict_rows, touched_ids
from pykeen_backfill.training import frozen_heap

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "datasets" / "ckge"

#: model -> (interaction, complex, Adam's learning rate)
MODELS = {"TransE": ("transe", False, 0.003), "DistMult": ("distmult", False, 0.01), "RotatE": ("rotate", True, 0.003)}
#: Adam's learning rate where a graph needs another than :data:`MODELS` gives (FACT is sparser: about 6 triples per
#: entity at its first snapshot against 10 for ENTITY)
LEARNING_RATES = {("DistMult", "FACT"): 0.05, ("TransE", "FACT"): 0.01, ("RotatE", "FACT"): 0.01}
#: the dimension per model (RotatE's complex numbers count twice)
DIMENSIONS = {"TransE": 32, "DistMult": 32, "RotatE": 16}


def dimension(kind: str, args: argparse.Namespace) -> int:
    return args.dim or DIMENSIONS[kind]


def lr(kind: str, graph: str) -> float:
    return LEARNING_RATES.get((kind, graph), MODELS[kind][2])


def read_split(path: pathlib.Path) -> list[tuple[str, str, str]]:
    """Read a gzip file of tab-separated labelled triples; labels stay strings."""
    with gzip.open(path, "rt", encoding="utf-8") as file:
        return [tuple(line.rstrip("\n").split("\t")) for line in file if line.strip()]  # type: ignore[misc]


class Snapshots:
    """The snapshots of one growing graph, numbered so that the ids of a step are a prefix of those of the next."""

    def __init__(self, name: str, steps: int, fraction: float = 1.0) -> None:
        self.name = name
        self.entities: dict[str, int] = {}
        self.relations: dict[str, int] = {}
        self.train: list[torch.Tensor] = []
        self.valid: list[torch.Tensor] = []
        self.test: list[torch.Tensor] = []
        self.num_entities: list[int] = []
        self.num_relations: list[int] = []
        generator = torch.Generator().manual_seed(0)
        for step in range(steps):
            folder = DATA / name / str(step)
            self.train.append(self._number(read_split(folder / "train.txt.gz"), add=True))
            self.num_entities.append(len(self.entities))
            self.num_relations.append(len(self.relations))
            for split, out in (("valid", self.valid), ("test", self.test)):
                out.append(self._number(read_split(folder / f"{split}.txt.gz"), add=False))
            if fraction < 1.0:
                # a slice of each snapshot, for quick runs
                for triples in (self.train, self.valid, self.test):
                    keep = torch.randperm(len(triples[-1]), generator=generator)[: round(fraction * len(triples[-1]))]
                    triples[-1] = triples[-1][keep]

    def _number(self, triples: list[tuple[str, str, str]], *, add: bool) -> torch.Tensor:
        rows = []
        for head, relation, tail in triples:
            if add:
                for label in (head, tail):
                    self.entities.setdefault(label, len(self.entities))
                self.relations.setdefault(relation, len(self.relations))
            if head in self.entities and tail in self.entities and relation in self.relations:
                rows.append((self.entities[head], self.relations[relation], self.entities[tail]))
        return torch.as_tensor(rows, dtype=torch.long).reshape(-1, 3)

    def union(self, split: list[torch.Tensor], step: int) -> torch.Tensor:
        """Return the triples of snapshots 0..step of a split, among the ids known at that step."""
        triples = torch.cat(split[: step + 1])
        keep = (triples[:, [0, 2]] < self.num_entities[step]).all(1) & (triples[:, 1] < self.num_relations[step])
        return triples[keep]


def representation(kind: str, num: int, dim: int, target: str) -> dict[str, Any]:
    """The keyword arguments of an embedding as PyKEEN's model classes configure it."""
    from pykeen.nn.init import init_phases, xavier_uniform_, xavier_uniform_norm_

    is_complex = MODELS[kind][1]
    kwargs: dict[str, Any] = dict(shape=dim, dtype=torch.cfloat if is_complex else torch.float)
    if target == "entity":
        kwargs["initializer"] = xavier_uniform_
        if kind == "TransE":
            kwargs["constrainer"] = torch.nn.functional.normalize
    else:
        kwargs["initializer"] = init_phases if kind == "RotatE" else xavier_uniform_norm_
        if kind == "RotatE":
            from pykeen.utils import complex_normalize

            kwargs["constrainer"] = complex_normalize
    return kwargs


def build(kind: str, factory: CoreTriplesFactory, entity: Any, relation: Any, seed: int) -> ERModel:
    interaction = MODELS[kind][0]
    return ERModel(
        triples_factory=factory,
        interaction=interaction,
        interaction_kwargs=dict(p=2) if interaction == "transe" else None,
        entity_representations=entity,
        relation_representations=relation,
        loss="softplus",
        random_seed=seed,
    )


class Fixed:
    """Initialise with a fresh copy of fixed values (PyKEEN's pretrained initializer hands out its own tensor)."""

    def __init__(self, values: torch.Tensor) -> None:
        self.values = values.detach().clone()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.values.clone().to(x)


def grown(kind: str, target: str, dim: int, earlier: torch.Tensor, num: int, trainable: bool, triples) -> Any:
    """A backfill: the earlier rows as base (ids ``0..len(earlier) - 1``), new rows from their known neighbours."""
    kwargs = representation(kind, num, dim, target)
    stored = torch.view_as_real(earlier) if earlier.is_complex() else earlier
    base_kwargs = dict(shape=dim, dtype=kwargs["dtype"], initializer=Fixed(stored), trainable=trainable)
    if trainable and "constrainer" in kwargs:
        base_kwargs["constrainer"] = kwargs["constrainer"]
    if len(earlier) == num:
        return Embedding(max_id=num, **base_kwargs)
    return BackfillRepresentation(
        max_id=num,
        base_ids=torch.arange(len(earlier)),
        base="embedding",
        base_kwargs=base_kwargs,
        backfill_kwargs=kwargs,
        backfill_init="neighbours",
        triples=triples,
        target=target,
    )


def vectors(model: ERModel) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        return (
            model.entity_representations[0](indices=None).detach().clone(),
            model.relation_representations[0](indices=None).detach().clone(),
        )


# ---------------------------------------------------------------------------------------------------- evaluation


def all_scores(kind: str, entities: torch.Tensor, relations: torch.Tensor, queries: torch.Tensor, side: str):
    """Scores of every entity as the ``side`` end of each query, as PyKEEN's interactions score them."""
    anchor, relation = entities[queries[:, 0]], relations[queries[:, 1]]
    if kind == "TransE":
        return -torch.cdist(anchor + relation if side == "tail" else anchor - relation, entities)
    if kind == "RotatE":
        # |r| = 1: ||h * r - t|| = ||h - t * conj(r)||
        moved = anchor * relation if side == "tail" else anchor * relation.conj()
        return -torch.cdist(torch.view_as_real(moved).flatten(1), torch.view_as_real(entities).flatten(1))
    return (anchor * relation) @ entities.T


def ranks(kind, entities, relations, test: torch.Tensor, true: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Filtered realistic ranks of the test triples, tails then heads; one matrix product per batch, exact."""
    num_relations = relations.shape[0]
    out = []
    for side, anchor_col, answer_col in (("tail", 0, 2), ("head", 2, 0)):
        keys = true[:, anchor_col] * num_relations + true[:, 1]
        order = torch.argsort(keys)
        keys, answers = keys[order], true[order, answer_col]
        for start in range(0, len(test), batch):
            chunk = test[start : start + batch]
            queries = torch.stack([chunk[:, anchor_col], chunk[:, 1]], 1)
            scores = all_scores(kind, entities, relations, queries, side)
            truth = chunk[:, answer_col]
            true_scores = scores.gather(1, truth.unsqueeze(1))
            query_keys = queries[:, 0] * num_relations + queries[:, 1]
            left = torch.searchsorted(keys, query_keys)
            counts = torch.searchsorted(keys, query_keys, right=True) - left
            rows = torch.repeat_interleave(torch.arange(len(chunk)), counts)
            offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(
                torch.cumsum(counts, 0) - counts, counts
            )
            scores[rows, answers[left[rows] + offsets]] = float("-inf")
            scores.scatter_(1, truth.unsqueeze(1), true_scores)
            optimistic = 1 + (scores > true_scores).sum(1)
            pessimistic = (scores >= true_scores).sum(1)
            out.append(0.5 * (optimistic + pessimistic).double())
    return torch.cat(out)


def evaluate(kind: str, model: ERModel, test: torch.Tensor, true: torch.Tensor, known: torch.Tensor) -> dict:
    entities, relations = vectors(model)
    both = ranks(kind, entities, relations, test, true)
    mask = known.repeat(2)
    out: dict[str, float] = {}
    for part, selected in (("all", torch.ones_like(mask)), ("known", mask), ("new", ~mask)):
        if selected.any():
            r = both[selected]
            out[f"mrr_{part}"] = float((1 / r).mean())
            out[f"h1_{part}"] = float((r <= 1).double().mean())
            out[f"h10_{part}"] = float((r <= 10).double().mean())
    return out


# ---------------------------------------------------------------------------------------------------- training


def train(model: ERModel, triples: torch.Tensor, num: tuple[int, int], epochs: int, batch: int, lr: float) -> float:
    """Train with PyKEEN's sLCWA loop; return the CPU seconds it took."""
    factory = CoreTriplesFactory(triples, num_entities=num[0], num_relations=num[1])
    loop = SLCWATrainingLoop(model=model, triples_factory=factory, optimizer="adam", optimizer_kwargs=dict(lr=lr))
    start = time.process_time()
    with frozen_heap():
        loop.train(factory, num_epochs=epochs, batch_size=batch, use_tqdm=False)
    return time.process_time() - start


def grow_step(kind, strategy: Strategy, earlier: ERModel, data: Snapshots, step: int, args, seed: int):
    """One step of a strategy's chain: the model of step ``step`` from its model of step ``step - 1``."""
    num = (data.num_entities[step], data.num_relations[step])
    union = data.union(data.train, step)
    previous = data.union(data.train, step - 1)
    fresh = new_triples(union, previous, num)
    old_e, old_r = vectors(earlier)
    learn = strategy.known_rows != "none"
    entity = grown(kind, "entity", dimension(kind, args), old_e, num[0], learn, union)
    relation = grown(kind, "relation", dimension(kind, args), old_r, num[1], learn, union)
    torch.manual_seed(seed + step)
    factory = CoreTriplesFactory(union, num_entities=num[0], num_relations=num[1])
    model = build(kind, factory, entity, relation, seed + step)
    if strategy.triples == "touching-new":
        selected = (union[:, [0, 2]] >= len(old_e)).any(1) | (union[:, 1] >= len(old_r))
    elif strategy.triples == "new":
        selected = replayed(fresh, strategy.replay, seed=seed + step) if strategy.replay else fresh
    else:
        selected = torch.ones(len(union), dtype=torch.bool)
    trained = union[selected]
    handles = []
    if strategy.known_rows == "touched":
        touched = touched_ids(union[fresh], *num)
        for rep, mask in zip((entity, relation), touched, strict=True):
            if isinstance(rep, BackfillRepresentation):
                handles += restrict_rows(rep, mask, strategy.pull)
    elif strategy.pull and strategy.known_rows == "all":
        for rep, n in zip((entity, relation), num, strict=True):
            if isinstance(rep, BackfillRepresentation):
                handles += restrict_rows(rep, torch.ones(n, dtype=torch.bool), strategy.pull)
    epochs = strategy.num_epochs(args.epochs, len(trained), len(union))
    seconds = train(model, trained, num, epochs, args.batch, lr(kind, data.name))
    for handle in handles:
        handle.remove()
    new_e, new_r = vectors(model)
    drift = max(float((new_e[: len(old_e)] - old_e).abs().max()), float((new_r[: len(old_r)] - old_r).abs().max()))
    return model, seconds, drift, len(trained)


def from_scratch(kind: str, data: Snapshots, step: int, args, seed: int) -> tuple[ERModel, float]:
    num = (data.num_entities[step], data.num_relations[step])
    union = data.union(data.train, step)
    torch.manual_seed(seed + step)
    factory = CoreTriplesFactory(union, num_entities=num[0], num_relations=num[1])
    model = build(
        kind,
        factory,
        Embedding(max_id=num[0], **representation(kind, num[0], dimension(kind, args), "entity")),
        Embedding(max_id=num[1], **representation(kind, num[1], dimension(kind, args), "relation")),
        seed + step,
    )
    return model, train(model, union, num, args.epochs, args.batch, lr(kind, data.name))


def chain(kind: str, data: Snapshots, strategies: dict[str, Strategy], args, seed: int, log) -> list[dict]:
    """Every step of one graph, model and seed, for retraining and every strategy."""
    rows = []
    generator = torch.Generator().manual_seed(1000 + seed)
    base, seconds = from_scratch(kind, data, 0, args, seed)
    models = dict.fromkeys(strategies, base)
    for step in range(1, len(data.train)):
        test = data.union(data.test, step)
        if args.test_sample and len(test) > args.test_sample:
            test = test[torch.randperm(len(test), generator=generator)[: args.test_sample]]
        true = torch.cat([data.union(s, step) for s in (data.train, data.valid, data.test)])
        known = (test[:, [0, 2]] < data.num_entities[step - 1]).all(1) & (test[:, 1] < data.num_relations[step - 1])
        common = dict(graph=data.name, model=kind, seed=seed, step=step, test=len(test), test_new=int((~known).sum()))
        retrained, seconds = from_scratch(kind, data, step, args, seed)
        rows.append(
            dict(
                common, strategy="retrain", seconds=seconds, drift=None, **evaluate(kind, retrained, test, true, known)
            )
        )
        log(rows[-1])
        for name, strategy in strategies.items():
            models[name], seconds, drift, trained = grow_step(kind, strategy, models[name], data, step, args, seed)
            metrics = evaluate(kind, models[name], test, true, known)
            rows.append(dict(common, strategy=name, seconds=seconds, drift=drift, trained=trained, **metrics))
            log(rows[-1])
    return rows


# ---------------------------------------------------------------------------------------------------- report


def summarise(rows: list[dict]) -> list[dict]:
    """Per graph, model, step and strategy: the mean over seeds, and ratios to retraining of the same seed."""
    retrain = {(r["graph"], r["model"], r["step"], r["seed"]): r for r in rows if r["strategy"] == "retrain"}
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        base = retrain[row["graph"], row["model"], row["step"], row["seed"]]
        row = dict(row, mrr_ratio=row["mrr_all"] / base["mrr_all"], time_ratio=row["seconds"] / base["seconds"])
        groups.setdefault((row["graph"], row["model"], row["step"], row["strategy"]), []).append(row)
    out = []
    for (graph, model, step, strategy), group in groups.items():
        item: dict[str, Any] = dict(graph=graph, model=model, step=step, strategy=strategy, seeds=len(group))
        for key in group[0]:
            values = [g[key] for g in group if isinstance(g.get(key), (int, float)) and key not in ("seed", "step")]
            if values and key not in item:
                item[key] = statistics.fmean(values)
                item[f"{key}_min"], item[f"{key}_max"] = min(values), max(values)
        out.append(item)
    return out


def format_table(summary: list[dict]) -> str:
    """Every step of every graph, model and strategy, as text."""
    head = f"{'graph':7}{'model':9}{'step':>5} {'strategy':9}{'MRR':>7}{'known':>7}{'new':>7}{'H@1':>7}{'H@10':>7}"
    head += f"{'MRR/re':>8}{'t/re':>7}{'cpu s':>8}{'drift':>8}"
    lines = [head]
    for s in sorted(summary, key=_order):
        drift = "-" if s.get("drift") is None else f"{s['drift']:.2g}"
        lines.append(
            f"{s['graph']:7}{s['model']:9}{s['step']:>5} {s['strategy']:9}{s['mrr_all']:7.3f}"
            f"{s.get('mrr_known', 0):7.3f}{s.get('mrr_new', 0):7.3f}{s['h1_all']:7.3f}{s['h10_all']:7.3f}"
            f"{s['mrr_ratio']:8.2f}{s['time_ratio']:7.2f}{s['seconds']:8.1f}{drift:>8}"
        )
    return "\n".join(lines)


def _order(s: dict) -> tuple:
    names = ["retrain", *STRATEGIES]
    rank = names.index(s["strategy"]) if s["strategy"] in names else len(names)
    return (s["graph"], list(MODELS).index(s["model"]), s["step"], rank, s["strategy"])


def goals(summary: list[dict], recommended: str) -> list[str]:
    """The goals, checked on the means over seeds: where each is met and where missed, by how much."""
    lines = []
    ours = [s for s in summary if s["strategy"] == recommended]
    missed = [s for s in ours if s["mrr_ratio"] < 0.95 or s["time_ratio"] > 0.30]
    lines.append(
        f"{recommended}: >= 0.95 of retraining's MRR in <= 0.30 of its time at {len(ours) - len(missed)} of "
        f"{len(ours)} steps"
    )
    for s in sorted(missed, key=_order):
        lines.append(
            f"  missed {s['graph']} {s['model']} step {s['step']}: MRR {s['mrr_ratio']:.2f}, time {s['time_ratio']:.2f}"
        )
    frozen = [s for s in summary if s["strategy"] == "frozen"]
    if frozen:
        drift = max(s["drift_max"] for s in frozen)
        first = [s for s in frozen if s["graph"] == "ENTITY" and s["step"] == 1]
        shown = ", ".join(f"{s['model']} {s['mrr_ratio']:.2f}" for s in sorted(first, key=_order))
        lines.append(f"frozen: largest drift {drift}; ENTITY step 1 MRR / retraining: {shown}")
    return lines


def plot(summary: list[dict], path: pathlib.Path) -> None:
    """MRR against cumulative training time over the chain, one panel per graph and model, a line per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    graphs = sorted({s["graph"] for s in summary})
    models = [m for m in MODELS if any(s["model"] == m for s in summary)]
    strategies = sorted(
        {s["strategy"] for s in summary}, key=lambda n: _order(dict(graph="", model=models[0], step=0, strategy=n))
    )
    fig, axes = plt.subplots(len(graphs), len(models), figsize=(4 * len(models), 3.2 * len(graphs)), squeeze=False)
    for row, graph in enumerate(graphs):
        for col, model in enumerate(models):
            ax = axes[row][col]
            for strategy in strategies:
                points = sorted(
                    (s["step"], s["seconds"], s["mrr_all"])
                    for s in summary
                    if (s["graph"], s["model"], s["strategy"]) == (graph, model, strategy)
                )
                times = [sum(p[1] for p in points[: i + 1]) for i in range(len(points))]
                ax.plot(times, [p[2] for p in points], marker="o", label=strategy)
            ax.set_title(f"{graph} / {model}", fontsize=9)
            ax.set_xlabel("cumulative training CPU s, steps 1..i", fontsize=8)
            ax.set_ylabel("MRR on the test triples 0..i", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=70)


def rst_table(summary: list[dict], title: str) -> str:
    """Every step as a reST csv-table (means over seeds; ratios per seed against the same seed's retraining)."""
    lines = [
        f".. csv-table:: {title}",
        "   :header: graph, model, step, strategy, MRR, MRR known, MRR new, H@1, H@10, MRR / retrain (min-max), "
        "time / retrain, drift",
        "",
    ]
    for s in sorted(summary, key=_order):
        drift = "-" if s.get("drift") is None else f"{s['drift_max']:.2g}"
        ratio = f"{s['mrr_ratio']:.2f} ({s['mrr_ratio_min']:.2f}-{s['mrr_ratio_max']:.2f})"
        cells = [
            s["graph"],
            s["model"],
            str(s["step"]),
            s["strategy"],
            f"{s['mrr_all']:.3f}",
            f"{s.get('mrr_known', 0):.3f}",
            f"{s.get('mrr_new', 0):.3f}",
            f"{s['h1_all']:.3f}",
            f"{s['h10_all']:.3f}",
            ratio,
            f"{s['time_ratio']:.2f}",
            drift,
        ]
        lines.append("   " + ", ".join(f'"{c}"' for c in cells))
    return "\n".join(lines)


def ratio_table(summary: list[dict], strategies: list[str], title: str) -> str:
    """Per graph, model and strategy: MRR / retraining at every step, the time ratios, the largest drift."""
    steps = sorted({s["step"] for s in summary})
    header = ", ".join(f"MRR / retrain step {step}" for step in steps)
    lines = [
        f".. csv-table:: {title}",
        f"   :header: graph, model, strategy, seeds, {header}, time / retrain (steps), drift",
        "",
    ]
    index = {(s["graph"], s["model"], s["strategy"], s["step"]): s for s in summary}
    for graph in sorted({s["graph"] for s in summary}):
        for model in [m for m in MODELS if any(s["model"] == m for s in summary)]:
            for strategy in strategies:
                found = [index.get((graph, model, strategy, step)) for step in steps]
                if not any(found):
                    continue
                ratios = ["-" if f is None else f"{f['mrr_ratio']:.2f}" for f in found]
                times = [f["time_ratio"] for f in found if f is not None]
                drifts = [f["drift_max"] for f in found if f is not None and f.get("drift_max") is not None]
                drift = f"{max(drifts):.2g}" if drifts else "-"
                seeds = min(f["seeds"] for f in found if f is not None)
                cells = [graph, model, strategy, seeds, *ratios, f"{min(times):.2f}-{max(times):.2f}", drift]
                lines.append("   " + ", ".join(f'"{c}"' for c in cells))
    return "\n".join(lines)


def render(rows: list[dict], args: argparse.Namespace, seconds: float) -> None:
    """Summarise rows, print the table and the goals, and write the report (and the docs' copy with ``--docs``)."""
    summary = summarise(rows)
    report = dict(
        command="python " + " ".join(sys.argv),
        seconds=seconds,
        load_average=os.getloadavg(),
        seeds=sorted({r["seed"] for r in rows}),
        summary=summary,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    args.out.joinpath("snapshots.json").write_text(json.dumps({**report, "rows": rows}))
    plot(summary, args.out / "growth.png")
    args.out.joinpath("table.rst").write_text(rst_table(summary, "Every step (means over the seeds)") + "\n")
    ratios = ratio_table(summary, ["retrain", *STRATEGIES], "Quality and time relative to retraining, every step")
    args.out.joinpath("ratios.rst").write_text(ratios + "\n")
    if args.docs:
        static = ROOT / "docs" / "_static"
        static.joinpath("growth.json").write_text(json.dumps(report, indent=0) + "\n")
        plot(summary, static / "growth.png")
    print(format_table(summary))
    print("\n".join(goals(summary, args.recommended)))
    print(f"{seconds:.0f} s, load average {report['load_average']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="DistMult, the first step of each graph, one seed")
    parser.add_argument("--graphs", nargs="+", default=["ENTITY", "FACT"])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="the first seed, e.g. to add seeds to a run")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--fraction", type=float, default=1.0)
    parser.add_argument("--dim", type=int, help="the dimension of every model; default: per model")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--test-sample", type=int, default=1500)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("snapshots-benchmark"))
    parser.add_argument("--docs", action="store_true", help="also write docs/_static/growth.json and growth.png")
    parser.add_argument("--render", nargs="+", type=pathlib.Path, help="only summarise these rows.json files")
    parser.add_argument("--recommended", default="brief", help="the strategy the goals are checked for")
    parser.add_argument(
        "--variant", action="append", default=[], help="NAME:known_rows:triples:epochs:pull:replay:budget"
    )
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.steps, args.epochs, args.test_sample, args.models = 1, 2, 8, 1000, ["DistMult"]
    if args.render:
        rows = [row for path in args.render for row in json.loads(path.read_text())]
        render(rows, args, 0.0)
        return
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    for name in ("pykeen", "torch_max_mem", "pykeen_backfill"):
        logging.getLogger(name).setLevel(logging.ERROR)
    strategies = {name: STRATEGIES[name] for name in args.strategies}
    for variant in args.variant:
        name, rows_, triples, epochs, pull, replay, budget = variant.split(":")
        budget_value = float(budget) if budget else None
        strategies[name] = Strategy(name, rows_, triples, float(epochs), float(pull), float(replay), budget_value)
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    rows: list[dict] = []

    def log(row: dict) -> None:
        print(
            f"[{time.perf_counter() - start:6.0f}s load {os.getloadavg()[0]:.1f}] {row['graph']} {row['model']} "
            f"seed {row['seed']} step {row['step']} {row['strategy']:9} MRR {row['mrr_all']:.3f} "
            f"(known {row.get('mrr_known', float('nan')):.3f}, new {row.get('mrr_new', float('nan')):.3f}) "
            f"cpu {row['seconds']:.1f}s drift {row['drift'] if row['drift'] is None else round(row['drift'], 3)}",
            flush=True,
        )
        # what is done survives an interruption, step by step
        rows.append(row)
        args.out.joinpath("rows.json").write_text(json.dumps(rows))

    graphs = {graph: Snapshots(graph, args.steps, args.fraction) for graph in args.graphs}
    # seed by seed: an interrupted run has every graph and model for the seeds it finished
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for data in graphs.values():
            for kind in args.models:
                chain(kind, data, strategies, args, seed, log)
    render(rows, args, time.perf_counter() - start)


if __name__ == "__main__":
    main()
