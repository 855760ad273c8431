"""What one growth step trains: the triples a strategy picks, its epochs, and the callbacks that restrict rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .earlier import EarlierRun
from .strategies import RestrictRows, Strategy, new_triples, replayed, touched_ids

__all__ = [
    "RELATION_AWARE",
    "training_arguments",
]

#: the value of ``backfill_init`` that asks for :func:`~pykeen_backfill.growth.relation_aware_start`
RELATION_AWARE = "relation-aware"


def training_arguments(
    pipeline_kwargs: Mapping[str, Any],
    splits: Mapping[str, Any],
    earlier: EarlierRun,
    strategy: Strategy,
    all_triples: bool,
    options: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, torch.Tensor], int]:
    """Return the pipeline's keyword arguments for a strategy, the known ids per target, and the trained triples.

    Evaluation keeps the whole graph's training (and validation) triples as filter, so the metrics are those of a
    run on all triples; the neighbours of new rows are read from all training triples too.
    """
    from pykeen.triples import TriplesFactory

    from .initializer import RelationAwareStart

    full = splits["training"]
    mapped = full.mapped_triples
    relations = options.get("relations", True)
    known = {"entity": earlier.known("entity", full.entity_to_id)[0]}
    if relations:
        known["relation"] = earlier.known("relation", full.relation_to_id)[0]
    is_new = {target: ~_mask(ids, num) for (target, ids), num in zip(known.items(), _sizes(full), strict=False)}
    if "relation" not in is_new:
        is_new["relation"] = torch.ones(full.num_relations, dtype=torch.bool)
    touching_new = is_new["entity"][mapped[:, 0]] | is_new["entity"][mapped[:, 2]] | is_new["relation"][mapped[:, 1]]
    callbacks = list(_given_callbacks(pipeline_kwargs))
    fresh = touching_new
    if strategy.triples == "new":
        earlier_triples = earlier.triples_in(full.entity_to_id, full.relation_to_id)
        # where the earlier run has no triples (an export), every triple counts as new
        fresh = new_triples(mapped, earlier_triples, (full.num_entities, full.num_relations)) | touching_new
    if strategy.triples == "touching-new" and not all_triples:
        selected = touching_new
    elif strategy.triples == "new":
        selected = replayed(fresh, strategy.replay, seed=int(pipeline_kwargs.get("random_seed") or 0))
    else:
        selected = torch.ones(len(mapped), dtype=torch.bool)
    if strategy.known_rows == "touched":
        entities, relation_ids = touched_ids(mapped[fresh], full.num_entities, full.num_relations)
        callbacks.append(RestrictRows({"entity": entities, "relation": relation_ids}, strategy.pull))
    elif strategy.pull and strategy.known_rows == "all":
        everything = {target: torch.ones_like(mask) for target, mask in is_new.items()}
        callbacks.append(RestrictRows(everything, strategy.pull))
    if options.get("backfill_init") == RELATION_AWARE:
        # all training triples: the known neighbours of new rows are also in the triples not trained on
        callbacks.append(RelationAwareStart(full))
    training = TriplesFactory(
        mapped_triples=mapped[selected],
        entity_to_id=full.entity_to_id,
        relation_to_id=full.relation_to_id,
        create_inverse_triples=full.create_inverse_triples,
    )
    training_kwargs = dict(pipeline_kwargs.get("training_kwargs") or {})
    configured = int(training_kwargs.get("num_epochs", 5))
    training_kwargs["num_epochs"] = strategy.num_epochs(configured, int(selected.sum()), len(mapped))
    training_kwargs["callbacks"] = callbacks
    evaluation_kwargs = dict(pipeline_kwargs.get("evaluation_kwargs") or {})
    evaluation_kwargs["additional_filter_triples"] = [mapped]
    # a shallow copy: the representation kwargs of a grown config hold the earlier run's vector tables, which are
    # only read; the kwargs dicts themselves are replaced below, never changed in place
    model_kwargs = dict(pipeline_kwargs.get("model_kwargs") or {})
    for key in ("entity_representations", "relation_representations"):
        given = model_kwargs.get(f"{key}_kwargs")
        if isinstance(given, Mapping) and given.get("pretrained") is not None:
            # the grown graph is the new id space, unless the configuration names one (also by its deprecated name)
            ours = {} if given.get("id_space") is not None or given.get("labels") is not None else {"id_space": full}
            if given.get("backfill_init") is not None:
                ours["triples"] = full
            model_kwargs[f"{key}_kwargs"] = {**ours, **given}
    arguments = dict(
        dataset=None,
        dataset_kwargs=None,
        training=training,
        testing=splits["testing"],
        validation=splits["validation"],
        training_kwargs=training_kwargs,
        evaluation_kwargs=evaluation_kwargs,
        model_kwargs=model_kwargs,
    )
    return arguments, known, int(selected.sum())


def _given_callbacks(pipeline_kwargs: Mapping[str, Any]) -> list[Any]:
    given = (pipeline_kwargs.get("training_kwargs") or {}).get("callbacks")
    return [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]


def _sizes(factory: Any) -> tuple[int, int]:
    return factory.num_entities, factory.num_relations


def _mask(ids: torch.Tensor, num: int) -> torch.Tensor:
    mask = torch.zeros(num, dtype=torch.bool)
    mask[ids] = True
    return mask
