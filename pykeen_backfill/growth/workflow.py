"""The whole story of a grown graph in one call: warm start, train, evaluate split by what is new, save.

:func:`grow` takes an earlier run (or export, or the output of an earlier ``grow``) and the configuration of a run on
the grown graph. It reads the earlier run once (:mod:`.earlier`), reuses the earlier vectors of every entity and
relation the grown graph still has, starts the new ones from their known neighbours (see
:mod:`pykeen_backfill.representation.neighbours`), trains as a strategy says (:mod:`.strategies`), evaluates the test
triples overall, among known ids only, and touching a new id (see :mod:`.evaluation`), and saves a run directory that
is the earlier run of the next step.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from ..errors import ConfigError
from .earlier import EarlierRun, read_earlier
from .evaluation import split_metrics
from .plan import RELATION_AWARE, training_arguments
from .snapshots import described_by_files, snapshot_dataset
from .strategies import DEFAULT_STRATEGY, RestrictRows, Strategy, get_strategy

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

__all__ = [
    "RELATION_AWARE",
    "Growth",
    "grow",
    "grown_config",
    "split_metrics_of_run",
]

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
    #: the strategy that trained it
    strategy: Strategy | None = None
    #: per target: the largest absolute change of a known row (``0.0`` exactly where they were frozen)
    drift: dict[str, float] = dataclasses.field(default_factory=dict)
    #: the number of triples trained on
    trained_triples: int = 0


def grown_config(
    old: str | pathlib.Path | EarlierRun,
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
        The earlier run directory or export, or an earlier run already read (see
        :func:`~pykeen_backfill.growth.read_earlier`), whose vectors are then used as they are, with no file opened
        again (frozen rows of a mappable export excepted: they are mapped from its files).
    :param config:
        The configuration of the run on the grown graph, with a ``pipeline`` entry.
    :param trainable:
        Whether the reused rows are fine-tuned; by default they are frozen.
    :param backfill_init:
        How new rows start, see :class:`~pykeen_backfill.BackfillRepresentation`; ``"relation-aware"`` is
        ``"neighbours"`` here, the rest is done by :func:`grow` (see
        :func:`~pykeen_backfill.growth.relation_aware_start`).
    :param allow_pickle:
        Whether the run's ``trained_model.pkl`` may be unpickled. Only for runs you trust; not used with an earlier
        run already read.
    :param relations:
        Whether relations are warm-started too.

    :return:
        The configuration.

    :raises ConfigError:
        If the configuration has no ``pipeline`` mapping.
    """
    pipeline = config.get("pipeline") if isinstance(config, Mapping) else None
    if not isinstance(pipeline, Mapping):
        raise ConfigError("the configuration needs a 'pipeline' mapping")
    # the earlier run's tables are shared, not copied: they are read, never written
    config = {**copy.deepcopy({k: v for k, v in config.items() if k != "pipeline"}), "pipeline": dict(pipeline)}
    model_kwargs = copy.deepcopy(dict(pipeline.get("model_kwargs") or {}))
    for target, key in _KEYS.items():
        if target == "relation" and not relations:
            continue
        model_kwargs.setdefault(key, "backfill")
        if isinstance(old, EarlierRun) and target in old.mapped and not trainable:
            # frozen rows of a mappable export are served from its file, not copied: opening an export again
            # unpickles nothing, so it needs no consent
            ours: dict[str, Any] = {"pretrained": old.source, "trainable": False, "target": target}
        elif isinstance(old, EarlierRun):
            ours = {"pretrained": old.tables[target], "trainable": trainable, "target": target}
        else:
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
    splits = _splits(pipeline_kwargs)
    filters = [splits["training"].mapped_triples]
    if splits["validation"] is not None:
        filters.append(splits["validation"].mapped_triples)
    batch_size = (pipeline_kwargs.get("evaluation_kwargs") or {}).get("batch_size")
    return split_metrics(
        result.model, splits["testing"].mapped_triples, additional_filter_triples=filters, batch_size=batch_size
    )


