"""Run PyKEEN experiment configurations, with representation keyword arguments that every model accepts.

- :mod:`.config`: read and check a configuration before anything is trained;
- :mod:`.merge`: build a model with the user's representation keyword arguments merged over its own;
- :mod:`.run`: run a configuration and save its result (``pykeen-backfill run``);
- :mod:`.routes`: where each model keeps its per-entity vectors, and how a backfill reaches them (RGCN, CompGCN, the
  literal models, ...), or why it cannot;
- :mod:`.search`: checks of a hyperparameter search before its first trial (no size fixed that the study searches).
"""

from __future__ import annotations

from ..errors import ConfigError
from .config import REPRESENTATION_KWARGS, check_config, config_dataset, load_config
from .merge import (
    merge_representation_kwargs,
    prepare_pipeline_kwargs,
    prepare_representation_kwargs,
    split_representation_kwargs,
    with_representation_kwargs,
)
from .run import pipeline_from_config, pipeline_from_path, run_experiment, save_result

__all__ = [
    "ConfigError",
    "REPRESENTATION_KWARGS",
    "check_config",
    "config_dataset",
    "load_config",
    "merge_representation_kwargs",
    "pipeline_from_config",
    "pipeline_from_path",
    "prepare_pipeline_kwargs",
    "prepare_representation_kwargs",
    "run_experiment",
    "save_result",
    "split_representation_kwargs",
    "with_representation_kwargs",
]
