"""Hyperparameter searches with :func:`pykeen.hpo.hpo_pipeline`, with representation keyword arguments for every model.

A study's configuration is the one ``pykeen experiments optimize`` reads (``{"metadata": ..., "pipeline": ...,
"optuna": ...}``). Its representation keyword arguments (the backfill's own options) stay fixed for every trial, while
the study samples the model's, the loss's, ... hyperparameters. As for :func:`~.run.pipeline_from_config`, they are
taken out of ``model_kwargs`` and merged over what the model injects while each trial builds its model, so models whose
constructors refuse them (TransE, RotatE, the ``interaction`` form, ...) can be searched too.
"""

from __future__ import annotations

import inspect
import json
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..checks import preview, read_text
from ..errors import ConfigError
from .config import FORMATS, check_config
from .merge import prepare_pipeline_kwargs
from .search import check_searched_shapes

if TYPE_CHECKING:
    from pykeen.hpo import HpoPipelineResult

__all__ = [
    "check_study",
    "hpo_pipeline",
    "hpo_pipeline_from_config",
    "hpo_pipeline_from_path",
    "load_study",
]


def check_study(hpo_kwargs: Mapping[str, Any], *, source: str = "the study") -> None:
    """Check a study before its first trial: what every trial fixes, and the sizes it searches.

    :param hpo_kwargs:
        The keyword arguments of :func:`pykeen.hpo.hpo_pipeline`.
    :param source:
        What to call the study in messages, e.g. the path of its configuration.

    :raises ConfigError:
        If a key is not one of :func:`pykeen.hpo.hpo_pipeline`'s, if the part every trial shares would be refused by
        :func:`~.config.check_config` (dataset, model, model keyword arguments, representation names), if a size
        the study searches is fixed in the representation keyword arguments (see
        :func:`~.search.check_searched_shapes`), or if trials run in threads (``n_jobs`` above 1).
    """
    from pykeen.hpo import hpo_pipeline as pykeen_hpo_pipeline
    from pykeen.pipeline import pipeline

    unknown = sorted(set(hpo_kwargs).difference(inspect.signature(pykeen_hpo_pipeline).parameters))
    if unknown:
        raise ConfigError(f"{source} has keys that pykeen.hpo.hpo_pipeline does not accept: {preview(unknown)}")
    n_jobs = hpo_kwargs.get("n_jobs")
    if n_jobs not in (None, 1):
        # optuna runs such trials in threads of its own, which the merge (bound to this context) does not reach
        raise ConfigError(
            f"n_jobs={preview(n_jobs)} in {source}: trials in parallel threads are not supported with representation "
            "keyword arguments; run several processes of the study instead, sharing one optuna 'storage'",
        )
    # what every trial passes to pykeen.pipeline.pipeline unchanged, checked as a run's configuration is
    shared = set(inspect.signature(pipeline).parameters)
    check_config({"pipeline": {key: value for key, value in hpo_kwargs.items() if key in shared}}, source=source)
    check_searched_shapes(hpo_kwargs, source=source)


def hpo_pipeline(**kwargs: Any) -> HpoPipelineResult:
    """Run :func:`pykeen.hpo.hpo_pipeline` with representation keyword arguments for every model; a drop-in for it.

    The study is checked first (see :func:`check_study`). The representation keyword arguments in ``model_kwargs``
    are the same in every trial; the model's own hyperparameters (e.g. ``embedding_dim``) are searched as PyKEEN
    searches them, and a backfill built from a hint gets each trial's size. The best configuration the result saves
    (``best_pipeline/pipeline_config.json``) keeps the representation keyword arguments as given, so that
    ``pykeen-backfill run`` can run it. As in :func:`~.run.pipeline_from_config`, trials evaluate with
    :class:`~pykeen_backfill.evaluation.FastRankBasedEvaluator` where PyKEEN's rank-based evaluator would, and train
    inside :func:`~pykeen_backfill.training.frozen_heap`.

    :param kwargs:
        The keyword arguments of :func:`pykeen.hpo.hpo_pipeline`.

    :return:
        PyKEEN's result of the study.
    """
    from pykeen.hpo import hpo_pipeline as pykeen_hpo_pipeline

    from ..evaluation.choice import fast_evaluator
    from ..training import frozen_heap

    check_study(kwargs)
    hpo_kwargs = prepare_pipeline_kwargs(kwargs)
    hpo_kwargs = {**hpo_kwargs, "evaluator": fast_evaluator(hpo_kwargs.get("evaluator"))}
    with frozen_heap():
        result = pykeen_hpo_pipeline(**hpo_kwargs)
    # the best configuration is written from the objective's fixed keyword arguments: give it the user's own
    result.objective.model_kwargs = kwargs.get("model_kwargs")
    return result


def hpo_pipeline_from_config(config: Mapping[str, Any], **kwargs: Any) -> HpoPipelineResult:
    """Run a study's configuration like :func:`hpo_pipeline`; a drop-in for PyKEEN's function of this name.

    :param config:
        A configuration with a ``pipeline`` entry and optionally ``optuna`` and ``metadata`` entries.
    :param kwargs:
        Further keyword arguments for :func:`pykeen.hpo.hpo_pipeline`; they override the configuration's.

    :return:
        PyKEEN's result of the study.
    """
    config = _checked_structure(config, source="the study")
    return hpo_pipeline(**config["pipeline"], **config["optuna"], **kwargs)


def load_study(path: str | pathlib.Path) -> dict[str, Any]:
    """Read a study's configuration file, as ``pykeen experiments optimize`` takes it (JSON, or YAML too).

    :param path:
        The path of a ``.json``, ``.yaml`` or ``.yml`` file.

    :return:
        The configuration, with ``metadata`` and ``optuna`` defaulting to empty mappings.

    :raises ConfigError:
        If the file cannot be read or parsed, or is not a study's configuration.
    """
    import yaml

    path = pathlib.Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"config {str(path)!r} must end in .json, .yaml or .yml, but ends in {path.suffix!r}")
    text = read_text(path, what="config file", error=ConfigError)
    try:
        config = json.loads(text) if kind == "JSON" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise ConfigError(f"config {str(path)!r} is not valid {kind}: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise ConfigError(f"config {str(path)!r} is nested too deeply to be read") from None
    return _checked_structure(config, source=str(path))


def hpo_pipeline_from_path(path: str | pathlib.Path, **kwargs: Any) -> HpoPipelineResult:
    """Run a study's configuration file like :func:`hpo_pipeline`; a drop-in for PyKEEN's function of this name.

    :param path:
        The path of a JSON or YAML configuration file, see :func:`load_study`.
    :param kwargs:
        Further keyword arguments for :func:`pykeen.hpo.hpo_pipeline`.

    :return:
        PyKEEN's result of the study.
    """
    config = load_study(path)
    merged = {**config["pipeline"], **config["optuna"], **kwargs}
    check_study(merged, source=str(path))
    return hpo_pipeline(**merged)


def _checked_structure(config: Any, *, source: str) -> dict[str, Any]:
    if not isinstance(config, Mapping):
        raise ConfigError(f"{source} must be a mapping with a 'pipeline' entry, but is {type(config).__name__}")
    if "pipeline" not in config:
        raise ConfigError(f"{source} has no 'pipeline' entry; its top-level keys are {sorted(map(str, config))}")
    checked = dict(config)
    for key in ("pipeline", "optuna", "metadata"):
        value = config.get(key) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"'{key}' in {source} must be a mapping, but is {type(value).__name__}")
        checked[key] = dict(value)
    return checked
