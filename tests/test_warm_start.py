"""Warm start by labels: an old run whose ids are not alphabetical, reused on the full nations graph."""

from __future__ import annotations

import json
import pathlib
import random
import subprocess
import sys

import numpy
import pytest
import torch
from click.testing import CliRunner
from pykeen.datasets import get_dataset
from pykeen.models import TransD
from pykeen.pipeline import PipelineResult, pipeline
from pykeen.triples import TriplesFactory

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.cli import main
from pykeen_backfill.errors import DuplicateLabelsError, ShapeMismatchError
from pykeen_backfill.warm_start import (
    NoSharedLabelsError,
    PretrainedSource,
    UnsafeFileError,
    export_vectors,
    open_pretrained,
    plan_warm_start,
)

FAST = dict(
    training_kwargs=dict(num_epochs=1, batch_size=256, use_tqdm=False),
    evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
    random_seed=0,
)

#: in the old graph only; the new graph must drop them
GONE_ENTITY, GONE_RELATION = "atlantis", "conquers"


def _shuffled_ids(labels: list[str], seed: int) -> dict[str, int]:
    order = sorted(labels)
    random.Random(seed).shuffle(order)
    assert order != sorted(order)
    return {label: i for i, label in enumerate(order)}


@pytest.fixture(scope="module")
def nations() -> TriplesFactory:
    """The full nations graph, numbered in a shuffled (not alphabetical) order."""
    training = get_dataset(dataset="nations").training
    return TriplesFactory.from_labeled_triples(
        training.triples,
        entity_to_id=_shuffled_ids(list(training.entity_to_id), seed=1),
        relation_to_id=_shuffled_ids(list(training.relation_to_id), seed=2),
    )


@pytest.fixture(scope="module")
def old_run(nations: TriplesFactory, tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineResult, pathlib.Path]:
    """DistMult (dim 8, one epoch) on 10 nations, 40 relations and one entity and relation nations does not have."""
    entities = sorted(nations.entity_to_id)[:10]
    relations = sorted(nations.relation_to_id)[:40]
    triples = nations.triples
    keep = (
        numpy.isin(triples[:, 0], entities) & numpy.isin(triples[:, 2], entities) & numpy.isin(triples[:, 1], relations)
    )
    extra = numpy.array([[GONE_ENTITY, GONE_RELATION, entities[0]], [entities[1], relations[0], GONE_ENTITY]])
    factory = TriplesFactory.from_labeled_triples(
        numpy.concatenate([triples[keep], extra]),
        entity_to_id=_shuffled_ids([*entities, GONE_ENTITY], seed=3),
        relation_to_id=_shuffled_ids([*relations, GONE_RELATION], seed=4),
    )
    result = pipeline(training=factory, testing=factory, model="DistMult", model_kwargs=dict(embedding_dim=8), **FAST)
    directory = tmp_path_factory.mktemp("old_run")
    result.save_to_directory(directory)
    return result, directory


def _old_vectors(result: PipelineResult, target: str) -> dict[str, torch.Tensor]:
    table = open_pretrained(result).table(target)
    return dict(zip(table.labels, table.vectors, strict=True))


@pytest.mark.parametrize("target", ["entity", "relation"])
def test_every_shared_label_gets_exactly_its_old_vector(old_run, nations: TriplesFactory, target: str) -> None:
    result, _ = old_run
    old = _old_vectors(result, target)
    new_ids = getattr(nations, f"{target}_to_id")
    representation = BackfillRepresentation.from_pretrained(result, nations, target=target)

    vectors = representation(indices=None).detach()
    shared = sorted(set(old) & set(new_ids))
    assert len(shared) == (10 if target == "entity" else 40)
    for label in shared:
        assert torch.equal(vectors[new_ids[label]], old[label]), label
    # the backfill serves exactly the labels the old run does not have
    backfilled = {label for label, i in new_ids.items() if i in set(representation.backfill_ids.tolist())}
    assert backfilled == set(new_ids) - set(old)
    # only the new rows are trainable
    assert [p.requires_grad for p in representation.base.parameters()] == [False]
    assert all(p.requires_grad for p in representation.backfill.parameters())


def test_trainable_fine_tunes_the_reused_rows(old_run, nations: TriplesFactory) -> None:
    result, _ = old_run
    representation = BackfillRepresentation.from_pretrained(result, nations, trainable=True, constrainer="normalize")
    assert all(p.requires_grad for p in representation.parameters())
    # a fine-tuned row obeys the model's constraint like any other
    assert representation.base.constrainer is not None