def _splits(pipeline_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Return the training, testing and validation triples a configuration names, by dataset or by files."""
    from ..experiments.config import config_dataset

    if described_by_files(pipeline_kwargs):
        return snapshot_dataset(pipeline_kwargs)
    dataset = config_dataset(pipeline_kwargs)
    return dict(training=dataset.training, testing=dataset.testing, validation=dataset.validation)


def _strategy(strategy: str | Strategy | None, options: Mapping[str, Any]) -> Strategy:
    if strategy is None:
        if options.get("trainable"):
            return get_strategy("full")
        # without warm-started relations, every relation is new: no known row is left to touch
        return get_strategy(DEFAULT_STRATEGY if options.get("relations", True) else "frozen")
    return get_strategy(strategy)


def grow(
    old: str | pathlib.Path,
    config: str | pathlib.Path | Mapping[str, Any],
    directory: str | pathlib.Path | None = None,
    *,
    strategy: str | Strategy | None = None,
    all_triples: bool = False,
    **options: Any,
) -> Growth:
    """Warm-start from an earlier run, train on the grown graph as a strategy says, and evaluate split by what is new.

    :param old:
        The earlier run directory (with ``allow_pickle=True``), a directory written by an earlier :func:`grow`
        (likewise), or an export (see ``pykeen-backfill export``). It is read once.
    :param config:
        The configuration of the run on the grown graph, or the path of one (JSON or YAML). Its data is a
        ``dataset``, or ``training``, ``testing`` (and ``validation``) given as files or as lists of files whose union
        is the split (e.g. one file per snapshot of a growing graph; gzip files end in ``.gz``), see
        :mod:`.snapshots`.
    :param directory:
        Where to save the run (as ``pykeen-backfill run`` does), with the split metrics in ``results.json`` and
        ``growth.json``, and all of the grown graph's training triples in ``training_triples/``: the directory is the
        ``old`` of a next step. ``None``: nothing is saved.
    :param strategy:
        How to train, a name of :data:`~pykeen_backfill.growth.strategies.STRATEGIES` (``"frozen"``, ``"touched"``,
        ``"brief"``, ``"full"``) or a :class:`~pykeen_backfill.growth.strategies.Strategy`; ``None``: ``"full"`` with
        ``trainable=True``, else ``"brief"`` (``"frozen"`` with ``relations=False``).
    :param all_triples:
        With ``"frozen"``: train on all triples instead of those touching a new entity or relation (the others give
        no trainable row a gradient, only negative samples).
    :param options:
        Options of :func:`grown_config`: ``allow_pickle``, ``relations``, or ``backfill_init`` (e.g.
        ``"relation-aware"``: new rows start where the interaction puts them next to their known neighbours, for
        TransE, DistMult and ComplEx, see :func:`~pykeen_backfill.growth.relation_aware_start`); ``trainable=True``
        is ``strategy="full"``.

    :return:
        What was done, with the split metrics and the drift of the known rows.

    :raises ConfigError:
        If a relation-aware start is asked for without warm-started relations.
    """
    from ..experiments import pipeline_from_config
    from ..experiments.config import check_config, load_config
    from ..training import frozen_heap

    if not isinstance(config, Mapping):
        config = load_config(config)
    given = copy.deepcopy(dict(config))
    chosen = _strategy(strategy, options)
    relations = options.get("relations", True)
    if options.get("backfill_init") == RELATION_AWARE and not relations:
        # fresh random relation vectors say nothing about where a new entity belongs
        raise ConfigError("backfill_init='relation-aware' needs the relations warm-started too: drop relations=False")
    # everything the user can fix in the configuration and its files is refused before the earlier run is opened
    splits = _splits(check_config(config)["pipeline"])
    earlier = read_earlier(old, allow_pickle=options.get("allow_pickle", False))
    plain = {key: value for key, value in options.items() if key not in ("allow_pickle", "trainable")}
    config = check_config(grown_config(earlier, config, trainable=chosen.known_rows != "none", **plain))
    arguments, known, trained = training_arguments(config["pipeline"], splits, earlier, chosen, all_triples, plain)
    start = time.perf_counter()
    try:
        with frozen_heap():
            result = pipeline_from_config(config, **arguments)
    finally:
        # a model with hooks on its parameters does not pickle
        for callback in arguments["training_kwargs"]["callbacks"]:
            if isinstance(callback, RestrictRows):
                callback.remove()
    seconds = time.perf_counter() - start
    split = split_metrics(
        result.model,
        splits["testing"].mapped_triples,
        known_entities=known["entity"],
        known_relations=known.get("relation", torch.zeros(0, dtype=torch.long)),
        additional_filter_triples=_filters(splits),
        batch_size=(config["pipeline"].get("evaluation_kwargs") or {}).get("batch_size"),
    )
    growth = Growth(
        result=result,
        split=split,
        counts=_counts(earlier, splits["training"], relations),
        seconds=seconds,
        strategy=chosen,
        drift=_drift(result.model, earlier, splits["training"], relations),
        trained_triples=trained,
    )
    if directory is not None:
        _save(growth, splits["training"], directory, old=old, config=given)
    return growth


def _filters(splits: Mapping[str, Any]) -> list[torch.Tensor]:
    filters = [splits["training"].mapped_triples]
    if splits["validation"] is not None:
        filters.append(splits["validation"].mapped_triples)
    return filters


def _counts(earlier: EarlierRun, training: Any, relations: bool) -> dict[str, dict[str, int]]:
    counts = {"entity": earlier.counts("entity", training.entity_to_id)}
    if relations:
        counts["relation"] = earlier.counts("relation", training.relation_to_id)
    else:
        counts["relation"] = dict(reused=0, new=training.num_relations, dropped=0)
    return counts


def _drift(model: Any, earlier: EarlierRun, training: Any, relations: bool) -> dict[str, float]:
    """Per target, the largest absolute change of a known row against the earlier run's vectors."""
    drift = {}
    targets = [("entity", model.entity_representations, training.entity_to_id)]
    if relations:
        targets.append(("relation", model.relation_representations, training.relation_to_id))
    for target, representations, labels in targets:
        ids, rows = earlier.known(target, labels)
        representation = representations[0]
        was_training = representation.training
        representation.eval()
        try:
            with torch.no_grad():
                now = representation(indices=ids).detach().cpu()
        finally:
            representation.train(was_training)
        before = earlier.tables[target].vectors[rows]
        difference = (now - before.to(now.dtype)).abs()
        drift[target] = float(difference.max()) if difference.numel() else 0.0
    return drift


def _save(growth: Growth, full: Any, directory: str | pathlib.Path, *, old: Any, config: Mapping[str, Any]) -> None:
    """Save the run; ``training_triples/`` holds the whole grown graph, so it is the earlier run of a next step."""
    from ..experiments.run import save_result

    directory = save_result(growth.result, directory)
    # PyKEEN saved the triples trained on, which may be a part of the graph
    full.to_path_binary(directory / "training_triples")
    add_split_to_results(directory, growth.split)
    summary = dict(
        old=str(old),
        strategy=dataclasses.asdict(growth.strategy) if growth.strategy else None,
        counts=growth.counts,
        seconds=growth.seconds,
        trained_triples=growth.trained_triples,
        drift=growth.drift,
        split=growth.split,
        configuration=config,
    )
    directory.joinpath("growth.json").write_text(json.dumps(summary, indent=2, default=str))


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
