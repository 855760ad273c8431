"""The whole story of a grown graph in one call: warm start, train, evaluate split by what is new, save.

:func:`grow` takes an earlier run (or export) and the configuration of a run on the grown graph. It reuses the
earlier vectors of every entity and relation the grown graph still has (frozen unless ``trainable``), starts the new
ones from their known neighbours (see :mod:`pykeen_backfill.representation.neighbours`), trains, and evaluates the
test triples overall, among known ids only, and touching a new id (see :mod:`.evaluation`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .evaluation import split_metrics

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

__all__ = [
    "RELATION_AWARE",
    "Growth",
    "delta_pipeline",
    "grow",
    "grown_config",
    "split_metrics_of_run",
]

#: the value of ``backfill_init`` that asks for :func:`~pykeen_backfill.growth.relation_aware_start`
RELATION_AWARE = "relation-aware"

#: the representation keyword arguments that hold each target's warm start
_KEYS = {"entity": "entity_representations", "relation": "relation_representations"}


@dataclasses.dataclass
class Growth:
    """What :func:`grow` did."""

    #: the pipeline's result on the grown graph
    result: PipelineResult
    #: the split metrics, see :func:`~pykeen_backfill.growth.evaluation.split_metrics`
    split: dict[str, dict[str, Any]]
    #: per target: the numbers of ``reused``, ``new`` and ``dropped`` labels
    counts: dict[str, dict[str, int]]
    #: the seconds the pipeline took (training and PyKEEN's own evaluation)
    seconds: float


def grown_config(
    old: str | pathlib.Path,
    config: Mapping[str, Any],
    *,
    trainable: bool = False,
    backfill_init: str | None = "neighbours",
    allow_pickle: bool = False,
    relations: bool = True,
) -> dict[str, Any]:
    """Return a copy of a configuration that warm-starts from an earlier run or export.

    Representation keyword arguments the configuration already gives win over the ones added here.

    :param old:
        The earlier run directory or export.
    :param config:
        The configuration of the run on the grown graph, with a ``pipeline`` entry.
    :param trainable:
        Whether the reused rows are fine-tuned; by default they are frozen.
    :param backfill_init:
        How new rows start, see :class:`~pykeen_backfill.BackfillRepresentation`; ``"relation-aware"`` is
        ``"neighbours"`` here, the rest is done by :func:`grow` (see
        :func:`~pykeen_backfill.growth.relation_aware_start`).
    :param allow_pickle:
        Whether the run's ``trained_model.pkl`` may be unpickled. Only for runs you trust.
    :param relations:
        Whether relations are warm-started too.

    :return:
        The configuration.

    :raises ConfigError:
        If the configuration has no ``pipeline`` mapping.
    """
    config = copy.deepcopy(dict(config))
    pipeline = config.get("pipeline")
    if not isinstance(pipeline, Mapping):
        raise ConfigError("the configuration needs a 'pipeline' mapping")
    model_kwargs = dict(pipeline.get("model_kwargs") or {})
    for target, key in _KEYS.items():
        if target == "relation" and not relations:
            continue
        model_kwargs.setdefault(key, "backfill")
        ours = {"pretrained": str(old), "trainable": trainable, "allow_pickle": allow_pickle, "target": target}
        if backfill_init is not None:
            # a relation-aware start needs the built model; the representations start from the neighbour mean
            ours["backfill_init"] = "neighbours" if backfill_init == RELATION_AWARE else backfill_init
        model_kwargs[f"{key}_kwargs"] = {**ours, **dict(model_kwargs.get(f"{key}_kwargs") or {})}
    config["pipeline"] = {**pipeline, "model_kwargs": model_kwargs}
    return config


def split_metrics_of_run(result: PipelineResult, pipeline_kwargs: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Evaluate a run's model on its configuration's test triples, split by what is new to the model.

    :param result:
        The pipeline's result.
    :param pipeline_kwargs:
        The ``pipeline`` entry of its configuration, for the dataset.

    :return:
        The split metrics; the known ids are those the model serves from earlier vectors.
    """
    from ..experiments.config import config_dataset

    dataset = config_dataset(pipeline_kwargs)
    filters = [dataset.training.mapped_triples]
    if dataset.validation is not None:
        filters.append(dataset.validation.mapped_triples)
    batch_size = (pipeline_kwargs.get("evaluation_kwargs") or {}).get("batch_size")
    return split_metrics(
        result.model, dataset.testing.mapped_triples, additional_filter_triples=filters, batch_size=batch_size
    )


