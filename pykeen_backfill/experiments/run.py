"""Run PyKEEN experiment configurations, with representation keyword arguments for every model, and save results."""

from __future__ import annotations

import contextlib
import pathlib
import shutil
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .config import check_config, load_config
from .merge import prepare_pipeline_kwargs

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

__all__ = [
    "pipeline_from_config",
    "pipeline_from_path",
    "run_experiment",
    "save_result",
]


def pipeline_from_config(config: Mapping[str, Any], **kwargs: Any) -> PipelineResult:
    """Run :func:`pykeen.pipeline.pipeline` on a configuration, with representation keyword arguments for every model.

    A drop-in for :func:`pykeen.pipeline.pipeline_from_config`: the configuration is checked first (see
    :func:`check_config`), then run with the user's representation keyword arguments merged over the model's own.
    PyKEEN's rank-based evaluator (also the default) is replaced by
    :class:`~pykeen_backfill.evaluation.FastRankBasedEvaluator`, which gives the same figures, and the objects of the
    set-up are kept out of PyKEEN's per-epoch garbage collections (:func:`~pykeen_backfill.training.frozen_heap`).

    :param config:
        A configuration with a ``pipeline`` entry and optionally a ``metadata`` entry.
    :param kwargs:
        Further keyword arguments for :func:`pykeen.pipeline.pipeline`; they override the configuration's.

    :return:
        The pipeline's result.
    """
    from pykeen.pipeline import pipeline

    from ..evaluation.choice import fast_evaluator
    from ..training import frozen_heap

    config = check_config(config)
    pipeline_kwargs = prepare_pipeline_kwargs({**config["pipeline"], **kwargs})
    pipeline_kwargs = {**pipeline_kwargs, "evaluator": fast_evaluator(pipeline_kwargs.get("evaluator"))}
    with frozen_heap():
        return pipeline(metadata=config["metadata"], **pipeline_kwargs)


def pipeline_from_path(path: str | pathlib.Path, **kwargs: Any) -> PipelineResult:
    """Run a configuration file like :func:`pipeline_from_config`; a drop-in for PyKEEN's function of this name.

    :param path:
        The path of a JSON or YAML configuration file.
    :param kwargs:
        Further keyword arguments for :func:`pykeen.pipeline.pipeline`.

    :return:
        The pipeline's result.
    """
    return pipeline_from_config(load_config(path), **kwargs)


def save_result(result: PipelineResult, directory: str | pathlib.Path) -> pathlib.Path:
    """Save a pipeline's result, as :meth:`~pykeen.pipeline.PipelineResult.save_to_directory` does.

    A model of the ``interaction`` + ``dimensions`` form is an instance of a class local to PyKEEN's
    :func:`~pykeen.models.make_model_cls`, which :mod:`pickle` cannot name; it is saved as an instance of its nearest
    importable ancestor (:class:`~pykeen.models.ERModel`), which holds the same modules and computes the same scores.

    :param result:
        The pipeline's result.
    :param directory:
        The directory to write ``trained_model.pkl``, ``results.json``, ``metadata.json`` and the training triples to;
        it is created if needed.

    :return:
        The directory.
    """
    directory = pathlib.Path(directory)
    with _picklable(result.model):
        result.save_to_directory(directory)
    return directory


@contextlib.contextmanager
def _picklable(model: Any) -> Iterator[None]:
    cls = type(model)
    importable = next(klass for klass in cls.__mro__ if "<locals>" not in klass.__qualname__)
    if importable is cls:
        yield
        return
    model.__class__ = importable
    try:
        yield
    finally:
        model.__class__ = cls


def run_experiment(path: str | pathlib.Path, directory: str | pathlib.Path) -> PipelineResult:
    """Run a configuration file and save the result and a copy of the file in a directory.

    This is what ``pykeen-backfill run CONFIG -d DIRECTORY`` does.

    :param path:
        The path of a JSON or YAML configuration file.
    :param directory:
        The output directory, see :func:`save_result`.

    :return:
        The pipeline's result.
    """
    path = pathlib.Path(path)
    result = pipeline_from_path(path)
    directory = save_result(result, directory)
    shutil.copyfile(path, directory.joinpath("configuration_copied").with_suffix(path.suffix))
    return result
