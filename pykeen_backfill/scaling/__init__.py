"""Scaling out: training a model with a backfill on more than one process.

- :mod:`.lightning`: PyKEEN's PyTorch Lightning module with batches that Lightning shards across DDP ranks, and
  representation keyword arguments for every model (needs the ``lightning`` extra).

Plain ``torch.distributed`` DDP needs nothing from here: every part of a backfill takes part in every forward pass,
see ``docs/scaling.rst``.
"""
