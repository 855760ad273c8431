"""Output directories of ``pykeen experiments run``: where the model is, and which id space its rows are in.

``pykeen experiments run CONFIG -d OUT`` writes ``OUT/<timestamp>_<uuid>/configuration_copied.json`` and, per
replicate, ``replicates/replicate-00000/trained_model.pkl``, but no ``training_triples/``: the pickled model holds no
labels. The id space is then the dataset the configuration names, read again; or, where the user gives one, the
source's ``dataset``.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from ..checks import decode_text, read_bytes
from ..errors import PretrainedFormatError
from .space import LabelsHint

__all__ = [
    "CONFIGURATION",
    "REPLICATES",
    "configured_dataset",
    "find_replicate",
]

#: the copy of the configuration that ``pykeen experiments run`` writes, without its suffix
CONFIGURATION = "configuration_copied"
#: the directory of its replicates
REPLICATES = "replicates"


def find_replicate(path: pathlib.Path, *, model_file: str) -> pathlib.Path | None:
    """Return the replicate directory that holds the model of a ``pykeen experiments run`` output directory.

    :param path:
        The directory given to ``-d``, the experiment directory in it, or a replicate directory.
    :param model_file:
        The name of the model file, e.g. ``trained_model.pkl``.

    :return:
        The replicate directory, or ``None`` if ``path`` is none of these.

    :raises PretrainedFormatError:
        If there are several experiments or replicates to choose from; the message lists them.
    """
    # exists, not is_file: a FIFO in its place is refused when opened, not mistaken for no run at all
    if path.joinpath(model_file).exists():
        return path
    experiments = [path] if path.joinpath(REPLICATES).is_dir() else _children_with(path, REPLICATES)
    if not experiments:
        return None
    if len(experiments) > 1:
        raise PretrainedFormatError(f"{path} holds several experiments; name one of {_listed(experiments)}")
    replicates = _children_with(experiments[0] / REPLICATES, model_file)
    if not replicates:
        raise PretrainedFormatError(
            f"{experiments[0] / REPLICATES} holds no replicate with a {model_file}; was the run made with "
            "--discard-replicates?"
        )
    if len(replicates) > 1:
        raise PretrainedFormatError(f"{path} holds several replicates; name one of {_listed(replicates)}")
    return replicates[0]


def _children_with(path: pathlib.Path, name: str) -> list[pathlib.Path]:
    if not path.is_dir():
        return []
    return sorted(child for child in path.iterdir() if child.joinpath(name).exists())


def _listed(paths: list[pathlib.Path]) -> str:
    return ", ".join(str(path) for path in paths)


def configured_dataset(replicate: pathlib.Path) -> LabelsHint | None:
    """Return the training data that the configuration of a ``pykeen experiments run`` replicate names.

    :param replicate:
        A replicate directory, ``.../replicates/replicate-00000``.

    :return:
        A dataset name, a path of a training triples file (relative paths as the run read them, from the working
        directory), or a dataset built with the configuration's ``dataset_kwargs``; ``None`` if no configuration is
        found or it names no training data.

    :raises PretrainedFormatError:
        If the configuration cannot be read.
    """
    if replicate.parent.name != REPLICATES:
        return None
    candidates = [replicate.parent.parent.joinpath(CONFIGURATION + suffix) for suffix in (".json", ".yaml", ".yml")]
    found = [path for path in candidates if path.exists()]
    if not found:
        return None
    pipeline = _read(found[0]).get("pipeline")
    if not isinstance(pipeline, dict):
        return None
    dataset, training = pipeline.get("dataset"), pipeline.get("training")
    if isinstance(dataset, str) and pipeline.get("dataset_kwargs"):
        from pykeen.datasets import get_dataset

        # e.g. a path split with a seed: the ids are those of the dataset as the run built it
        return get_dataset(dataset=dataset, dataset_kwargs=pipeline["dataset_kwargs"])
    if isinstance(dataset, str):
        return dataset
    if isinstance(training, str):
        return training
    return None


def _read(path: pathlib.Path) -> dict[str, Any]:
    import yaml

    what = "the run's configuration"
    data = read_bytes(path, what=what, error=PretrainedFormatError)
    text = decode_text(data, path=path, what=what, error=PretrainedFormatError)
    try:
        config = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError) as error:
        raise PretrainedFormatError(f"the run's configuration {path} cannot be read: {error}") from None
    return config if isinstance(config, dict) else {}
