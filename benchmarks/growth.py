"""Growth benchmark: retrain a grown graph from an earlier model, against a full retraining.

The earlier graph is the full graph restricted to a random 70% (or 90%) of its entities; a model is trained on it.
The grown graph is the full one. Contestants, same interaction, hyperparameters and epoch budget:

- ``full``: retraining from scratch;
- ``pykeen``: PyKEEN's built-in :class:`pykeen.nn.representation.BackfillRepresentation`, known rows frozen, new rows
  random;
- ``frozen``: ours, known rows frozen, new rows started at the mean of their known neighbours;
- ``finetune``: ours, the same start, known rows trained further.

Each is evaluated at a quarter, half and all of its epochs, overall and split into test triples among known ids and
those touching a new id. Run ``python benchmarks/growth.py --quick`` (about 2 minutes) or without ``--quick``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import pathlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
from pykeen.datasets import get_dataset
from pykeen.models import ERModel
from pykeen.nn.representation import BackfillRepresentation as PyKEENBackfill
from pykeen.nn.representation import Embedding
from pykeen.training import SLCWATrainingLoop
from pykeen.triples import CoreTriplesFactory
from tqdm.auto import tqdm

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.growth import known_mask, relation_aware_start

CONTESTANTS = ("full", "pykeen", "frozen", "relaware", "finetune")
MODELS = {"DistMult": "distmult", "TransE": "transe", "ComplEx": "complex"}
#: Adam's learning rate per model, the same for every contestant and scenario: at 0.02 (the first choice) full
#: retraining of DistMult and ComplEx on UMLS and Kinships was far from converged after 40 epochs (UMLS MRR 0.28
#: and 0.20 against 0.61 and 0.73 at 0.1); TransE is best at 0.02 and worse at 0.1 on all three datasets
LR = {"DistMult": 0.1, "TransE": 0.02, "ComplEx": 0.1}
#: where each contestant is evaluated, as fractions of its epochs; 0 is its start, before any training
DIM, CHECKPOINTS = 32, (0.0, 0.25, 0.5, 1.0)
#: the generated graph's test triples: a fixed random sample of this many, ranked against all 100,000 entities
GENERATED_TEST = 300

#: scenario -> (dataset, fractions, models, epochs, batch size)
FULL = {
    "nations": ("nations", (0.7, 0.9), tuple(MODELS), 32, 512),
    "kinships": ("kinships", (0.7, 0.9), tuple(MODELS), 32, 1024),
    "umls": ("umls", (0.7, 0.9), tuple(MODELS), 32, 1024),
    "generated-100k": ("generated", (0.7, 0.9), tuple(MODELS), 4, 8192),
}
QUICK = {"nations": ("nations", (0.7,), tuple(MODELS), 32, 512)}


def generated_graph(seed: int = 0, num_entities: int = 100_000, num_relations: int = 16, per_entity: int = 4):
    """Return training, test and no validation triples of a clustered graph with popular entities.

    Every entity belongs to one of 100 clusters and has a popularity (Zipf's law within its cluster, as the degrees of
    real graphs); relation ``r`` links a uniformly drawn head of cluster ``c`` to a tail of cluster ``c + 7r + 1``
    drawn by popularity. Each entity is in four triples on average: within the time of this benchmark (a few epochs),
    no model learns more than chance on it (nor did it with 500 or 100 clusters and uniform tails, nor with smaller
    batches and learning rates from 0.003 to 0.1), so it measures time and drift at scale, not quality.
    """
    generator = torch.Generator().manual_seed(seed)
    clusters = 20
    cluster = torch.randint(clusters, (num_entities,), generator=generator)
    n = num_entities * per_entity // 2
    heads = torch.randint(num_entities, (n,), generator=generator)
    relations = torch.randint(num_relations, (n,), generator=generator)
    targets = (cluster[heads] + 7 * relations + 1) % clusters
    # entities sorted by cluster; within a cluster, a random order of popularity 1, 1/2, 1/3, ...
    order = torch.argsort(cluster * num_entities + torch.randperm(num_entities, generator=generator))
    counts = torch.bincount(cluster, minlength=clusters)
    starts = torch.cumsum(counts, 0) - counts
    rank_in_cluster = torch.arange(num_entities) - torch.repeat_interleave(starts, counts)
    weights = 1.0 / (1.0 + rank_in_cluster.double())
    # the cumulative popularity, each cluster's share running from its index to its index + 1
    cumulative = torch.cumsum(weights, 0)
    before = torch.repeat_interleave(cumulative[starts] - weights[starts], counts)
    totals = torch.repeat_interleave(cumulative[starts + counts - 1] - cumulative[starts] + weights[starts], counts)
    scale = torch.repeat_interleave(torch.arange(clusters, dtype=torch.double), counts) + (cumulative - before) / totals
    draws = targets.double() + torch.rand(n, generator=generator, dtype=torch.double)
    tails = order[torch.searchsorted(scale, draws).clamp_max(num_entities - 1)]
    triples = torch.unique(torch.stack([heads, relations, tails], 1), dim=0)
    triples = triples[torch.randperm(len(triples), generator=generator)]
    test = triples[:2000]
    train = triples[2000:]
    # test entities must occur in training, as in PyKEEN's datasets
    seen = torch.zeros(num_entities, dtype=torch.bool)
    seen[train[:, 0]] = seen[train[:, 2]] = True
    test = test[seen[test[:, 0]] & seen[test[:, 2]]][:GENERATED_TEST]
    return train, test, None, num_entities, num_relations


def load(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, int, int]:
    """Return training, test and validation triples and the numbers of entities and relations."""
    if name == "generated":
        return generated_graph()
    dataset = get_dataset(dataset=name)
    return (
        dataset.training.mapped_triples,
        dataset.testing.mapped_triples,
        dataset.validation.mapped_triples,
        dataset.num_entities,
        dataset.num_relations,
    )


class CopyOf:
    """Initialise with a fresh copy of fixed values.

    PyKEEN's :class:`~pykeen.nn.init.PretrainedInitializer` hands out its own tensor, which then becomes the weight:
    the next in-place reset of the inner ``torch.nn.Embedding`` (every model reset does one) overwrites the values
    themselves, and the known rows of a frozen base come back random. A copy keeps them.
    """

    def __init__(self, values: torch.Tensor) -> None:
        self.values = values.detach().clone()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.values.clone().to(x)


def representation(num: int, dtype: torch.dtype) -> Embedding:
    return Embedding(max_id=num, shape=DIM, dtype=dtype)


def train(
    model: ERModel, triples: CoreTriplesFactory, epochs: int, batch: int, lr: float, evaluate: Callable[[], dict]
):
    """Train in chunks, evaluating at each checkpoint; return [(epochs, training seconds, metrics)]."""
    loop = SLCWATrainingLoop(model=model, triples_factory=triples, optimizer="adam", optimizer_kwargs=dict(lr=lr))
    curve, seconds, done = [], 0.0, 0
    for fraction in CHECKPOINTS:
        until = round(epochs * fraction) if fraction == 0 else max(1, round(epochs * fraction))
        if until > done:
            start = time.perf_counter()
            # the first call resets the model: the starts are reproduced by the representations' initializers
            loop.train(triples, num_epochs=until, batch_size=batch, use_tqdm=False, continue_training=done > 0)
            seconds += time.perf_counter() - start
        done = until
        curve.append((until, seconds, evaluate()))
    return curve


def _all_scores(kind: str, entities: torch.Tensor, relations: torch.Tensor, queries: torch.Tensor, side: str):
    """Scores of every entity as the ``side`` end of each query (the other end, the relation), as PyKEEN scores."""
    anchor, relation = entities[queries[:, 0]], relations[queries[:, 1]]
    if kind == "transe":
        # -||h + r - t||: the tail near h + r, the head near t - r
        return -torch.cdist(anchor + relation if side == "tail" else anchor - relation, entities)
    if kind == "complex" and side == "head":
        # Re(sum h * r * conj(t)) = Re(sum h * (r * conj(t)))
        return (relation * anchor.conj() @ entities.T).real
    product = anchor * relation @ (entities.conj() if kind == "complex" else entities).T
    return product.real if product.is_complex() else product


def _filter_index(true: torch.Tensor, num_relations: int, num_entities: int, side: str):
    """Sorted keys of (anchor, relation) and the answers of each, for filtering."""
    anchor, answer = (true[:, 0], true[:, 2]) if side == "tail" else (true[:, 2], true[:, 0])
    keys = anchor * num_relations + true[:, 1]
    order = torch.argsort(keys)
    return keys[order], answer[order]


def ranks(kind, entities, relations, test, filters: list[torch.Tensor], batch: int = 256) -> torch.Tensor:
    """Filtered realistic ranks of the test triples, tails then heads, as PyKEEN's rank-based evaluator has them.

    One matrix product per batch instead of PyKEEN's broadcast interaction: over 100,000 entities that is the
    difference between seconds and many minutes on a CPU. The filter is every training, validation and test triple.
    """
    true = torch.cat([*filters, test])
    num_entities, num_relations = entities.shape[0], relations.shape[0]
    out = []
    for side, anchor_col, answer_col in (("tail", 0, 2), ("head", 2, 0)):
        keys, answers = _filter_index(true, num_relations, num_entities, side)
        for start in range(0, len(test), batch):
            chunk = test[start : start + batch]
            queries = torch.stack([chunk[:, anchor_col], chunk[:, 1]], 1)
            scores = _all_scores(kind, entities, relations, queries, side)
            truth = chunk[:, answer_col]
            true_scores = scores.gather(1, truth.unsqueeze(1))
            # every other known answer of the same (anchor, relation) is not a competitor
            query_keys = queries[:, 0] * num_relations + queries[:, 1]
            left = torch.searchsorted(keys, query_keys)
            counts = torch.searchsorted(keys, query_keys, right=True) - left
            rows = torch.repeat_interleave(torch.arange(len(chunk)), counts)
            offsets = torch.arange(int(counts.sum())) - torch.repeat_interleave(
                torch.cumsum(counts, 0) - counts, counts
            )
            scores[rows, answers[left[rows] + offsets]] = float("-inf")
            scores.scatter_(1, truth.unsqueeze(1), true_scores)
            # float sums: a third faster than summing booleans, and exact up to 2**24 entities
            optimistic = 1 + (scores > true_scores).float().sum(1)
            pessimistic = (scores >= true_scores).float().sum(1)
            out.append(0.5 * (optimistic + pessimistic).double())
    return torch.cat(out)


def split_evaluate(model, kind, test, filters, known_entities, known_relations) -> dict[str, float]:
    """MRR and Hits@10 (filtered, realistic ranks, both sides) overall and on known and new test triples."""
    with torch.no_grad():
        entities = model.entity_representations[0](indices=None).detach()
        relations = model.relation_representations[0](indices=None).detach()
    both = ranks(kind, entities, relations, test, filters)
    mask = known_mask(test, known_entities, known_relations).repeat(2)
    out = {}
    for part, selected in (("overall", torch.ones_like(mask)), ("known", mask), ("new", ~mask)):
        if selected.any():
            out[f"mrr_{part}"] = float((1 / both[selected]).mean())
            out[f"hits10_{part}"] = float((both[selected] <= 10).double().mean())
    return out


def grown_representation(kind: str, num: int, known: torch.Tensor, values: torch.Tensor, train_triples, target: str):
    """Build the contestant's representation: known ids from ``values``, the rest backfilled."""
    stored = torch.view_as_real(values) if values.is_complex() else values
    base_kwargs = dict(shape=DIM, dtype=values.dtype, initializer=CopyOf(stored))
    backfill_kwargs = dict(shape=DIM, dtype=values.dtype)
    if len(known) == num:
        # nothing new: every contestant reuses all rows as they are
        return Embedding(max_id=num, **base_kwargs, trainable=kind == "finetune")
    if kind == "pykeen":
        return PyKEENBackfill(
            base_ids=known.tolist(),
            max_id=num,
            base="embedding",
            base_kwargs={**base_kwargs, "trainable": False},
            backfill_kwargs=dict(dtype=values.dtype),
        )
    return BackfillRepresentation(
        max_id=num,
        base_ids=known,
        base="embedding",
        base_kwargs={**base_kwargs, "trainable": kind == "finetune"},
        backfill_kwargs=backfill_kwargs,
        backfill_init="neighbours",
        triples=train_triples,
        target=target,
    )