def test_a_model_keeps_the_reused_rows_through_its_initialisation(old_run, nations: TriplesFactory) -> None:
    result, _ = old_run
    old = _old_vectors(result, "entity")
    model = pipeline(
        training=nations,
        testing=nations,
        model="DistMult",
        model_kwargs=dict(
            embedding_dim=8,
            entity_representations="backfill",
            entity_representations_kwargs=dict(pretrained=result, labels=nations),
        ),
        **FAST,
    ).model
    vectors = model.entity_representations[0](indices=None).detach()
    for label, i in nations.entity_to_id.items():
        if label in old:
            assert torch.equal(vectors[i], old[label]), label


def test_a_dimension_mismatch_is_refused(old_run, nations: TriplesFactory) -> None:
    result, _ = old_run
    with pytest.raises(ShapeMismatchError, match=r"shape \(8,\).*shape \(16,\).*embedding_dim=8"):
        BackfillRepresentation.from_pretrained(result, nations, shape=16)


def test_an_empty_overlap_is_refused(old_run) -> None:
    result, _ = old_run
    with pytest.raises(NoSharedLabelsError, match="none of the 11 entity labels"):
        BackfillRepresentation(max_id=2, pretrained=result, labels={"mars": 0, "venus": 1})


def test_the_pickle_is_refused_without_allow_pickle(old_run, nations: TriplesFactory) -> None:
    result, directory = old_run
    with pytest.raises(UnsafeFileError, match=r"allow_pickle=True.*pykeen-backfill export"):
        BackfillRepresentation.from_pretrained(directory, nations)
    from_directory = BackfillRepresentation.from_pretrained(directory, nations, allow_pickle=True)
    from_result = BackfillRepresentation.from_pretrained(result, nations)
    assert torch.equal(from_directory.base_ids, from_result.base_ids)
    assert torch.equal(from_directory.base(indices=None), from_result.base(indices=None))


def test_several_sources_the_first_that_has_a_label_serves_it(old_run, nations: TriplesFactory, tmp_path) -> None:
    """An old run for ten entities, and a file of static features for two of them and two new ones."""
    result, _ = old_run
    old = _old_vectors(result, "entity")
    run_labels = sorted(set(old) & set(nations.entity_to_id))
    new_labels = sorted(set(nations.entity_to_id) - set(old))
    feature_labels = [new_labels[0], run_labels[0], new_labels[1], run_labels[1]]
    features = torch.rand(4, 8).numpy()
    numpy.save(tmp_path / "features.npy", features)
    (tmp_path / "features.txt").write_text("\n".join(feature_labels) + "\n")

    representation = BackfillRepresentation.from_pretrained(
        [result, {"source": str(tmp_path / "features.npy"), "labels_file": str(tmp_path / "features.txt")}],
        nations,
    )

    vectors = representation(indices=None).detach()
    for label in run_labels:
        assert torch.equal(vectors[nations.entity_to_id[label]], old[label])
    for row in (0, 2):
        assert torch.equal(vectors[nations.entity_to_id[feature_labels[row]]], torch.from_numpy(features[row]))
    assert [base.max_id for base in representation.bases] == [10, 2]
    assert representation.backfill.max_id == nations.num_entities - 12


def test_several_sources_in_a_config_with_their_own_options(old_run, nations: TriplesFactory, tmp_path) -> None:
    result, directory = old_run
    torch.save(torch.rand(1, 8), tmp_path / "one.pt")
    new_label = sorted(set(nations.entity_to_id) - set(_old_vectors(result, "entity")))[0]
    (tmp_path / "one.json").write_text(json.dumps([new_label]))
    kwargs = dict(
        pretrained=[
            {"source": str(directory), "allow_pickle": True},
            PretrainedSource(str(tmp_path / "one.pt"), labels_file=tmp_path / "one.json", trainable=True),
        ],
        labels=nations,
    )
    representation = BackfillRepresentation(max_id=nations.num_entities, **kwargs)
    assert [base.max_id for base in representation.bases] == [10, 1]
    assert [next(base.parameters()).requires_grad for base in representation.bases] == [False, True]


