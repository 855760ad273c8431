"""Given parts are never changed by the representation, and keep their values through a model's initialisation."""

from __future__ import annotations

import importlib
import io
import sys

import pytest
import torch
from pykeen.datasets import Nations
from pykeen.models import DistMult
from pykeen.nn import Embedding
from pykeen.nn.init import PretrainedInitializer

from pykeen_backfill import BackfillRepresentation


@pytest.fixture(scope="module")
def nations() -> Nations:
    return Nations()


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def _equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)


def test_construction_leaves_a_given_instance_as_it_was() -> None:
    base, backfill = Embedding(max_id=3, shape=(4,)), Embedding(max_id=5, shape=(4,))
    before = {"base": _state(base), "backfill": _state(backfill)}
    attributes = {id(m): dict(vars(m)) for part in (base, backfill) for m in part.modules()}
    BackfillRepresentation(max_id=8, base_ids=[5, 6, 7], base=base, backfill=backfill)
    assert _equal(_state(base), before["base"]) and _equal(_state(backfill), before["backfill"])
    for part in (base, backfill):
        for module in part.modules():
            # nothing replaced on the instance, e.g. no reset_parameters of our own
            assert "reset_parameters" not in vars(module)
            assert vars(module).keys() == attributes[id(module)].keys()


def test_the_callers_own_reset_still_resets_a_given_instance() -> None:
    base = Embedding(max_id=3, shape=(4,))
    BackfillRepresentation(max_id=8, base_ids=[5, 6, 7], base=base)
    before = base(None).detach().clone()
    base.reset_parameters()
    base._embeddings.reset_parameters()
    assert not torch.equal(base(None), before)


def test_a_model_reset_keeps_a_given_base_and_a_given_backfill(nations: Nations) -> None:
    num = nations.num_entities
    base, backfill = Embedding(max_id=4, shape=(8,), trainable=False), Embedding(max_id=num - 4, shape=(8,))
    expected = {"base": _state(base), "backfill": _state(backfill)}
    representation = BackfillRepresentation(max_id=num, base_ids=[0, 3, 5, 9], base=base, backfill=backfill)
    model = DistMult(triples_factory=nations.training, embedding_dim=8, entity_representations=representation)
    for _ in range(2):
        model.reset_parameters_()
        assert _equal(_state(base), expected["base"]) and _equal(_state(backfill), expected["backfill"])


def test_a_parts_own_built_backfill_is_still_initialised_by_the_model(nations: Nations) -> None:
    representation = BackfillRepresentation(max_id=nations.num_entities, base_ids=[0, 1], base_kwargs=dict(shape=8))
    DistMult(triples_factory=nations.training, embedding_dim=8, entity_representations=representation)
    before = _state(representation.backfill)
    representation.backfill.reset_parameters()
    assert not _equal(_state(representation.backfill), before)


def test_a_given_pretrained_part_gets_its_vectors_and_the_callers_tensor_survives_resets(nations: Nations) -> None:
    vectors = torch.randn(4, 8)
    original = vectors.clone()
    base = Embedding(max_id=4, shape=(8,), initializer=PretrainedInitializer(tensor=vectors), trainable=False)
    representation = BackfillRepresentation(max_id=nations.num_entities, base_ids=[2, 4, 6, 8], base=base)
    model = DistMult(triples_factory=nations.training, embedding_dim=8, entity_representations=representation)
    for _ in range(3):
        model.reset_parameters_()
        assert torch.equal(representation(torch.tensor([2, 4, 6, 8])), original)
        assert torch.equal(vectors, original)


def test_a_part_built_from_the_callers_tensor_never_aliases_it(nations: Nations) -> None:
    vectors = torch.randn(4, 8)
    original = vectors.clone()
    representation = BackfillRepresentation(
        max_id=nations.num_entities,
        base_ids=[2, 4, 6, 8],
        base_kwargs=dict(shape=8, initializer=PretrainedInitializer(tensor=vectors), trainable=True),
    )
    model = DistMult(triples_factory=nations.training, embedding_dim=8, entity_representations=representation)
    model.reset_parameters_()
    assert torch.equal(representation(torch.tensor([2, 4, 6, 8])), original)
    # fine-tuning the reused rows changes the model's copy only
    with torch.no_grad():
        representation.bases[0]._embeddings.weight.add_(1.0)
    model.reset_parameters_()
    assert torch.equal(vectors, original)
    assert torch.equal(representation(torch.tensor([2, 4, 6, 8])), original)


def test_a_pickled_model_keeps_its_given_base_through_a_reset_after_loading(nations: Nations) -> None:
    base = Embedding(max_id=4, shape=(8,), trainable=False)
    representation = BackfillRepresentation(max_id=nations.num_entities, base_ids=[0, 1, 2, 3], base=base)
    model = DistMult(triples_factory=nations.training, embedding_dim=8, entity_representations=representation)
    expected = representation(torch.arange(4)).detach().clone()
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    loaded.reset_parameters_()
    assert torch.equal(loaded.entity_representations[0](torch.arange(4)), expected)


def test_a_pickle_holds_the_given_base_once() -> None:
    base = Embedding(max_id=5_000, shape=(64,), trainable=False)
    representation = BackfillRepresentation(max_id=5_010, base_ids=range(5_000), base=base)
    held = sum(tensor.numel() * tensor.element_size() for tensor in representation.state_dict().values())
    buffer = io.BytesIO()
    torch.save(representation, buffer)
    # the recorded values travel as a flag, not as a second copy of the base's 1.28 MB
    assert buffer.tell() < 1.25 * held


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("pykeen_backfill.hookspecs", "pykeen_backfill.plugins.hookspec"),
        ("pykeen_backfill.plugin", "pykeen_backfill.plugins.own"),
        ("pykeen_backfill.pretrained", "pykeen_backfill.warm_start"),
        ("pykeen_backfill.injected", "pykeen_backfill.representation.kwargs"),
    ],
)
def test_moved_import_paths_give_the_new_module_with_a_warning(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