def compact(triples: torch.Tensor, entities: torch.Tensor, num_entities: int, num_relations: int):
    """Restrict triples to entities and renumber entities and relations densely."""
    keep = torch.zeros(num_entities, dtype=torch.bool)
    keep[entities] = True
    triples = triples[keep[triples[:, 0]] & keep[triples[:, 2]]]
    relations = torch.unique(triples[:, 1])
    entity_map = torch.full((num_entities,), -1, dtype=torch.long)
    entity_map[entities] = torch.arange(len(entities))
    relation_map = torch.full((num_relations,), -1, dtype=torch.long)
    relation_map[relations] = torch.arange(len(relations))
    mapped = torch.stack([entity_map[triples[:, 0]], relation_map[triples[:, 1]], entity_map[triples[:, 2]]], 1)
    return CoreTriplesFactory(mapped, num_entities=len(entities), num_relations=len(relations)), relations


def one_run(data, fraction: float, model_name: str, seed: int, epochs: int, batch: int) -> list[dict[str, Any]]:
    """Train the earlier model and every contestant for one scenario, model and seed."""
    train_triples, test, validation, num_entities, num_relations = data
    # PyKEEN collects garbage after every epoch; with the long-lived objects of torch and PyKEEN frozen out of the
    # collector's reach that takes milliseconds instead of half a second, for every contestant alike
    gc.collect()
    gc.freeze()
    filters = [train_triples] + ([validation] if validation is not None else [])
    interaction = MODELS[model_name]
    dtype = torch.cfloat if model_name == "ComplEx" else torch.float
    generator = torch.Generator().manual_seed(seed)
    entities = torch.sort(torch.randperm(num_entities, generator=generator)[: round(fraction * num_entities)]).values
    old_factory, relations = compact(train_triples, entities, num_entities, num_relations)
    torch.manual_seed(seed)
    old = ERModel(
        triples_factory=old_factory,
        interaction=interaction,
        interaction_kwargs=dict(p=2) if interaction == "transe" else None,
        entity_representations=representation(len(entities), dtype),
        relation_representations=representation(len(relations), dtype),
        loss="softplus",
        random_seed=seed,
    )
    SLCWATrainingLoop(model=old, triples_factory=old_factory, optimizer_kwargs=dict(lr=LR[model_name])).train(
        old_factory, num_epochs=epochs, batch_size=batch, use_tqdm=False
    )
    old_e = old.entity_representations[0](indices=None).detach()
    old_r = old.relation_representations[0](indices=None).detach()
    factory = CoreTriplesFactory(train_triples, num_entities=num_entities, num_relations=num_relations)
    touching_new = ~known_mask(train_triples, entities, relations)
    delta = CoreTriplesFactory(train_triples[touching_new], num_entities=num_entities, num_relations=num_relations)
    rows = []
    for contestant in CONTESTANTS:
        torch.manual_seed(seed)
        if contestant == "full":
            e_rep, r_rep = representation(num_entities, dtype), representation(num_relations, dtype)
        else:
            e_rep = grown_representation(contestant, num_entities, entities, old_e, train_triples, "entity")
            r_rep = grown_representation(contestant, num_relations, relations, old_r, train_triples, "relation")
        # with every known row frozen, triples among known ids hold nothing to train: as `grow`, skip them
        frozen = contestant in ("pykeen", "frozen", "relaware")
        trained = delta if frozen else factory
        model = ERModel(
            triples_factory=factory,
            interaction=interaction,
            interaction_kwargs=dict(p=2) if interaction == "transe" else None,
            entity_representations=e_rep,
            relation_representations=r_rep,
            loss="softplus",
            random_seed=seed,
        )
        if contestant == "relaware":
            # the start needs the relation vectors and the interaction: the model's; reset before training keeps it
            relation_aware_start(model, train_triples)
        curve = train(
            model,
            trained,
            epochs,
            batch,
            LR[model_name],
            lambda m=model: split_evaluate(m, interaction, test, filters, entities, relations),
        )
        drift = None
        if contestant != "full":
            with torch.no_grad():
                new_e = model.entity_representations[0](indices=entities)
                new_r = model.relation_representations[0](indices=relations)
            drift = max(float((new_e - old_e).abs().max()), float((new_r - old_r).abs().max()))
        for ep, seconds, metrics in curve:
            rows.append(
                dict(
                    contestant=contestant,
                    epochs=ep,
                    seconds=seconds,
                    drift=drift,
                    seed=seed,
                    trained_triples=trained.num_triples,
                    **metrics,
                )
            )
    return rows


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation over seeds of each figure, per scenario, model, contestant and checkpoint."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["scenario"], row["model"], row["contestant"], row["epochs"]), []).append(row)
    keys = ("mrr_overall", "mrr_known", "mrr_new", "hits10_overall", "hits10_known", "hits10_new", "seconds", "drift")
    out = []
    for (scenario, model, contestant, epochs), group in groups.items():
        item = dict(scenario=scenario, model=model, contestant=contestant, epochs=epochs, seeds=len(group))
        for key in keys:
            values = [g[key] for g in group if g.get(key) is not None]
            item[key] = statistics.fmean(values) if values else None
            item[f"{key}_std"] = statistics.pstdev(values) if len(values) > 1 else (0.0 if values else None)
        out.append(item)
    return out


