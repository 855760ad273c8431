"""Configuration files: JSON through `pykeen experiments run`, YAML through `pipeline_from_path`, our helpers."""

from __future__ import annotations

import json
import pathlib
import pickle
import subprocess
import sys

import pytest
import torch
from pykeen.datasets import Nations
from pykeen.models import DistMult, ERModel, TransE

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.experiments import (
    ConfigError,
    check_config,
    load_config,
    merge_representation_kwargs,
    pipeline_from_config,
    split_representation_kwargs,
    with_representation_kwargs,
)

ENTITY_KWARGS = dict(base_ids=[3, 0, 7], base_kwargs=dict(shape=8))


@pytest.mark.slow
def test_json_config_through_pykeen_experiments_run(configs: pathlib.Path, tmp_path: pathlib.Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pykeen", "experiments", "run", str(configs / "distmult_backfill.json"), "-d", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    (model_path,) = tmp_path.glob("out/*/replicates/replicate-*/trained_model.pkl")
    model = torch.load(model_path, weights_only=False)
    entities, relations = model.entity_representations[0], model.relation_representations[0]
    assert type(entities) is BackfillRepresentation and type(relations) is BackfillRepresentation
    assert entities.base_ids.tolist() == [3, 0, 7]
    assert relations.base_ids.tolist() == [10, 2, 5, 1]
    assert not relations.base._embeddings.weight.requires_grad
    (results_path,) = model_path.parent.glob("results.json")
    assert "metrics" in json.loads(results_path.read_text())


def test_yaml_config_through_pykeen_pipeline_from_path(configs: pathlib.Path) -> None:
    from pykeen.pipeline import pipeline_from_path

    result = pipeline_from_path(configs / "distmult_backfill.yaml")
    entities, relations = result.model.entity_representations[0], result.model.relation_representations[0]
    assert type(entities) is BackfillRepresentation and type(relations) is BackfillRepresentation
    assert entities.base_ids.tolist() == [3, 0, 7] and entities.shape == (8,)
    assert relations.base_ids.tolist() == [10, 2, 5, 1]
    assert not relations.base._embeddings.weight.requires_grad
    assert 0.0 < result.get_metric("hits_at_10") <= 1.0


def test_json_and_yaml_examples_agree(configs: pathlib.Path) -> None:
    assert load_config(configs / "distmult_backfill.json") == load_config(configs / "distmult_backfill.yaml")


def test_merge_lets_the_user_win_like_distmult() -> None:
    """Building DistMult through the merge gives the very model DistMult builds from the same kwargs natively."""
    factory = Nations().training
    native = DistMult(
        triples_factory=factory,
        embedding_dim=8,
        entity_representations="backfill",
        entity_representations_kwargs=ENTITY_KWARGS,
        random_seed=1,
    )
    merging = with_representation_kwargs(DistMult, entity=ENTITY_KWARGS)
    merged = merging(triples_factory=factory, embedding_dim=8, entity_representations="backfill", random_seed=1)
    assert type(merged) is DistMult
    assert str(merged) == str(native)
    native_state, merged_state = native.state_dict(), merged.state_dict()
    assert native_state.keys() == merged_state.keys()
    assert all(torch.equal(native_state[key], merged_state[key]) for key in native_state)


def test_merge_gives_transe_the_users_kwargs_and_changes_nothing_of_pykeen() -> None:
    factory = Nations().training
    before = {cls: dict(vars(cls)) for cls in (ERModel, TransE)}
    model = with_representation_kwargs(TransE, entity=dict(base_ids=[2, 4]))(
        triples_factory=factory, embedding_dim=6, entity_representations="backfill"
    )
    assert {cls: dict(vars(cls)) for cls in (ERModel, TransE)} == before
    assert type(model) is TransE
    entities = model.entity_representations[0]
    assert isinstance(entities, BackfillRepresentation)
    # TransE's own defaults still arrive where the user said nothing: its shape, and its constrainer on the backfill
    assert entities.base_ids.tolist() == [2, 4] and entities.shape == (6,)
    assert entities.backfill.constrainer is not None
    with pytest.raises(TypeError, match="multiple values"):
        TransE(
            triples_factory=factory,
            entity_representations="backfill",
            entity_representations_kwargs=dict(base_ids=[2, 4]),
        )


def test_a_merged_model_pickles_and_reloads_as_the_models_own_class() -> None:
    model = with_representation_kwargs(TransE, relation=dict(initializer="zeros"))(
        triples_factory=Nations().training, embedding_dim=4
    )
    assert not model.relation_representations[0](indices=None).any()
    again = pickle.loads(pickle.dumps(model))
    assert type(again) is TransE
    assert torch.equal(again.relation_representations[0](indices=None), model.relation_representations[0](indices=None))


def test_merge_refuses_what_is_not_an_ermodel_class() -> None:
    with pytest.raises(TypeError, match="model must be a subclass of ERModel, but is 'TransE'"):
        with_representation_kwargs("TransE", entity={})


@pytest.mark.parametrize(
    ("injected", "user", "expected"),
    [
        (
            dict(shape=8, initializer="normal"),
            dict(shape=4, base_ids=[1]),
            dict(shape=4, initializer="normal", base_ids=[1]),
        ),
        (None, dict(base_ids=[1]), dict(base_ids=[1])),
        (dict(shape=8), None, dict(shape=8)),
        ([dict(shape=(8,))], dict(base_ids=[1]), [dict(shape=(8,), base_ids=[1])]),
        (
            [dict(shape=1), dict(shape=2)],
            dict(base_ids=[0]),
            [dict(shape=1, base_ids=[0]), dict(shape=2, base_ids=[0])],
        ),
        ([dict(shape=1), dict(shape=2)], [dict(a=1), dict(a=2)], [dict(shape=1, a=1), dict(shape=2, a=2)]),
    ],
)
def test_merge_representation_kwargs(injected, user, expected) -> None:
    assert merge_representation_kwargs(injected, user) == expected


def test_merge_refuses_lists_of_different_lengths() -> None:
    with pytest.raises(ConfigError, match="has 2 entries, but the model builds 3 relation representations"):
        merge_representation_kwargs([{}, {}, {}], [{}, {}], target="relation")


def test_split_takes_representation_kwargs_out_without_touching_the_input() -> None:
    pipeline_kwargs = dict(
        dataset="nations",
        model="TransE",
        model_kwargs=dict(embedding_dim=8, entity_representations_kwargs=ENTITY_KWARGS),
    )
    remaining, user = split_representation_kwargs(pipeline_kwargs)
    assert remaining["model_kwargs"] == dict(embedding_dim=8)
    assert user == {"entity": ENTITY_KWARGS}
    assert pipeline_kwargs["model_kwargs"]["entity_representations_kwargs"] == ENTITY_KWARGS


def test_pipeline_from_config_runs_transe() -> None:
    config = dict(
        pipeline=dict(
            dataset="nations",
            model="TransE",
            model_kwargs=dict(
                embedding_dim=8,
                entity_representations="backfill",
                entity_representations_kwargs=ENTITY_KWARGS,
            ),
            training_kwargs=dict(num_epochs=1, batch_size=256, use_tqdm=False),
            evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
            random_seed=0,
        )
    )
    result = pipeline_from_config(config)
    assert isinstance(result.model, TransE)
    assert result.model.entity_representations[0].base_ids.tolist() == [3, 0, 7]


BAD_CONFIGS = [
    ([1, 2], "must be a mapping with a 'pipeline' entry, but is list"),
    (dict(metadata={}), "has no 'pipeline' entry"),
    (dict(pipeline="nations"), "'pipeline' in the config must be a mapping"),
    (dict(pipeline=dict(dataset="nations", model="TransE", epochz=3)), r"does not accept: \['epochz'\]"),
    (dict(pipeline=dict(model="TransE")), "must name a 'dataset'"),
    (dict(pipeline=dict(dataset="nations")), "exactly one of 'model' and 'interaction'"),
    (dict(pipeline=dict(dataset="nations", model="TransE", interaction="distmult")), "exactly one"),
    (dict(pipeline=dict(dataset="nations", interaction="distmult")), "gives no 'dimensions'"),
    (dict(pipeline=dict(dataset="nationz", model="TransE")), "pipeline.dataset='nationz' in the config is neither"),
    (
        dict(pipeline=dict(training="nowhere/train.tsv", testing="nowhere/test.tsv", model="TransE")),
        "pipeline.training='nowhere/train.tsv' in the config does not exist",
    ),
    (dict(pipeline=dict(dataset="nations", model="TransX")), "pipeline.model='TransX' in the config is not one of"),
    (dict(pipeline=dict(dataset="nations", interaction="nope", dimensions=2)), "pipeline.interaction='nope'"),
    (
        dict(pipeline=dict(dataset="nations", model="TransE", model_kwargs=dict(embeding_dim=8))),
        r"TransE does not accept: \['embeding_dim'\]",
    ),
    (
        dict(pipeline=dict(dataset="nations", model="TransE", model_kwargs=dict(entity_representations="backfil"))),
        "pipeline.model_kwargs.entity_representations='backfil'",
    ),
    (
        dict(pipeline=dict(dataset="nations", model="TransE", model_kwargs=dict(entity_representations_kwargs=3))),
        "entity_representations_kwargs must be a mapping or a list of mappings, but is 3",
    ),
    (
        dict(
            pipeline=dict(
                dataset="nations", model="TransE", model_kwargs=dict(entity_representations_kwargs=ENTITY_KWARGS)
            )
        ),
        r"entity_representations_kwargs in the config gives \['base_ids', 'base_kwargs'\], which only the backfill "
        r'representation takes, .* add entity_representations: "backfill" to pipeline.model_kwargs',
    ),
    (
        dict(
            pipeline=dict(
                dataset="nations",
                model="RGCN",
                model_kwargs=dict(relation_representations_kwargs=[dict(sources=[], shape=8)]),
            )
        ),
        r"gives \['sources'\], .* add relation_representations: \"backfill\"",
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIGS)
def test_bad_configs_are_refused_before_training(config, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        pipeline_from_config(config)


def test_check_config_defaults_metadata() -> None:
    checked = check_config(dict(pipeline=dict(dataset="nations", model="TransE")))
    assert checked["metadata"] == {}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.json", '{"pipeline": ', "is not valid JSON: Expecting value at line 1, column 14"),
        ("a.yaml", "pipeline: [1\n", "is not valid YAML: expected ',' or ']'"),
        ("a.toml", "", "must end in .json, .yaml or .yml"),
        ("a.yml", "- 1\n", "must be a mapping with a 'pipeline' entry, but is list"),
    ],
)
def test_load_config_refuses_bad_files(tmp_path: pathlib.Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_load_config_names_a_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.json")
