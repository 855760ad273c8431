"""``pykeen-backfill demo``: a graph grows, the old vectors stay frozen."""

from __future__ import annotations

import click

from .quiet import quiet, verbose_option

__all__ = ["demo"]


@click.command(short_help="Demo: grow nations, keep the old vectors frozen.")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True, help="Epochs of each run.")
@click.option("--dim", type=click.IntRange(min=1), default=32, show_default=True, help="Embedding dimension.")
@verbose_option
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed of both runs.")
def demo(epochs: int, dim: int, seed: int, verbose: bool) -> None:
    """Train on a few nations entities, backfill to all of them, train again with the old vectors frozen."""
    from ..demo import run_demo

    with quiet(verbose):
        result = run_demo(embedding_dim=dim, num_epochs=epochs, random_seed=seed, echo=click.echo)
    if not result.frozen_rows_unchanged:
        raise click.ClickException("the known entities are no longer served their old vectors, bit for bit")
