"""The earlier run of a growth step, read once: its labelled vectors and, where it has them, its training triples.

``grow`` needs the earlier run's entity and relation vectors (for the bases of the grown model, the counts and the
drift) and, for the ``touched`` strategy, which triples are new. All of it is read here, from one opened source:
a run directory's model is unpickled once, after the one check of ``allow_pickle``, and every later step works on
the tables in memory.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import pathlib
import zlib
from collections.abc import Mapping

import numpy
import torch

from ..checks import as_bool, read_bytes
from ..errors import PretrainedFormatError
from ..warm_start import LabelledVectors, align, open_pretrained
from ..warm_start.labels import read_id_map

__all__ = [
    "EarlierRun",
    "read_earlier",
]

#: where a run directory keeps its training triples (PyKEEN's ``save_to_directory``)
TRAINING = "training_triples"


@dataclasses.dataclass(frozen=True)
class EarlierRun:
    """What a growth step reads of the earlier run."""

    #: the source as the user named it
    source: str
    #: per target (``"entity"``, ``"relation"``), the labelled vectors
    tables: Mapping[str, LabelledVectors]
    #: the earlier graph's training triples as labels, shape ``(n, 3)``; ``None`` where the source has none
    triples: numpy.ndarray | None
    #: the targets whose vectors the source keeps in a mappable file (an export with ``--format npy``)
    mapped: frozenset[str] = frozenset()

    def known(self, target: str, labels: Mapping[str, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Return which ids of a grown id space the earlier run knows, and the earlier row of each.

        :param target:
            ``"entity"`` or ``"relation"``.
        :param labels:
            The grown graph's mapping from label to id.

        :return:
            The known ids (increasing) and, for each, its row in :attr:`tables`.
        """
        space = [None] * len(labels)
        for label, index in labels.items():
            space[index] = label
        claimed = torch.zeros(len(space), dtype=torch.bool)
        alignment = align(self.tables[target].labels, space, claimed, source=self.source)
        order = torch.argsort(alignment.new_ids)
        return alignment.new_ids[order], alignment.old_rows[order]

    def counts(self, target: str, labels: Mapping[str, int]) -> dict[str, int]:
        """Return the numbers of ``reused``, ``new`` and ``dropped`` labels of a target.

        :param target:
            ``"entity"`` or ``"relation"``.
        :param labels:
            The grown graph's mapping from label to id.

        :return:
            The counts.
        """
        reused = len(self.known(target, labels)[0])
        return dict(reused=reused, new=len(labels) - reused, dropped=len(self.tables[target].labels) - reused)

    def triples_in(self, entity_to_id: Mapping[str, int], relation_to_id: Mapping[str, int]) -> torch.Tensor | None:
        """Return the earlier graph's training triples in a grown id space, leaving out those with a dropped label.

        :param entity_to_id:
            The grown graph's entity ids.
        :param relation_to_id:
            The grown graph's relation ids.

        :return:
            shape: ``(m, 3)``; or ``None`` where the source has no triples.
        """
        if self.triples is None:
            return None
        columns = []
        for column, mapping in ((0, entity_to_id), (1, relation_to_id), (2, entity_to_id)):
            columns.append([mapping.get(label, -1) for label in self.triples[:, column].tolist()])
        mapped = torch.as_tensor(columns, dtype=torch.long).reshape(3, -1).T
        return mapped[(mapped >= 0).all(1)]


def read_earlier(old: str | pathlib.Path, *, allow_pickle: bool = False) -> EarlierRun:
    """Read an earlier run or export once: its entity and relation vectors, and its training triples if it has them.

    :param old:
        A run directory (``trained_model.pkl``, read only with ``allow_pickle=True``), an output directory of
        ``pykeen-backfill grow``, or an export of ``pykeen-backfill export``.
    :param allow_pickle:
        Whether a run's ``trained_model.pkl`` may be unpickled; checked here, once. Only for runs you trust.

    :return:
        The earlier run.
    """
    allow_pickle = as_bool(allow_pickle, name="allow_pickle")
    reader = open_pretrained(old, allow_pickle=allow_pickle)
    tables = {target: reader.table(target) for target in ("entity", "relation")}
    directory = pathlib.Path(old)
    triples = _run_triples(directory / TRAINING) if directory.joinpath(TRAINING).is_dir() else None
    mapped = frozenset(target for target in tables if reader.mapped(target) is not None)
    return EarlierRun(source=str(old), tables=tables, triples=triples, mapped=mapped)


def _run_triples(directory: pathlib.Path) -> numpy.ndarray:
    """Read the training triples of a run directory as labels (PyKEEN's own reader would turn ``007`` into 7)."""
    entities = numpy.asarray(read_id_map(directory / "entity_to_id.tsv.gz"), dtype=object)
    relations = numpy.asarray(read_id_map(directory / "relation_to_id.tsv.gz"), dtype=object)
    path = directory / "numeric_triples.tsv.gz"
    try:
        text = gzip.decompress(read_bytes(path, what="the triples", error=PretrainedFormatError)).decode("ascii")
        ids = numpy.loadtxt(io.StringIO(text), dtype=numpy.int64, delimiter="\t", skiprows=1, ndmin=2)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as error:
        raise PretrainedFormatError(f"the triples {path} cannot be read: {error}") from None
    if ids.size == 0:
        return numpy.empty((0, 3), dtype=object)
    if ids.shape[1] != 3 or ids.min() < 0 or ids[:, [0, 2]].max() >= len(entities) or ids[:, 1].max() >= len(relations):
        raise PretrainedFormatError(f"the triples {path} name ids outside the run's id maps")
    return numpy.stack([entities[ids[:, 0]], relations[ids[:, 1]], entities[ids[:, 2]]], axis=1)
