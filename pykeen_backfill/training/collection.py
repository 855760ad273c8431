"""Training without paying a full garbage collection per epoch.

PyKEEN's training loop calls :func:`gc.collect` after every epoch. A full collection walks every object the
interpreter tracks, and with torch and PyKEEN imported those are several hundred thousand: 0.1-0.2 s per epoch, more
than a whole epoch on a small graph. Objects that exist before training starts (modules, classes, the dataset) are
not garbage, so :func:`frozen_heap` moves them into the interpreter's permanent generation (:func:`gc.freeze`) for
the duration; the per-epoch collection then only walks what training created.

From Python::

    from pykeen.pipeline import pipeline
    from pykeen_backfill.training import frozen_heap

    with frozen_heap():
        result = pipeline(dataset="nations", model="DistMult", training_kwargs=dict(num_epochs=5))
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "frozen_heap",
]


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Exclude every object that exists now from garbage collections until the block ends.

    Garbage that exists on entry is collected first, so that it is not kept alive by the freeze. On exit the frozen
    objects are handed back to the collector (:func:`gc.unfreeze`); nesting is safe, the outermost block unfreezes.
    """
    outermost = gc.get_freeze_count() == 0
    if outermost:
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        if outermost:
            gc.unfreeze()
