"""Growth: new rows start at the mean of their known neighbours; metrics split by what is new; ``grow`` end to end."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
import torch
from pykeen.evaluation import RankBasedEvaluator
from pykeen.models import DistMult
from pykeen.nn.init import PretrainedInitializer
from pykeen.pipeline import pipeline
from pykeen.triples import TriplesFactory

from pykeen_backfill import BackfillRepresentation
from pykeen_backfill.errors import OptionTypeError, OptionValueError
from pykeen_backfill.experiments import pipeline_from_config
from pykeen_backfill.growth import known_mask, split_metrics

BASE_IDS = [0, 2, 3, 5, 8, 9, 11]


def _expected_starts(
    triples: torch.Tensor, known: dict[int, torch.Tensor], new_ids: list[int]
) -> dict[int, torch.Tensor]:
    """The mean of the known neighbours of each new id, one triple at a time; None where there is none."""
    expected = {}
    for new_id in new_ids:
        found = []
        for head, _, tail in triples.tolist():
            for me, other in ((head, tail), (tail, head)):
                if me == new_id and other in known:
                    found.append(known[other])
        expected[new_id] = torch.stack(found).mean(0) if found else None
    return expected


def _model(factory: TriplesFactory, triples, base_values: torch.Tensor, **backfill_kwargs) -> DistMult:
    return DistMult(
        triples_factory=factory,
        embedding_dim=base_values.shape[1],
        entity_representations="backfill",
        entity_representations_kwargs=dict(
            base_ids=BASE_IDS,
            base="embedding",
            base_kwargs=dict(initializer=PretrainedInitializer(base_values)),
            backfill_init="neighbours",
            triples=triples,
            **backfill_kwargs,
        ),
        random_seed=0,
    )


def test_new_rows_start_at_the_mean_of_known_neighbours(nations) -> None:
    factory = nations.training
    base_values = torch.randn(len(BASE_IDS), 6, generator=torch.Generator().manual_seed(1))
    # a subset of the triples, so that some new entities have no known neighbour at all
    triples = factory.mapped_triples[:40]
    representation = BackfillRepresentation(
        max_id=factory.num_entities,
        base_ids=BASE_IDS,
        base="embedding",
        base_kwargs=dict(shape=6, initializer=PretrainedInitializer(base_values)),
        backfill_kwargs=dict(initializer="ones_"),
        backfill_init="neighbours",
        triples=triples,
    )
    vectors = representation(indices=None).detach()
    known = {i: base_values[row] for row, i in enumerate(BASE_IDS)}
    new_ids = [i for i in range(factory.num_entities) if i not in known]
    expected = _expected_starts(triples, known, new_ids)
    assert any(value is None for value in expected.values()) and any(v is not None for v in expected.values())
    for new_id, mean in expected.items():
        want = torch.ones(6) if mean is None else mean
        assert torch.allclose(vectors[new_id], want, atol=1e-6), new_id
    assert torch.equal(vectors[BASE_IDS], base_values)
    representation.reset_parameters()
    assert torch.equal(representation(indices=None).detach(), vectors)


def test_new_relations_start_at_the_mean_of_relations_on_the_same_pairs(nations) -> None:
    triples = nations.training.mapped_triples
    known_ids = list(range(0, nations.num_relations, 2))
    base_values = torch.randn(len(known_ids), 5, generator=torch.Generator().manual_seed(3))
    representation = BackfillRepresentation(
        max_id=nations.num_relations,
        base_ids=known_ids,
        base="embedding",
        base_kwargs=dict(shape=5, initializer=PretrainedInitializer(base_values)),
        backfill_kwargs=dict(initializer="zeros_"),
        backfill_init="neighbours",
        triples=triples,
        target="relation",
    )
    vectors = representation(indices=None).detach()
    known = {i: base_values[row] for row, i in enumerate(known_ids)}
    by_pair: dict[tuple[int, int], list[int]] = {}
    for head, relation, tail in triples.tolist():
        by_pair.setdefault((head, tail), []).append(relation)
    for new_id in set(range(nations.num_relations)) - set(known):
        found = [known[other] for group in by_pair.values() if new_id in group for other in group if other in known]
        want = torch.stack(found).mean(0) if found else torch.zeros(5)
        assert torch.allclose(vectors[new_id], want, atol=1e-5), new_id
    with pytest.raises(OptionValueError, match="target"):
        BackfillRepresentation(
            max_id=14, base_ids=[0], base_kwargs=dict(shape=2), backfill_init="neighbours", triples=triples, target="x"
        )


def test_a_model_reset_reproduces_the_starts(nations) -> None:
    base_values = torch.randn(len(BASE_IDS), 6, generator=torch.Generator().manual_seed(2))
    model = _model(nations.training, nations.training, base_values)
    before = model.entity_representations[0](indices=None).detach().clone()
    with torch.no_grad():
        model.entity_representations[0].backfill._embeddings.weight.add_(1.0)
    model.reset_parameters_()
    assert torch.equal(model.entity_representations[0](indices=None).detach(), before)
    assert torch.equal(before[BASE_IDS], base_values)


def test_neighbour_start_by_dataset_name_and_errors(nations) -> None:
    base_values = torch.randn(len(BASE_IDS), 4)
    by_name = _model(nations.training, "nations", base_values).entity_representations[0](indices=None)
    by_factory = _model(nations.training, nations.training, base_values).entity_representations[0](indices=None)
    assert torch.allclose(by_name, by_factory)
    with pytest.raises(OptionTypeError, match="triples"):
        _model(nations.training, None, base_values)
    with pytest.raises(OptionValueError, match="backfill_init"):
        BackfillRepresentation(
            max_id=14, base_ids=[0], base_kwargs=dict(shape=4), backfill_init="nearest", triples="nations"
        )


@pytest.mark.slow
def test_split_metrics_partition_and_overall_equal_pykeen(nations) -> None:
    result = pipeline(
        dataset=nations,
        model="DistMult",
        model_kwargs=dict(embedding_dim=8),
        training_kwargs=dict(num_epochs=2, batch_size=256, use_tqdm=False),
        evaluation_kwargs=dict(batch_size=256, use_tqdm=False),
        random_seed=0,
    )
    test = nations.testing.mapped_triples
    filters = [nations.training.mapped_triples, nations.validation.mapped_triples]
    known_relations = list(range(0, 55, 2))
    split = split_metrics(
        result.model,
        test,
        known_entities=BASE_IDS,
        known_relations=known_relations,
        additional_filter_triples=filters,
        batch_size=256,
    )
    mask = known_mask(test, BASE_IDS, known_relations)
    by_hand = [h in BASE_IDS and t in BASE_IDS and r in known_relations for h, r, t in test.tolist()]
    assert mask.tolist() == by_hand
    assert split["known"]["triples"] == sum(by_hand) > 0
    assert split["new"]["triples"] == len(test) - sum(by_hand) > 0
    pykeen_own = RankBasedEvaluator().evaluate(
        result.model, test, additional_filter_triples=filters, batch_size=256, use_tqdm=False
    )
    assert split["overall"]["mrr"] == pytest.approx(pykeen_own.get_metric("inverse_harmonic_mean_rank"), abs=1e-7)
    assert split["overall"]["hits_at_10"] == pytest.approx(pykeen_own.get_metric("hits_at_10"), abs=1e-7)
    # a part's triples are ranked among all test triples: every test triple is filtered
    known_only = RankBasedEvaluator().evaluate(
        result.model, test[mask], additional_filter_triples=[*filters, test], batch_size=256, use_tqdm=False
    )
    assert split["known"]["mrr"] == pytest.approx(known_only.get_metric("inverse_harmonic_mean_rank"), abs=1e-7)


GROWN = {
    "pipeline": {
        "dataset": "nations",
        "model": "DistMult",
        "model_kwargs": {"embedding_dim": 8},
        "training_kwargs": {"num_epochs": 1, "batch_size": 256},
        "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
        "random_seed": 1,
    }
}


def test_config_fills_the_triples_of_a_neighbour_start(old_nations_run: pathlib.Path) -> None:
    old = old_nations_run
    config = json.loads(json.dumps(GROWN))
    config["pipeline"]["model_kwargs"].update(
        entity_representations="backfill",
        entity_representations_kwargs={"pretrained": str(old), "allow_pickle": True, "backfill_init": "neighbours"},
    )
    config["pipeline"]["training_kwargs"]["num_epochs"] = 0
    model = pipeline_from_config(config).model
    representation = model.entity_representations[0]
    assert representation.num_base_ids == 10
    assert isinstance(representation.backfill.initializer.mask, torch.Tensor)
    assert bool(representation.backfill.initializer.mask.all())


@pytest.mark.slow
def test_grow_end_to_end(nations, tmp_path: pathlib.Path, old_nations_run: pathlib.Path) -> None:
    old = old_nations_run
    config = tmp_path / "grown.json"
    config.write_text(json.dumps(GROWN))
    out = tmp_path / "new"
    command = [sys.executable, "-m", "pykeen_backfill.cli", "grow", str(old), str(config), "-d", str(out)]
    done = subprocess.run(
        [*command, "--allow-pickle", "--strategy", "frozen"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "entity  : 10 reused, 4 new, 0 dropped" in done.stdout
    assert "Warning" not in done.stderr and "pin_memory" not in done.stderr
    split = json.loads(out.joinpath("results.json").read_text())["split_metrics"]
    assert split["known"]["triples"] + split["new"]["triples"] == split["overall"]["triples"] == 201
    assert 0 < split["new"]["mrr"] <= 1
    summary = json.loads(out.joinpath("growth.json").read_text())
    assert summary["counts"]["entity"] == {"reused": 10, "new": 4, "dropped": 0}
    # with frozen rows only the triples touching a new entity or relation are trained on
    assert 0 < summary["trained_triples"] < nations.training.num_triples
    assert f"trained on {summary['trained_triples']} triples" in done.stdout
    # the known vectors are unchanged bit for bit
    old_model = torch.load(old / "trained_model.pkl", weights_only=False)
    new_model = torch.load(out / "trained_model.pkl", weights_only=False)
    old_labels = TriplesFactory.from_path_binary(old / "training_triples").entity_to_id
    new_labels = nations.training.entity_to_id
    old_vectors = old_model.entity_representations[0](indices=None).detach()
    new_vectors = new_model.entity_representations[0](indices=None).detach()
    for label, old_id in old_labels.items():
        assert torch.equal(new_vectors[new_labels[label]], old_vectors[old_id])
    missing = subprocess.run(
        [sys.executable, "-m", "pykeen_backfill.cli", "grow", str(tmp_path / "nope"), str(config), "-d", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_grow_starts_new_rows_relation_aware_from_the_command_line(
    tmp_path: pathlib.Path, old_nations_run: pathlib.Path
) -> None:
    old = old_nations_run
    config = tmp_path / "grown.json"
    config.write_text(json.dumps(GROWN))
    command = [sys.executable, "-m", "pykeen_backfill.cli", "grow", str(old), str(config), "--allow-pickle"]
    done = subprocess.run(
        [*command, "-d", str(tmp_path / "new"), "--init", "relation-aware"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "entity  : 10 reused, 4 new, 0 dropped" in done.stdout
    split = json.loads((tmp_path / "new" / "results.json").read_text())["split_metrics"]
    assert 0 < split["new"]["mrr"] <= 1
    refused = subprocess.run(
        [*command, "-d", str(tmp_path / "other"), "--init", "relation-aware", "--no-relations"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "relation" in refused.stderr and not (tmp_path / "other").exists()
