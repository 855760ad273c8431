"""Models that build entity representations on per-entity inputs: RGCN, CompGCN; NodePiece, which has none."""

from __future__ import annotations

import json
import pathlib

import pytest
import torch
from click.testing import CliRunner
from pykeen.datasets import get_dataset
from pykeen.models import RGCN, NodePiece
from pykeen.nn import init

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main
from pykeen_backfill.errors import ConfigError, NoEntityVectorsError
from pykeen_backfill.experiments import check_config, pipeline_from_config, with_representation_kwargs

FAST = dict(
    training_kwargs=dict(num_epochs=1, batch_size=512, use_tqdm=False),
    evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
    random_seed=0,
)
KNOWN = [12, 0, 4, 7]


def _config(model: str, vectors: torch.Tensor | None = None, **model_kwargs: object) -> dict:
    base_kwargs: dict = {"trainable": False}
    if vectors is not None:
        base_kwargs["initializer"] = init.PretrainedInitializer(tensor=vectors)
    model_kwargs.setdefault("embedding_dim", 8)
    return {
        "pipeline": dict(
            dataset="nations",
            model=model,
            model_kwargs=dict(
                entity_representations="backfill",
                entity_representations_kwargs=dict(base_ids=KNOWN, base_kwargs=base_kwargs),
                **model_kwargs,
            ),
            **FAST,
        )
    }


def _the_backfill(model: torch.nn.Module) -> tuple[str, BackfillRepresentation]:
    (found,) = [(path, m) for path, m in model.named_modules() if isinstance(m, BackfillRepresentation)]
    return found


def test_rgcn_backfills_the_message_passing_input() -> None:
    vectors = torch.rand(len(KNOWN), 8)
    result = pipeline_from_config(_config("rgcn", vectors, num_layers=1))
    path, entities = _the_backfill(result.model)
    # the input features of the message passing, not its output
    assert path == "entity_representations.0.entity_embeddings"
    assert entities.base_ids.tolist() == KNOWN and entities.max_id == 14
    assert torch.equal(entities(indices=torch.as_tensor(KNOWN)).detach(), vectors)


def test_rgcn_in_python_with_the_merge() -> None:
    """Without a configuration: the hint cannot go to RGCN itself, which names its own entity representations."""
    factory = get_dataset(dataset="nations").training
    merging = with_representation_kwargs(RGCN, entity_representations="backfill", entity=dict(base_ids=KNOWN))
    model = merging(triples_factory=factory, embedding_dim=8, num_layers=1)
    entities = model.entity_representations[0].entity_embeddings
    assert isinstance(entities, BackfillRepresentation) and entities.base_ids.tolist() == KNOWN
    # RGCN itself is built as usual
    plain = RGCN(triples_factory=factory, embedding_dim=8, num_layers=1)
    assert not any(isinstance(m, BackfillRepresentation) for m in plain.modules())


def test_rgcn_through_the_cli(tmp_path: pathlib.Path) -> None:
    config = _config("rgcn", num_layers=1)
    path = tmp_path / "rgcn.json"
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["run", str(path), "-d", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    model = torch.load(tmp_path / "out" / "trained_model.pkl", weights_only=False)
    assert type(model) is RGCN
    assert _the_backfill(model)[1].base_ids.tolist() == KNOWN


def test_compgcn_backfills_the_encoder_input() -> None:
    vectors = torch.rand(len(KNOWN), 8)
    config = _config("compgcn", vectors)
    config["pipeline"]["dataset_kwargs"] = dict(create_inverse_triples=True)
    result = pipeline_from_config(config)
    path, entities = _the_backfill(result.model)
    assert path.endswith("combined.entity_representations")
    assert torch.equal(entities(indices=torch.as_tensor(KNOWN)).detach(), vectors)
    # CompGCN's relations keep plain embeddings of the same size
    relations = result.model.entity_representations[0].combined.relation_representations
    assert not isinstance(relations, BackfillRepresentation) and relations.shape == (8,)


@pytest.mark.parametrize("model", ["nodepiece", "inductivenodepiece", "fixed"])
def test_models_without_entity_vectors_are_refused_before_training(model: str) -> None:
    with pytest.raises(NoEntityVectorsError, match="entity_representations='backfill'") as info:
        check_config(_config(model))
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ValueError)
    assert "use a model with one vector per entity" in str(info.value) or "needs no backfill" in str(info.value)


