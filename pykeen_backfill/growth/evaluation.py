"""Rank-based metrics split by what is new: test triples whose entities and relation were all known, the others, all.

After a graph grew, one overall MRR hides what matters: the triples among known entities may score as before while
those touching a new entity score poorly, or the reverse. :func:`split_metrics` ranks the test triples once with
:class:`~pykeen_backfill.evaluation.FastRankBasedEvaluator` (PyKEEN's filtered rank-based metrics) and reports three
parts of those ranks: all triples (exactly PyKEEN's figures), those whose head, relation and tail were all known, and
those touching a new entity or relation. Every test triple is filtered in every part, so the known and new ranks
together are the overall ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

__all__ = [
    "METRICS",
    "SPLITS",
    "format_split_table",
    "known_ids",
    "known_mask",
    "split_metrics",
]

#: the reported metrics: name in the results -> PyKEEN's metric key (both sides, realistic ranks)
METRICS = {
    "mrr": "inverse_harmonic_mean_rank",
    "hits_at_1": "hits_at_1",
    "hits_at_3": "hits_at_3",
    "hits_at_10": "hits_at_10",
}

#: the parts of the test triples, in the order they are shown
SPLITS = ("overall", "known", "new")


def _as_ids(ids: Iterable[int] | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(ids if isinstance(ids, torch.Tensor) else list(ids), dtype=torch.long).reshape(-1)


def known_mask(
    mapped_triples: torch.Tensor,
    known_entities: Iterable[int] | torch.Tensor,
    known_relations: Iterable[int] | torch.Tensor | None = None,
) -> torch.Tensor:
    """Tell which triples have a known head, a known tail and a known relation.

    :param mapped_triples:
        shape: ``(n, 3)``; id-based triples.
    :param known_entities:
        The ids of the known entities.
    :param known_relations:
        The ids of the known relations; ``None``: every relation is known.

    :return:
        shape: ``(n,)``, bool.
    """
    entities = _as_ids(known_entities)
    mask = torch.isin(mapped_triples[:, 0], entities) & torch.isin(mapped_triples[:, 2], entities)
    if known_relations is not None:
        mask &= torch.isin(mapped_triples[:, 1], _as_ids(known_relations))
    return mask


def known_ids(model: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Return the entity and relation ids a model serves from earlier vectors, i.e. the known ones.

    :param model:
        A PyKEEN model; its first entity and relation representations are inspected. A
        :class:`~pykeen_backfill.BackfillRepresentation` knows the ids its bases serve; any other representation
        counts all its ids as known.

    :return:
        The known entity ids, and the known relation ids (``None`` if all are known).
    """
    entities = _served_by_bases(model.entity_representations[0])
    relations = _served_by_bases(model.relation_representations[0]) if model.relation_representations else None
    if entities is None:
        entities = torch.arange(model.num_entities)
    return entities, relations


def _served_by_bases(representation: Any) -> torch.Tensor | None:
    from ..representation import BackfillRepresentation

    if isinstance(representation, BackfillRepresentation):
        return representation.order[: representation.num_base_ids].cpu()
    return None


def split_metrics(
    model: Any,
    mapped_triples: torch.Tensor,
    *,
    known_entities: Iterable[int] | torch.Tensor | None = None,
    known_relations: Iterable[int] | torch.Tensor | None = None,
    additional_filter_triples: torch.Tensor | Sequence[torch.Tensor] | None = None,
    batch_size: int | None = None,
) -> dict[str, dict[str, float | int | None]]:
    """Evaluate a model on test triples, overall and split into known and new.

    :param model:
        The trained model.
    :param mapped_triples:
        shape: ``(n, 3)``; the test triples.
    :param known_entities:
        The ids of the entities known before the graph grew; ``None``: those the model serves from earlier vectors
        (see :func:`known_ids`).
    :param known_relations:
        The ids of the known relations; ``None`` with ``known_entities=None``: those the model serves from earlier
        vectors, else all.
    :param additional_filter_triples:
        The triples to filter besides the test triples, as for PyKEEN's evaluator: the training (and validation)
        triples.
    :param batch_size:
        The largest evaluation batch; memory bounds it further. ``None``: memory alone decides.

    :return:
        For each of ``overall``, ``known`` and ``new``: the number of ``triples`` and each metric of :data:`METRICS`
        (``None`` where there is no triple).
    """
    from ..evaluation import FastRankBasedEvaluator

    if known_entities is None:
        known_entities, found_relations = known_ids(model)
        known_relations = found_relations if known_relations is None else known_relations
    mask = known_mask(mapped_triples, known_entities, known_relations).cpu()
    parts = {"overall": torch.ones_like(mask), "known": mask, "new": ~mask}
    evaluated = FastRankBasedEvaluator().evaluate_parts(
        model, mapped_triples, parts, additional_filter_triples=additional_filter_triples, batch_size=batch_size
    )
    result: dict[str, dict[str, float | int | None]] = {}
    for name, part in evaluated.items():
        figures: dict[str, float | int | None] = {"triples": int(parts[name].sum())}
        if part is None:
            figures.update(dict.fromkeys(METRICS))
        else:
            figures.update({key: float(part.get_metric(metric)) for key, metric in METRICS.items()})
        result[name] = figures
    return result


def format_split_table(split: Mapping[str, Mapping[str, Any]]) -> str:
    """Format split metrics as a small table, one line per split.

    :param split:
        The result of :func:`split_metrics`.

    :return:
        The table, lines separated by newlines.
    """
    lines = [f"{'':8} {'triples':>8} {'MRR':>7} {'Hits@1':>7} {'Hits@3':>7} {'Hits@10':>7}"]
    for name in SPLITS:
        row = split[name]
        cells = ["    -  " if row[key] is None else f"{row[key]:7.4f}" for key in METRICS]
        lines.append(f"{name:8} {row['triples']:>8} " + " ".join(cells))
    return "\n".join(lines)