def goals(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per scenario, model and start of ours (frozen): how it fares against the goals of docs/growth.rst."""
    table = {(s["scenario"], s["model"], s["contestant"], s["epochs"]): s for s in summary}
    out = []
    for scenario, model in sorted({(s["scenario"], s["model"]) for s in summary}):
        epochs = sorted({e for (sc, m, c, e) in table if (sc, m, c) == (scenario, model, "full")})
        last, quarter = epochs[-1], epochs[1]
        full = table[scenario, model, "full", last]
        random_new = table[scenario, model, "pykeen", last]["mrr_new"]
        for contestant in ("frozen", "relaware"):
            ours = [table[scenario, model, contestant, e] for e in epochs if e > 0]
            reached = [f for f in ours if f["mrr_overall"] >= 0.95 * full["mrr_overall"]]
            quarter_row = table[scenario, model, contestant, quarter]
            out.append(
                dict(
                    scenario=scenario,
                    model=model,
                    contestant=contestant,
                    quarter_mrr_ratio=quarter_row["mrr_overall"] / full["mrr_overall"],
                    quarter_time_ratio=quarter_row["seconds"] / full["seconds"],
                    mrr_ratio=table[scenario, model, contestant, last]["mrr_overall"] / full["mrr_overall"],
                    time_ratio=table[scenario, model, contestant, last]["seconds"] / full["seconds"],
                    time_to_95=(reached[0]["seconds"] / full["seconds"]) if reached else None,
                    start_mrr_new=table[scenario, model, contestant, 0]["mrr_new"],
                    random_start_mrr_new=table[scenario, model, "pykeen", 0]["mrr_new"],
                    quarter_mrr_new=quarter_row["mrr_new"],
                    random_all_mrr_new=random_new,
                    drift=table[scenario, model, contestant, last]["drift"],
                )
            )
    return out


def plot(summary: list[dict[str, Any]], path: pathlib.Path) -> None:
    """MRR (overall) against training time, one panel per scenario and model, one line per contestant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(s["scenario"], s["model"]) for s in summary})
    cols = 6
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, (scenario, model) in zip(axes.flat, panels, strict=False):
        for contestant in CONTESTANTS:
            points = sorted(
                (s["seconds"], s["mrr_overall"], s["mrr_overall_std"])
                for s in summary
                if (s["scenario"], s["model"], s["contestant"]) == (scenario, model, contestant)
            )
            xs, ys, es = zip(*points, strict=True)
            ax.errorbar(xs, ys, yerr=es, marker="o", label=contestant, capsize=2)
        ax.set_title(f"{scenario} / {model}", fontsize=9)
        ax.set_xlabel("training time (s)")
        ax.set_ylabel("MRR (overall)")
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=60)


