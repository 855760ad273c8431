"""What ``pykeen-backfill run`` adds for a backfilled model: the split metrics, in ``results.json`` and printed."""

from __future__ import annotations

import pathlib
from typing import Any

from .evaluation import format_split_table
from .workflow import add_split_to_results, split_metrics_of_run

__all__ = ["format_split_table", "split_if_backfilled"]


def split_if_backfilled(result: Any, config: pathlib.Path, directory: pathlib.Path) -> dict[str, Any] | None:
    """Evaluate a run split by what is new, if its model has a backfill representation, and save the figures.

    :param result:
        The pipeline's result.
    :param config:
        The configuration file the run came from, for its dataset.
    :param directory:
        The run's directory; the split metrics go into its ``results.json`` under ``split_metrics``.

    :return:
        The split metrics, or ``None`` if no representation of the model is a backfill.
    """
    from ..experiments.config import load_config
    from ..representation import BackfillRepresentation

    representations = [*result.model.entity_representations, *result.model.relation_representations]
    if not any(isinstance(representation, BackfillRepresentation) for representation in representations):
        return None
    split = split_metrics_of_run(result, load_config(config)["pipeline"])
    add_split_to_results(directory, split)
    return split