def _counts(result: PipelineResult, old: str | pathlib.Path, allow_pickle: bool) -> dict[str, dict[str, int]]:
    from ..representation import BackfillRepresentation
    from ..warm_start import plan_warm_start

    plan = plan_warm_start(str(old), result.training, allow_pickle=allow_pickle)
    counts = {}
    for target_plan in plan.targets:
        counts[target_plan.target] = dict(
            reused=target_plan.num_reused, new=len(target_plan.new_ids), dropped=len(target_plan.dropped)
        )
    # where a target was not warm-started, nothing of it was reused
    for target, representations in (
        ("entity", result.model.entity_representations),
        ("relation", result.model.relation_representations),
    ):
        if target in counts and not (representations and isinstance(representations[0], BackfillRepresentation)):
            counts[target] = dict(reused=0, new=counts[target]["reused"] + counts[target]["new"], dropped=0)
    return counts


def grow(
    old: str | pathlib.Path,
    config: str | pathlib.Path | Mapping[str, Any],
    directory: str | pathlib.Path | None = None,
    *,
    all_triples: bool = False,
    **options: Any,
) -> Growth:
    """Warm-start from an earlier run, train on the grown graph, and evaluate split by what is new.

    :param old:
        The earlier run directory (with ``allow_pickle=True``) or export (see ``pykeen-backfill export``).
    :param config:
        The configuration of the run on the grown graph, or the path of one (JSON or YAML).
    :param directory:
        Where to save the run (as ``pykeen-backfill run`` does), with the split metrics in ``results.json`` and
        ``growth.json``; ``None``: nothing is saved.
    :param all_triples:
        Whether to train on all training triples even where the reused rows are frozen. By default, with entities
        and relations warm-started and frozen, only the triples that touch a new entity or relation are trained on:
        the others hold no trainable value of a model whose parameters are all in its representations, so they
        would cost time and change nothing but the negative samples.
    :param options:
        Options of :func:`grown_config`, e.g. ``trainable=True``, or ``backfill_init="relation-aware"``: new rows start
        where the interaction puts them next to their known neighbours (TransE, DistMult, ComplEx), see
        :func:`~pykeen_backfill.growth.relation_aware_start`.

    :return:
        What was done, with the split metrics.

    :raises ConfigError:
        If a relation-aware start is asked for without warm-started relations.
    """
    from ..experiments import pipeline_from_config
    from ..experiments.config import check_config, load_config
    from ..experiments.run import save_result

    if not isinstance(config, Mapping):
        config = load_config(config)
    config = check_config(grown_config(old, config, **options))
    frozen = not options.get("trainable", False) and options.get("relations", True)
    training = (
        delta_pipeline(old, config["pipeline"], options.get("allow_pickle", False))
        if frozen and not all_triples
        else {}
    )
    if options.get("backfill_init") == RELATION_AWARE:
        training = _with_relation_aware_start(config["pipeline"], training, options.get("relations", True))
    start = time.perf_counter()
    result = pipeline_from_config(config, **training)
    seconds = time.perf_counter() - start
    split = split_metrics_of_run(result, config["pipeline"])
    growth = Growth(
        result=result,
        split=split,
        counts=_counts(result, old, bool(options.get("allow_pickle", False))),
        seconds=seconds,
    )
    if directory is not None:
        directory = save_result(result, directory)
        add_split_to_results(directory, split)
        summary = dict(
            old=str(old),
            counts=growth.counts,
            seconds=seconds,
            trained_triples=result.training.num_triples,
            split=split,
            configuration=config,
        )
        directory.joinpath("growth.json").write_text(json.dumps(summary, indent=2, default=str))
    return growth


