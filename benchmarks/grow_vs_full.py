"""``grow`` against a full retraining, as a user would compare them: same configuration, same epochs.

The earlier graph is the dataset's training graph restricted to a random 70% of its entities (seeded); a model is
trained on it and saved. Then, on the full graph: a full retraining from scratch; ``grow`` (known rows frozen, new rows
from their known neighbours, only the triples touching something new trained); the same with random new rows
(``--init model``); the relation-aware start (``backfill_init="relation-aware"``); each also with a quarter of the
epochs; and ``grow --trainable``. Each is evaluated split by what is new,
with the earlier graph's entities and relations as the known ones. Prints one JSON line per contestant.

    python benchmarks/grow_vs_full.py umls DistMult --dim 64 --epochs 40 --seed 0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import shutil
import tempfile
import warnings

import numpy
import torch
from pykeen.datasets import get_dataset
from pykeen.pipeline import pipeline
from pykeen.triples import TriplesFactory

from pykeen_backfill.experiments import pipeline_from_config
from pykeen_backfill.experiments.run import save_result
from pykeen_backfill.growth import grow, split_metrics

#: contestant -> (options of grow, fraction of the epochs); "full" is the plain pipeline
CONTESTANTS = {
    "full": (None, 1.0),
    "grow": ({}, 1.0),
    "grow-quarter": ({}, 0.25),
    "random": ({"backfill_init": None}, 1.0),
    "random-quarter": ({"backfill_init": None}, 0.25),
    "grow-trainable": ({"trainable": True}, 1.0),
    "relation-aware": ({"backfill_init": "relation-aware"}, 1.0),
    "relation-aware-quarter": ({"backfill_init": "relation-aware"}, 0.25),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("model")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fraction", type=float, default=0.7)
    parser.add_argument("--only", nargs="+", choices=sorted(CONTESTANTS), default=sorted(CONTESTANTS))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("pykeen").setLevel(logging.ERROR)
    dataset = get_dataset(dataset=args.dataset)
    labels = sorted(dataset.training.entity_to_id)
    rng = numpy.random.default_rng(args.seed)
    kept = set(rng.choice(labels, size=round(args.fraction * len(labels)), replace=False).tolist())
    labelled = dataset.training.triples
    old = TriplesFactory.from_labeled_triples(labelled[[h in kept and t in kept for h, _, t in labelled]])
    common = dict(
        model=args.model,
        model_kwargs=dict(embedding_dim=args.dim),
        training_kwargs=dict(num_epochs=args.epochs, batch_size=512, use_tqdm=False),
        evaluation_kwargs=dict(batch_size=512, use_tqdm=False),
        optimizer="adam",
        optimizer_kwargs=dict(lr=0.01),
        random_seed=args.seed,
    )
    earlier = pipeline(training=old, testing=old, **common)
    directory = pathlib.Path(tempfile.mkdtemp(prefix="grow-vs-full-"))
    save_result(earlier, directory)
    full_graph = dataset.training
    known_entities = [full_graph.entity_to_id[label] for label in old.entity_to_id]
    known_relations = [full_graph.relation_to_id[label] for label in old.relation_to_id]
    filters = [full_graph.mapped_triples, dataset.validation.mapped_triples]
    old_vectors = earlier.model.entity_representations[0](indices=None).detach()
    for name in args.only:
        options, fraction = CONTESTANTS[name]
        config = {"pipeline": {"dataset": args.dataset, **json.loads(json.dumps(common))}}
        config["pipeline"]["training_kwargs"]["num_epochs"] = max(1, round(args.epochs * fraction))
        if options is None:
            result = pipeline_from_config(config)
        else:
            result = grow(directory, config, allow_pickle=True, **options).result
        split = split_metrics(
            result.model,
            dataset.testing.mapped_triples,
            known_entities=known_entities,
            known_relations=known_relations,
            additional_filter_triples=filters,
            batch_size=512,
        )
        new_vectors = result.model.entity_representations[0](indices=torch.as_tensor(known_entities)).detach()
        drift = float((new_vectors - old_vectors[list(old.entity_to_id.values())]).abs().max())
        row = dict(
            dataset=args.dataset,
            model=args.model,
            seed=args.seed,
            contestant=name,
            epochs=config["pipeline"]["training_kwargs"]["num_epochs"],
            train_seconds=result.train_seconds,
            trained_triples=result.training.num_triples,
            drift=drift,
            load=os.getloadavg()[0],
            **{f"{metric}_{part}": split[part][metric] for part in split for metric in ("mrr", "hits_at_10")},
        )
        print(json.dumps(row), flush=True)
    shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