def format_table(summary: list[dict[str, Any]]) -> str:
    """The last checkpoint of every contestant, as a reST simple table."""
    head = (
        "scenario",
        "model",
        "contestant",
        "MRR all",
        "MRR known",
        "MRR new",
        "H@10 all",
        "H@10 new",
        "time s",
        "drift",
    )
    lines = ["  ".join(head)]
    last = {}
    for s in summary:
        key = (s["scenario"], s["model"], s["contestant"])
        if key not in last or s["epochs"] > last[key]["epochs"]:
            last[key] = s
    for key in sorted(last, key=lambda k: (k[0], k[1], CONTESTANTS.index(k[2]))):
        s = last[key]

        def cell(name: str, s: dict = s) -> str:
            if s.get(name) is None:
                return "-"
            if abs(s[name]) < 0.01:
                # chance level over 100,000 entities: three decimals would say 0.000
                return f"{s[name]:.1e}±{s[name + '_std']:.0e}"
            return f"{s[name]:.3f}±{s[name + '_std']:.3f}"

        drift = "-" if s["drift"] is None else f"{s['drift']:.2g}"
        lines.append(
            "  ".join(
                [
                    *key,
                    cell("mrr_overall"),
                    cell("mrr_known"),
                    cell("mrr_new"),
                    cell("hits10_overall"),
                    cell("hits10_new"),
                    f"{s['seconds']:.1f}",
                    drift,
                ]
            )
        )
    return "\n".join(lines)