def _with_relation_aware_start(
    pipeline_kwargs: Mapping[str, Any], training: dict[str, Any], relations: bool
) -> dict[str, Any]:
    """Add the training callback that gives the built model its relation-aware start before the first epoch."""
    from ..experiments.config import config_dataset
    from .initializer import RelationAwareStart

    if not relations:
        # fresh random relation vectors say nothing about where a new entity belongs
        raise ConfigError("backfill_init='relation-aware' needs the relations warm-started too: drop relations=False")
    training_kwargs = dict(training.get("training_kwargs") or pipeline_kwargs.get("training_kwargs") or {})
    given = training_kwargs.get("callbacks")
    callbacks = [] if given is None else list(given) if isinstance(given, (list, tuple)) else [given]
    # all training triples: the known neighbours of new rows are also in the triples not trained on
    callbacks.append(RelationAwareStart(config_dataset(pipeline_kwargs).training))
    training_kwargs["callbacks"] = callbacks
    return {**training, "training_kwargs": training_kwargs}


def delta_pipeline(
    old: str | pathlib.Path, pipeline_kwargs: Mapping[str, Any], allow_pickle: bool = False
) -> dict[str, Any]:
    """Return pipeline keyword arguments that train only on the triples touching a new entity or relation.

    Evaluation keeps the whole graph's training (and validation) triples as filter, so the metrics are those of a
    run on all triples; the neighbours of new rows are read from all training triples too.

    :param old:
        The earlier run or export.
    :param pipeline_kwargs:
        The ``pipeline`` entry of the grown configuration, see :func:`grown_config`.
    :param allow_pickle:
        Whether the run's ``trained_model.pkl`` may be unpickled.

    :return:
        ``dataset=None`` and ``training``, ``testing``, ``validation``, ``evaluation_kwargs``, ``model_kwargs`` to
        pass to :func:`~pykeen_backfill.experiments.pipeline_from_config`.
    """
    import torch
    from pykeen.triples import TriplesFactory

    from ..experiments.config import config_dataset
    from ..warm_start import plan_warm_start

    dataset = config_dataset(pipeline_kwargs)
    full = dataset.training
    plan = {p.target: p for p in plan_warm_start(str(old), full, allow_pickle=allow_pickle).targets}
    mapped = full.mapped_triples
    touches = torch.isin(mapped[:, 0], plan["entity"].new_ids) | torch.isin(mapped[:, 2], plan["entity"].new_ids)
    touches |= torch.isin(mapped[:, 1], plan["relation"].new_ids)
    training = TriplesFactory(
        mapped_triples=mapped[touches],
        entity_to_id=full.entity_to_id,
        relation_to_id=full.relation_to_id,
        create_inverse_triples=full.create_inverse_triples,
    )
    evaluation_kwargs = dict(pipeline_kwargs.get("evaluation_kwargs") or {})
    evaluation_kwargs["additional_filter_triples"] = [full.mapped_triples]
    model_kwargs = dict(pipeline_kwargs.get("model_kwargs") or {})
    for key in _KEYS.values():
        given = model_kwargs.get(f"{key}_kwargs")
        if isinstance(given, Mapping) and given.get("backfill_init") is not None:
            # the new rows' neighbours among known ids are in all triples, also those not trained on
            model_kwargs[f"{key}_kwargs"] = {"triples": full, **model_kwargs[f"{key}_kwargs"]}
    return dict(
        dataset=None,
        dataset_kwargs=None,
        training=training,
        testing=dataset.testing,
        validation=dataset.validation,
        evaluation_kwargs=evaluation_kwargs,
        model_kwargs=model_kwargs,
    )


def add_split_to_results(directory: pathlib.Path, split: Mapping[str, Any]) -> None:
    """Add split metrics to a saved run's ``results.json`` under the key ``split_metrics``.

    :param directory:
        The run directory.
    :param split:
        The split metrics.
    """
    path = directory.joinpath("results.json")
    results = json.loads(path.read_text()) if path.is_file() else {}
    results["split_metrics"] = split
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
