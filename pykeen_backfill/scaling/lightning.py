"""PyKEEN's sLCWA Lightning module, with the training batches sharded across DDP ranks; needs ``pytorch_lightning``.

PyKEEN's :class:`~pykeen.contrib.lightning.SLCWALitModule` reads its batches from an iterable dataset
(:class:`~pykeen.triples.instances.BatchedSLCWAInstances`) that draws every batch of an epoch itself. Lightning can
only shard a data loader by replacing its sampler, and an iterable dataset has none: under DDP every rank trains on
all batches of the epoch, so two processes do the work of one twice. :class:`ShardedSLCWALitModule` feeds the same
instances from a map-style dataset of triple ids with a random sampler, which Lightning replaces by a
:class:`~torch.utils.data.DistributedSampler` on its own (``use_distributed_sampler=True``, its default): each rank
trains on its share of the triples. A batch is built exactly as before, negatives included, from the ids drawn.

The module also takes representation keyword arguments for every model, as ``pykeen-backfill run`` does
(see :func:`~pykeen_backfill.experiments.with_representation_kwargs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch.utils.data
from pykeen.contrib.lightning import SLCWALitModule
from pykeen.triples import CoreTriplesFactory
from pykeen.triples.instances import BatchedSLCWAInstances

from ..experiments import prepare_pipeline_kwargs

__all__ = ["ShardedSLCWALitModule", "TripleIds"]


class TripleIds(torch.utils.data.Dataset[int]):
    """The ids ``0 .. n - 1`` of a factory's training triples, map-style, so that a sampler can shard them."""

    def __init__(self, count: int) -> None:
        """Initialize the dataset.

        :param count: the number of triples
        """
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> int:
        return index


class ShardedSLCWALitModule(SLCWALitModule):
    """:class:`~pykeen.contrib.lightning.SLCWALitModule` whose training batches Lightning shards across DDP ranks.

    A drop-in with the same parameters. Use it with :class:`pytorch_lightning.Trainer` as PyKEEN's module, e.g. with
    ``strategy="ddp", accelerator="cpu", devices=2`` for two processes on one machine.
    """

    def __init__(
        self,
        *,
        model: Any = "distmult",
        model_kwargs: Mapping[str, Any] | None = None,
        dataset: Any = "nations",
        dataset_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Build the module; representation keyword arguments in ``model_kwargs`` work for every model.

        :param model: the model, or a hint thereof
        :param model_kwargs: the model's keyword arguments, e.g. ``entity_representations="backfill"`` and its
            ``entity_representations_kwargs``
        :param dataset: the dataset, or a hint thereof
        :param dataset_kwargs: the dataset's keyword arguments
        :param kwargs: further keyword arguments of :class:`~pykeen.contrib.lightning.SLCWALitModule`
        """
        prepared = prepare_pipeline_kwargs(
            dict(model=model, model_kwargs=model_kwargs, dataset=dataset, dataset_kwargs=dataset_kwargs)
        )
        super().__init__(
            model=prepared["model"],
            model_kwargs=prepared["model_kwargs"],
            dataset=dataset,
            dataset_kwargs=dataset_kwargs,
            **kwargs,
        )

    def _dataloader(self, triples_factory: CoreTriplesFactory, shuffle: bool = False) -> torch.utils.data.DataLoader:
        instances = BatchedSLCWAInstances.from_triples_factory(
            triples_factory,
            batch_size=self.batch_size,
            negative_sampler=self.negative_sampler,
            negative_sampler_kwargs=self.negative_sampler_kwargs,
        )
        ids = TripleIds(len(instances.mapped_triples))
        return torch.utils.data.DataLoader(
            dataset=ids,
            batch_size=self.batch_size,
            # a RandomSampler for training, which Lightning turns into a shuffling DistributedSampler under DDP
            shuffle=shuffle,
            drop_last=instances.drop_last,
            # the instances build a batch (positives and their negatives) from a list of triple ids
            collate_fn=instances.__getitem__,
        )