def compact_json(report: dict[str, Any]) -> str:
    """The report as JSON, one row a line, floats to 5 significant digits: small enough for the docs' _static."""

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.5g}")
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [rounded(v) for v in value]
        return value

    report = rounded(report)
    parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in report.items() if not isinstance(v, list)]
    for key in (k for k, v in report.items() if isinstance(v, list)):
        parts.append(f"{json.dumps(key)}: [\n" + ",\n".join(json.dumps(row) for row in report[key]) + "\n]")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _csv(cells: list[str]) -> str:
    return "   " + ", ".join(f'"{c}"' for c in cells)


def rst_tables(report: dict[str, Any]) -> str:
    """The goals and the last checkpoint of every contestant as reST csv-tables, for docs/growth.rst."""
    lines = [
        ".. csv-table:: Goals: ours (known rows frozen) against full retraining, by start",
        "   :header: scenario, model, start, MRR / full at 1/4 (time), MRR / full at all (time), 95% reached at time, "
        "new MRR at 0: ours / random, new MRR: ours at 1/4 / random at all",
        "",
    ]
    # on the generated graph every contestant stays at chance: ratios of noise say nothing
    for g in (g for g in report["goals"] if not g["scenario"].startswith("generated")):
        lines.append(
            _csv(
                [
                    g["scenario"],
                    g["model"],
                    {"frozen": "neighbours", "relaware": "relation-aware"}[g["contestant"]],
                    f"{g['quarter_mrr_ratio']:.0%} ({g['quarter_time_ratio']:.0%})",
                    f"{g['mrr_ratio']:.0%} ({g['time_ratio']:.0%})",
                    "-" if g["time_to_95"] is None else f"{g['time_to_95']:.0%}",
                    f"{g['start_mrr_new']:.3f} / {g['random_start_mrr_new']:.3f}",
                    f"{g['quarter_mrr_new']:.3f} / {g['random_all_mrr_new']:.3f}",
                ]
            )
        )
    lines += [
        "",
        ".. csv-table:: Every contestant after all its epochs (mean ± standard deviation over the seeds)",
        "   :header: scenario, model, contestant, MRR all, MRR known, MRR new, H@10 all, H@10 new, train s, drift",
        "",
    ]
    for line in format_table(report["summary"]).splitlines()[1:]:
        lines.append(_csv(line.replace("±", " ± ").split("  ")))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="nations only, fewer epochs (about 2 minutes)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("growth-benchmark"))
    parser.add_argument("--scenarios", nargs="+", choices=sorted(FULL), help="only these scenarios")
    parser.add_argument("--fractions", nargs="+", type=float, help="only these fractions of known entities")
    parser.add_argument("--docs", action="store_true", help="also write docs/_static/growth.json and growth.png")
    parser.add_argument("--render", type=pathlib.Path, help="only print the reST tables of a growth.json")
    args = parser.parse_args()
    if args.render:
        print(rst_tables(json.loads(args.render.read_text())))
        return
    # one thread: on a shared 2-core machine under load, two torch threads spin against each other and the other
    # processes (a kinships run took 70 s with two threads against 6.6 s with one, at a load average of 3.9)
    torch.set_num_threads(1)
    # machine notes (no accelerator to pin memory for, memory utilisation on the CPU) say nothing about the results
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
    for name in ("pykeen", "torch_max_mem"):
        logging.getLogger(name).setLevel(logging.ERROR)
    scenarios = QUICK if args.quick else {k: v for k, v in FULL.items() if not args.scenarios or k in args.scenarios}
    if args.fractions:
        scenarios = {k: (v[0], tuple(args.fractions), *v[2:]) for k, v in scenarios.items()}
    jobs = [
        (name, fraction, model, seed)
        for name, (_, fractions, models, _, _) in scenarios.items()
        for fraction in fractions
        for model in models
        for seed in range(args.seeds)
    ]
    rows, cache = [], {}
    start = time.perf_counter()
    for name, fraction, model, seed in tqdm(jobs, desc="growth benchmark", unit="run"):
        dataset, _, _, epochs, batch = scenarios[name]
        if dataset not in cache:
            cache[dataset] = load(dataset)
        for row in one_run(cache[dataset], fraction, model, seed, epochs, batch):
            rows.append(dict(scenario=f"{name}-{round(fraction * 100)}%", model=model, **row))
        # what is done so far survives an interruption
        args.out.mkdir(parents=True, exist_ok=True)
        args.out.joinpath("growth-rows.json").write_text(json.dumps(rows))
    summary = summarise(rows)
    report = dict(
        command="python " + " ".join(sys.argv),
        seconds=time.perf_counter() - start,
        load_average=os.getloadavg(),
        summary=summary,
        goals=goals(summary),
        rows=rows,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    targets = [args.out] + ([pathlib.Path(__file__).parent.parent / "docs" / "_static"] if args.docs else [])
    for target in targets:
        # every seed's row stays in --out; the docs keep the means and spreads (a quarter of the size)
        kept = report if target == args.out else {k: v for k, v in report.items() if k != "rows"}
        target.joinpath("growth.json").write_text(compact_json(kept))
        plot(summary, target / "growth.png")
    print(format_table(summary))
    for goal in report["goals"]:
        print(json.dumps(goal))
    print(f"{report['seconds']:.0f} s, load average {report['load_average']}")


if __name__ == "__main__":
    main()