def test_nodepiece_refused_through_the_cli(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "nodepiece.json"
    path.write_text(json.dumps(_config("nodepiece")))
    result = CliRunner().invoke(main, ["run", str(path), "-d", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "NodePiece has no per-entity vectors" in result.output and "TypeError" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_nodepiece_in_python_with_the_merge_is_refused_not_a_type_error() -> None:
    factory = get_dataset(dataset="nations", dataset_kwargs=dict(create_inverse_triples=True)).training
    with pytest.raises(NoEntityVectorsError, match="tokens"):
        with_representation_kwargs(NodePiece, entity_representations="backfill", entity=dict(base_ids=KNOWN))(
            triples_factory=factory, embedding_dim=8
        )


def test_cooccurrencefiltered_forwards_keywords_to_its_base_model() -> None:
    """Its ``**kwargs`` go to the base model: the checks follow them there, and so does the backfill."""
    accepted = {"pipeline": dict(dataset="nations", model="cooccurrencefiltered", model_kwargs=dict(embedding_dim=8))}
    check_config(accepted)
    wrong = {"pipeline": dict(dataset="nations", model="cooccurrencefiltered", model_kwargs=dict(embedding_dims=8))}
    with pytest.raises(ConfigError, match=r"\['embedding_dims'\]"):
        check_config(wrong)
    result = pipeline_from_config(_config("cooccurrencefiltered", base="transe"))
    path, entities = _the_backfill(result.model)
    assert path == "base.entity_representations.0" and entities.base_ids.tolist() == KNOWN


def test_compgcn_in_python_with_the_merge_says_where_the_hint_goes() -> None:
    """CompGCN builds its encoder before anything can be placed: the error says to use its encoder_kwargs."""
    from pykeen.models import CompGCN

    factory = get_dataset(dataset="nations", dataset_kwargs=dict(create_inverse_triples=True)).training
    with pytest.raises(ConfigError, match="encoder_kwargs"):
        with_representation_kwargs(CompGCN, entity_representations="backfill", entity=dict(base_ids=KNOWN))(
            triples_factory=factory, embedding_dim=8
        )
    # as the message says, without anything of ours
    model = CompGCN(
        triples_factory=factory,
        embedding_dim=8,
        encoder_kwargs=dict(
            entity_representations="backfill",
            entity_representations_kwargs=dict(embedding_dim=8, base_ids=KNOWN),
            relation_representations_kwargs=dict(embedding_dim=8),
        ),
    )
    assert _the_backfill(model)[1].base_ids.tolist() == KNOWN


def test_rgcn_with_a_list_of_one_hint() -> None:
    config = _config("rgcn", num_layers=1)
    config["pipeline"]["model_kwargs"]["entity_representations"] = ["backfill"]
    config["pipeline"]["training_kwargs"] = dict(num_epochs=0, use_tqdm=False)
    path, _ = _the_backfill(pipeline_from_config(config).model)
    assert path == "entity_representations.0.entity_embeddings"


def test_compgcn_relations_too() -> None:
    """CompGCN's encoder also takes the relations' input: a relation backfill goes there, beside the entities'."""
    config = _config("compgcn")
    config["pipeline"]["dataset_kwargs"] = dict(create_inverse_triples=True)
    config["pipeline"]["model_kwargs"].update(
        relation_representations="backfill",
        relation_representations_kwargs=dict(base_ids=[0, 1, 2], base_kwargs=dict(trainable=False)),
    )
    config["pipeline"]["training_kwargs"] = dict(num_epochs=0, use_tqdm=False)
    model = pipeline_from_config(config).model
    found = {path: m for path, m in model.named_modules() if isinstance(m, BackfillRepresentation)}
    assert sorted(found) == [
        "entity_representations.0.combined.entity_representations",
        "entity_representations.0.combined.relation_representations",
    ]
    relations = found["entity_representations.0.combined.relation_representations"]
    # the encoder's relation input covers the inverse relations too
    assert relations.base_ids.tolist() == [0, 1, 2] and relations.max_id == 110 and relations.shape == (8,)


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("nodepiece", "NodePiece builds its relation representations itself"),
        ("um", "UM has no relation representations"),
        ("transh", "backfill its entities only"),
    ],
)
def test_relations_a_model_cannot_take_are_refused_before_training(model: str, reason: str) -> None:
    kwargs = dict(relation_representations="backfill", relation_representations_kwargs=dict(base_ids=[0]))
    with pytest.raises(ConfigError, match=reason):
        check_config({"pipeline": dict(dataset="nations", model=model, model_kwargs=kwargs)})
