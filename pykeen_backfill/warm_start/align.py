"""Match the rows of a source of vectors to the new ids by label, never by id."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy
import torch

__all__ = [
    "Alignment",
    "align",
]


@dataclasses.dataclass(frozen=True)
class Alignment:
    """How the rows of one source map onto the new id space."""

    #: a short description of the source
    source: str

    #: shape: ``(k,)``; the new ids this source serves
    new_ids: torch.Tensor

    #: shape: ``(k,)``; the source's row for each of them
    old_rows: torch.Tensor

    #: the source's labels that the new id space does not have
    dropped: tuple[str, ...]

    #: how many of the source's labels the new id space has, but an earlier source already serves
    shadowed: int

    @property
    def num_reused(self) -> int:
        """Return the number of new ids served by this source."""
        return self.new_ids.numel()


def align(old_labels: Sequence[str], new_row_labels: Sequence[str], claimed: torch.Tensor, *, source: str) -> Alignment:
    """Match the rows of a source to the new ids by label.

    :param old_labels:
        The label of each row of the source.
    :param new_row_labels:
        The label of each new id.
    :param claimed: shape: ``(len(new_row_labels),)``
        Which new ids an earlier source serves; updated in place with the ids this source serves.
    :param source:
        A short description of the source.

    :return:
        The alignment.
    """
    import pandas

    # a hash index matches millions of labels in well under a second, unlike a loop over a dict
    rows = torch.from_numpy(pandas.Index(list(new_row_labels)).get_indexer(list(old_labels))).long()
    present = rows >= 0
    new_ids, old_rows = rows[present], present.nonzero().squeeze(1)
    fresh = ~claimed[new_ids]
    claimed[new_ids[fresh]] = True
    dropped = tuple(numpy.asarray(old_labels, dtype=object)[~present.numpy()].tolist())
    return Alignment(
        source=source,
        new_ids=new_ids[fresh],
        old_rows=old_rows[fresh],
        dropped=dropped,
        shadowed=int((~fresh).sum()),
    )
