"""``id_space`` names the new id space of a warm start; ``labels``, its earlier name, still works, with a warning."""

from __future__ import annotations

import warnings

import pytest
import torch

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import OptionTypeError
from pykeen_backfill.warm_start import LabelledVectors

SPACE = {"mars": 0, "venus": 1, "earth": 2}


@pytest.fixture
def vectors() -> LabelledVectors:
    return LabelledVectors(labels=("earth", "pluto", "mars"), vectors=torch.arange(6.0).view(3, 2))


def test_id_space_places_the_pretrained_rows_by_label(vectors: LabelledVectors) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        rep = BackfillRepresentation(max_id=3, pretrained=vectors, id_space=SPACE)
    assert torch.equal(rep(torch.tensor([2, 0])), torch.tensor([[0.0, 1.0], [4.0, 5.0]]))


def test_labels_works_the_same_with_a_warning_naming_id_space(vectors: LabelledVectors) -> None:
    with pytest.warns(DeprecationWarning, match=r"labels is deprecated: pass id_space=") as caught:
        old = BackfillRepresentation(max_id=3, pretrained=vectors, labels=SPACE)
    # the warning points at the caller's line, not into the package
    assert caught[0].filename == __file__
    new = BackfillRepresentation(max_id=3, pretrained=vectors, id_space=SPACE)
    assert torch.equal(old.base_ids, new.base_ids)
    assert torch.equal(old(torch.tensor([0, 2])), new(torch.tensor([0, 2])))


def test_both_names_at_once_are_refused(vectors: LabelledVectors) -> None:
    with pytest.raises(TypeError, match="pass id_space only") as info:
        BackfillRepresentation(max_id=3, pretrained=vectors, id_space=SPACE, labels=SPACE)
    assert isinstance(info.value, OptionTypeError)


def test_id_space_without_a_warm_start_is_refused_by_its_name() -> None:
    with pytest.raises(TypeError, match=r"\['id_space'\] only apply to a warm start"):
        BackfillRepresentation(max_id=3, base_ids=[0], base_kwargs=dict(shape=2), id_space=SPACE)
