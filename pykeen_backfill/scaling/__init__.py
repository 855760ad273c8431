"""Scaling: a frozen base served from disk, and training a model with a backfill on more than one process.

- :class:`MappedEmbedding`: a frozen base read row by row from a memory-mapped ``.npy`` file, never loaded whole
  (defined in :mod:`pykeen_backfill.representation.mapped`, so that warm starts can build it);
- :mod:`.lightning`: PyKEEN's PyTorch Lightning module with batches that Lightning shards across DDP ranks, and
  representation keyword arguments for every model (needs the ``lightning`` extra).

Plain ``torch.distributed`` DDP needs nothing from here: every part of a backfill takes part in every forward pass,
see ``docs/scaling.rst``.
"""

from __future__ import annotations

from ..representation.mapped import MappedEmbedding

__all__ = [
    "MappedEmbedding",
]
