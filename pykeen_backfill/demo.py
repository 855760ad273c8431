"""A demonstration: a graph grows, the vectors learned before are kept frozen, and only the new entities are trained.

This is the scenario of PyKEEN's documentation of its ``BackfillRepresentation``, with
:class:`pykeen_backfill.BackfillRepresentation` in its place:

1. train DistMult on the nations graph restricted to a few entities;
2. build a frozen base from the learned entity vectors, aligned with the full graph's ids by label;
3. compose it with a trainable backfill for every other entity, and train DistMult on the full graph;
4. print the composed module and the metrics, and check that the frozen rows did not change.

Run it with ``pykeen-backfill demo`` or ``python -m pykeen_backfill.demo``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from pykeen.pipeline import PipelineResult

    from .representation.backfill import BackfillRepresentation

__all__ = [
    "KNOWN_ENTITIES",
    "DemoResult",
    "run_demo",
    "main",
]

#: the entities of the small graph trained first
KNOWN_ENTITIES = ("burma", "china", "india", "indonesia")

#: the metrics the demonstration reports, by PyKEEN's metric names
METRICS = {"MRR": "inverse_harmonic_mean_rank", "Hits@1": "hits_at_1", "Hits@10": "hits_at_10"}


@dataclasses.dataclass
class DemoResult:
    """What the demonstration produced."""

    #: the result of training on the small graph
    small: PipelineResult

    #: the result of training on the full graph, with the small graph's entity vectors frozen
    full: PipelineResult

    #: the composed entity representation of the second model
    entity_representation: BackfillRepresentation

    #: the full graph's ids of the known entities, in the order of the base's rows
    known_ids: list[int]

    #: the known entities' vectors learned on the small graph, one row per id in :attr:`known_ids`
    old_vectors: torch.Tensor

    @property
    def frozen_rows_unchanged(self) -> bool:
        """Whether the composed representation still serves the known entities their old vectors, bit for bit."""
        with torch.no_grad():
            now = self.entity_representation(indices=torch.as_tensor(self.known_ids))
        return torch.equal(now.cpu(), self.old_vectors.cpu())

    def metrics(self) -> dict[str, float]:
        """Return the full graph's test metrics, both-sided and realistic, by display name."""
        return {name: float(self.full.get_metric(key)) for name, key in METRICS.items()}


def run_demo(
    *,
    embedding_dim: int = 32,
    num_epochs: int = 20,
    random_seed: int = 42,
    known_entities: Sequence[str] = KNOWN_ENTITIES,
    echo: Callable[[str], Any] = print,
) -> DemoResult:
    """Run the demonstration and report each step through ``echo``.

    :param embedding_dim:
        The dimension of the entity and relation vectors.
    :param num_epochs:
        The number of training epochs of each of the two runs.
    :param random_seed:
        The random seed of both runs.
    :param known_entities:
        The labels of the entities of the small graph.
    :param echo:
        Receives the report, one piece at a time; defaults to :func:`print`.

    :return:
        The results, the composed representation, and the old vectors, for further inspection.
    """
    from pykeen.datasets import get_dataset
    from pykeen.nn import Embedding
    from pykeen.nn.init import PretrainedInitializer

    from .representation.backfill import BackfillRepresentation

    large = get_dataset(dataset="nations")
    small = large.restrict(entities=set(known_entities))
    echo(f"1. training DistMult on nations restricted to {small.num_entities} entities: {', '.join(known_entities)}")
    first = _train(small, embedding_dim=embedding_dim, num_epochs=num_epochs, random_seed=random_seed)

    # align by label: row i of the base holds the vector of the small graph's id i
    labels = sorted(small.entity_to_id, key=small.entity_to_id.__getitem__)
    known_ids = [large.entity_to_id[label] for label in labels]
    with torch.no_grad():
        old_vectors = first.model.entity_representations[0](indices=None).detach().clone()
    base = Embedding(
        max_id=len(known_ids),
        shape=(embedding_dim,),
        initializer=PretrainedInitializer(tensor=old_vectors),
        trainable=False,
    )
    entity_representation = BackfillRepresentation(max_id=large.num_entities, base_ids=known_ids, base=base)
    echo(f"2. backfilling to all {large.num_entities} entities of nations; the composed module:")
    echo(str(entity_representation))

    echo(f"3. training DistMult on the full graph; {len(known_ids)} entity vectors stay frozen")
    second = _train(
        large,
        embedding_dim=embedding_dim,
        num_epochs=num_epochs,
        random_seed=random_seed,
        entity_representations=entity_representation,
    )
    result = DemoResult(
        small=first,
        full=second,
        entity_representation=entity_representation,
        known_ids=known_ids,
        old_vectors=old_vectors,
    )
    echo("4. test metrics on the full graph (both sides, realistic):")
    for name, value in result.metrics().items():
        echo(f"   {name:8s}{value:.4f}")
    echo(f"frozen rows unchanged: {result.frozen_rows_unchanged}")
    return result


def _train(
    dataset: Any,
    *,
    embedding_dim: int,
    num_epochs: int,
    random_seed: int,
    **model_kwargs: Any,
) -> PipelineResult:
    from pykeen.pipeline import pipeline

    return pipeline(
        dataset=dataset,
        interaction="distmult",
        dimensions=dict(d=embedding_dim),
        model_kwargs=model_kwargs,
        training_kwargs=dict(num_epochs=num_epochs, batch_size=256, use_tqdm=False),
        evaluation_kwargs=dict(use_tqdm=False),
        random_seed=random_seed,
    )


def main() -> int:
    """Run the demonstration with its defaults, quietly; return 0 if the frozen rows are unchanged, else 1."""
    from .quiet import quiet

    with quiet():
        return 0 if run_demo().frozen_rows_unchanged else 1


if __name__ == "__main__":
    raise SystemExit(main())
