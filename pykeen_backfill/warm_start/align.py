"""Match the rows of a source of vectors to the new ids by label, never by id.

Labels are matched in Unicode normal form C: ``"São"`` typed on one system (one code point for ``ã``) and read from a
file written on another (``a`` and a combining tilde) print alike and name the same thing, so they match. Two labels
of one side that differ only in their normalisation cannot be told apart that way, and are refused.
"""

from __future__ import annotations

import collections
import dataclasses
import unicodedata
from collections.abc import Sequence

import numpy
import torch

from ..errors import DuplicateLabelsError

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

    :raises DuplicateLabelsError:
        If two labels of one side differ only in their Unicode normalisation.
    """
    import pandas

    new_keys = _normalized(new_row_labels, what="the new id space")
    old_keys = _normalized(old_labels, what=f"the labels of {source}")
    # a hash index matches millions of labels in well under a second, unlike a loop over a dict
    rows = torch.from_numpy(pandas.Index(new_keys).get_indexer(old_keys)).long()
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


def _normalized(labels: Sequence[str], *, what: str) -> list[str]:
    """Return the labels in normal form C; refuse two that differ only in their normalisation."""
    # most labels are ASCII, which every normal form leaves as it is
    keys = [label if label.isascii() else unicodedata.normalize("NFC", label) for label in labels]
    if keys == list(labels) or len(set(keys)) == len(set(labels)):
        return keys
    spellings: dict[str, set[str]] = collections.defaultdict(set)
    for label, key in zip(labels, keys, strict=True):
        spellings[key].add(label)
    key, found = next((key, sorted(found)) for key, found in spellings.items() if len(found) > 1)
    shown = " and ".join(ascii(label) for label in found)
    raise DuplicateLabelsError(
        f"{what} hold labels that differ only in their Unicode normalisation, so no label can tell them apart: "
        f"{shown} are both {key!a} in normal form C; rename one of them, or write both sides in NFC"
    )