@pytest.fixture(scope="module")
def transd_run(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """An untrained TransD with inverse triples, saved like a run: two representations per entity and relation."""
    training = get_dataset(dataset="nations").training
    factory = TriplesFactory.from_labeled_triples(training.triples, create_inverse_triples=True)
    directory = tmp_path_factory.mktemp("transd")
    torch.save(TransD(triples_factory=factory, embedding_dim=4, relation_dim=6), directory / "trained_model.pkl")
    factory.to_path_binary(directory / "training_triples")
    return directory


def test_index_picks_one_of_several_representations(transd_run: pathlib.Path, nations: TriplesFactory) -> None:
    model = torch.load(transd_run / "trained_model.pkl", weights_only=False)
    old_ids = get_dataset(dataset="nations").training.entity_to_id
    for index in (0, 1):
        representation = BackfillRepresentation.from_pretrained(transd_run, nations, allow_pickle=True, index=index)
        vectors = representation(indices=None).detach()
        expected = model.entity_representations[index]._plain_forward().detach()
        for label, i in nations.entity_to_id.items():
            assert torch.equal(vectors[i], expected[old_ids[label]]), (index, label)
    with pytest.raises(IndexError, match=r"index=2.*2 entity representation"):
        BackfillRepresentation.from_pretrained(transd_run, nations, allow_pickle=True, index=2)


def test_relations_of_a_run_with_inverse_triples(transd_run: pathlib.Path, nations: TriplesFactory) -> None:
    """Row 2i is relation i and row 2i + 1 its inverse, on both sides; a new graph without inverses drops them."""
    model = torch.load(transd_run / "trained_model.pkl", weights_only=False)
    old = model.relation_representations[0]._plain_forward().detach()
    training = get_dataset(dataset="nations").training
    inverse = TriplesFactory.from_labeled_triples(training.triples, create_inverse_triples=True)
    both = BackfillRepresentation.from_pretrained(transd_run, inverse, target="relation", allow_pickle=True)
    assert both.max_id == 110 and torch.equal(both(indices=None), old)

    plain = BackfillRepresentation.from_pretrained(transd_run, nations, target="relation", allow_pickle=True)
    vectors = plain(indices=None)
    for label, i in nations.relation_to_id.items():
        assert torch.equal(vectors[i], old[2 * training.relation_to_id[label]]), label


def test_plan_counts_reused_new_and_dropped(old_run) -> None:
    _, directory = old_run
    plan = plan_warm_start(directory, "nations")
    entity, relation = plan.targets
    assert (entity.num_reused, entity.new_ids.numel(), entity.dropped) == (10, 4, (GONE_ENTITY,))
    assert (relation.num_reused, relation.new_ids.numel(), relation.dropped) == (40, 15, (GONE_RELATION,))
    # without allow_pickle, the shapes stay unknown rather than unpickling the model
    assert entity.shapes == (None,)
    assert "unknown" in plan.format()


def test_plan_and_export_commands(old_run, tmp_path) -> None:
    _, directory = old_run
    runner = CliRunner()
    exported = runner.invoke(main, ["export", str(directory), str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output

    shown = runner.invoke(main, ["plan", "--pretrained", str(tmp_path / "out"), "--dataset", "nations"])
    assert shown.exit_code == 0, shown.output
    assert "entity" in shown.output and "atlantis" in shown.output and "(8,)" in shown.output
    training = str(directory / "training_triples")
    mismatch = runner.invoke(
        main, ["plan", "--pretrained", str(tmp_path / "out"), "--training", training, "--embedding-dim", "4"]
    )
    assert mismatch.exit_code == 1 and "MISMATCH" in mismatch.output

    for arguments in (["--dataset", "nations", "--training", training], ["--dataset", "no-such-dataset"]):
        failed = runner.invoke(main, ["plan", "--pretrained", str(directory), *arguments])
        assert failed.exit_code == 2
        assert failed.output.count("\n") == 1 and failed.output.startswith("Error:")


@pytest.mark.slow
def test_a_json_config_through_pykeen_experiments_run(old_run, tmp_path) -> None:
    """The reused vectors are unchanged after training; only the new rows learn."""
    result, directory = old_run
    out = tmp_path / "export"
    export_vectors(directory, out, allow_pickle=True)
    config = {
        "metadata": {"title": "warm start"},
        "pipeline": {
            "dataset": "nations",
            "model": "DistMult",
            "model_kwargs": {
                "embedding_dim": 8,
                "entity_representations": "backfill",
                "entity_representations_kwargs": {"pretrained": str(out), "labels": "nations"},
                "relation_representations": "backfill",
                "relation_representations_kwargs": {"pretrained": str(out), "labels": "nations", "target": "relation"},
            },
            "training_kwargs": {"num_epochs": 2, "batch_size": 256, "use_tqdm": False},
            "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
            "random_seed": 0,
        },
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    command = [sys.executable, "-m", "pykeen", "experiments", "run", str(path), "-d", str(tmp_path / "runs")]
    completed = subprocess.run(command, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]

    (model_path,) = (tmp_path / "runs").glob("*/replicates/replicate-00000/trained_model.pkl")
    model = torch.load(model_path, weights_only=False)
    nations = get_dataset(dataset="nations").training
    for target, new_ids in (("entity", nations.entity_to_id), ("relation", nations.relation_to_id)):
        trained = getattr(model, f"{target}_representations")[0]
        assert isinstance(trained, BackfillRepresentation)
        vectors = trained(indices=None).detach()
        old = _old_vectors(result, target)
        for label in set(old) & set(new_ids):
            assert torch.equal(vectors[new_ids[label]], old[label]), (target, label)
    assert model.entity_representations[0].backfill.max_id == 4


def test_pykeen_backfill_run_fills_labels_from_the_configs_dataset(old_run, tmp_path) -> None:
    """TransE refuses representation kwargs in PyKEEN itself; `pykeen-backfill run` passes them, and the labels."""
    result, _ = old_run
    export_vectors(result, tmp_path / "export")
    config = {
        "pipeline": {
            "dataset": "nations",
            "model": "TransE",
            "model_kwargs": {
                "embedding_dim": 8,
                "entity_representations": "backfill",
                "entity_representations_kwargs": {"pretrained": str(tmp_path / "export")},
            },
            "training_kwargs": {"num_epochs": 1, "batch_size": 256, "use_tqdm": False},
            "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
            "random_seed": 0,
        },
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    ran = CliRunner().invoke(main, ["run", str(tmp_path / "config.json"), "-d", str(tmp_path / "run")])
    assert ran.exit_code == 0, ran.output

    model = torch.load(tmp_path / "run" / "trained_model.pkl", weights_only=False)
    vectors = model.entity_representations[0](indices=None).detach()
    old = _old_vectors(result, "entity")
    new_ids = get_dataset(dataset="nations").training.entity_to_id
    assert set(old) & set(new_ids)
    for label in set(old) & set(new_ids):
        assert torch.equal(vectors[new_ids[label]], old[label]), label


def test_warm_start_options_without_pretrained_are_refused(old_run, nations: TriplesFactory) -> None:
    with pytest.raises(TypeError, match=r"\['trainable', 'labels'\] only apply to a warm start"):
        BackfillRepresentation(max_id=3, base_ids=[0], base_kwargs=dict(shape=2), trainable=True, labels="nations")
    result, _ = old_run
    with pytest.raises(TypeError, match=r"pretrained replaces \['base_ids'\]"):
        BackfillRepresentation(max_id=nations.num_entities, base_ids=[0], pretrained=result, labels=nations)
    with pytest.raises(TypeError, match="pretrained needs labels"):
        BackfillRepresentation(max_id=nations.num_entities, pretrained=result)
    with pytest.raises(ShapeMismatchError, match="14 entity labels, but the representation has 15 rows"):
        BackfillRepresentation(max_id=15, pretrained=result, labels="nations")


def _run_on(labels: list[str]) -> PipelineResult:
    """A one-epoch run on a tiny graph whose entities carry the given labels."""
    triples = numpy.asarray([[labels[i], "near", labels[(i + 1) % len(labels)]] for i in range(len(labels))])
    factory = TriplesFactory.from_labeled_triples(triples)
    return pipeline(
        training=factory,
        testing=factory,
        model="DistMult",
        model_kwargs=dict(embedding_dim=4),
        training_kwargs=dict(num_epochs=1, batch_size=8, use_tqdm=False),
        evaluation_kwargs=dict(batch_size=8, use_tqdm=False),
        random_seed=0,
    )


def test_labels_that_differ_only_in_unicode_normalisation_match() -> None:
    import unicodedata

    composed = [unicodedata.normalize("NFC", label) for label in ("São Tomé", "Curaçao", "Malmö")]
    decomposed = [unicodedata.normalize("NFD", label) for label in composed]
    assert composed != decomposed
    result = _run_on(decomposed)
    new_space = {label: i for i, label in enumerate([*composed, "Oslo"])}
    rep = BackfillRepresentation(max_id=4, pretrained=result, labels=new_space)
    assert sorted(rep.base_ids.tolist()) == [0, 1, 2]
    old = result.model.entity_representations[0](indices=None).detach()
    old_ids = [result.training.entity_to_id[label] for label in decomposed]
    # each composed label gets the vector its decomposed spelling learned
    assert torch.equal(rep(indices=torch.arange(3)).detach(), old[old_ids])


def test_two_labels_of_one_side_that_normalise_alike_are_refused_with_escapes() -> None:
    import unicodedata

    result = _run_on([unicodedata.normalize("NFD", "São"), unicodedata.normalize("NFC", "São"), "Oslo"])
    with pytest.raises(DuplicateLabelsError, match=r"'Sa\\u0303o' and 'S\\xe3o' are both 'S\\xe3o'"):
        BackfillRepresentation(max_id=2, pretrained=result, labels={"São": 0, "Oslo": 1})
