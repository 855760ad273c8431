"""The new id space of a warm start: the labels of the grown graph, ordered by id."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from ..checks import check_triples_file, preview
from ..errors import OptionTypeError, OptionValueError, PretrainedFormatError
from .labels import TARGETS, labels_by_id, read_id_map

__all__ = [
    "LabelsHint",
    "fill_labels",
    "max_id_for",
    "new_labels",
]

#: the new id space: a dataset name or path, a saved triples factory, a triples file, a triples factory, a dataset,
#: or a mapping from label to id
LabelsHint = Any


def new_labels(labels: LabelsHint, target: str) -> tuple[str, ...]:
    """Return the labels of the new id space, ordered by id (without inverse relations).

    :param labels:
        A dataset name known to :data:`pykeen.datasets.dataset_resolver` (e.g. ``"nations"``); a path to a triples
        factory saved with :meth:`~pykeen.triples.TriplesFactory.to_path_binary`, or to a training triples file
        (TSV of labels, numbered as :meth:`~pykeen.triples.TriplesFactory.from_path` numbers them); a triples
        factory; a dataset (its training factory); or a mapping from label to id.
    :param target:
        ``"entity"`` or ``"relation"``.

    :return:
        The labels.

    :raises PretrainedFormatError:
        If ``labels`` names nothing that exists.
    """
    from pykeen.datasets import Dataset
    from pykeen.triples import TriplesFactory

    if isinstance(labels, Dataset):
        labels = labels.training
    if isinstance(labels, TriplesFactory):
        labels = getattr(labels, f"{target}_to_id")
    if isinstance(labels, Mapping):
        return labels_by_id(labels, what=f"the new {target} labels")
    if isinstance(labels, (str, pathlib.Path)):
        path = pathlib.Path(labels)
        if path.is_dir():
            return read_id_map(path.joinpath(f"{target}_to_id.tsv.gz"))
        if path.exists():
            # a FIFO or a device is refused when read
            return new_labels(_triples_file(path), target)
        return new_labels(_dataset(str(labels)), target)
    raise OptionTypeError(
        "labels must be a dataset name, a path, a TriplesFactory, a Dataset or a mapping from label to id, "
        f"but got {type(labels).__name__}",
    )


def _triples_file(path: pathlib.Path) -> Any:
    from pykeen.triples import TriplesFactory

    # a FIFO or a device would block the reader, a malformed line would end in PyKEEN's traceback: refused first
    check_triples_file(path, error=PretrainedFormatError)
    try:
        # numbered exactly as the pipeline numbers a training file given by path (a byte-order mark included)
        return TriplesFactory.from_path(path)
    except (ValueError, OSError) as error:
        raise PretrainedFormatError(f"{path} is not a file of tab-separated labelled triples: {error}") from None


def fill_labels(kwargs: Mapping[str, Any], labels: Callable[[], LabelsHint]) -> dict[str, Any]:
    """Give a warm start without ``labels`` the new id space of the run it is part of.

    :param kwargs:
        The keyword arguments of one representation, as a configuration gives them.
    :param labels:
        Returns the new id space, e.g. the configuration's dataset; called only if it is needed.

    :return:
        A copy of the keyword arguments, with ``id_space`` filled in where ``pretrained`` is given without it (nor
        its deprecated name ``labels``), and
        ``triples`` where ``backfill_init`` is given without them.
    """
    kwargs = dict(kwargs)
    if kwargs.get("pretrained") is not None and kwargs.get("id_space") is None and kwargs.get("labels") is None:
        kwargs["id_space"] = labels()
    # the neighbours of new rows are read from the same graph's training triples
    if kwargs.get("backfill_init") is not None and kwargs.get("triples") is None:
        kwargs["triples"] = labels()
    return kwargs


def _dataset(name: str) -> Any:
    from pykeen.datasets import dataset_resolver, get_dataset

    try:
        dataset_resolver.lookup(name)
    except (KeyError, ValueError):
        raise PretrainedFormatError(
            f"the new id space {preview(name)} is neither an existing path nor a dataset known to PyKEEN "
            "(e.g. 'nations')",
        ) from None
    return get_dataset(dataset=name)


def max_id_for(triples_factory: Any, target: str) -> int:
    """Return the number of ids a model trained on the triples factory has for the target.

    :param triples_factory:
        The triples factory of the new graph.
    :param target:
        ``"entity"`` or ``"relation"``; with inverse triples, a relation counts twice.
    :return:
        The number of ids.
    """
    if target not in TARGETS:
        raise OptionValueError(f"target must be one of {list(TARGETS)}, but got {preview(target)}")
    if not hasattr(triples_factory, "num_entities"):
        # a dataset name, a path, a mapping: the new id space has one id per label
        return len(new_labels(triples_factory, target))
    return triples_factory.num_entities if target == "entity" else triples_factory.num_relations
