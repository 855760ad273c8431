"""Training without paying a full garbage collection per epoch.

PyKEEN's training loop calls :func:`gc.collect` after every epoch. A full collection walks every object the
interpreter tracks, and with torch and PyKEEN imported those are several hundred thousand: 0.1-0.3 s per epoch, more
than a whole epoch on a small graph. Objects that exist before training starts (modules, classes, the dataset) are
not garbage, so :func:`frozen_heap` moves them into the interpreter's permanent generation (:func:`gc.freeze`) for
the duration. Training itself creates long-lived objects too: the first optimizer imports ``torch._dynamo``, a few
hundred thousand objects more. So the block also freezes what survives each full collection inside it, and every
per-epoch collection only walks what the epoch created.

From Python::

    from pykeen.pipeline import pipeline
    from pykeen_backfill.training import frozen_heap

    with frozen_heap():
        result = pipeline(dataset="nations", model="DistMult", training_kwargs=dict(num_epochs=5))
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = [
    "frozen_heap",
]

#: the oldest generation: a collection of it is a full one
_FULL = 2


def _freeze_survivors(phase: str, info: Mapping[str, Any]) -> None:
    """Freeze what survived a full collection that just ended, so the next one does not walk it again."""
    if phase == "stop" and info["generation"] == _FULL:
        gc.freeze()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Exclude the objects that exist now, and those that survive a full collection, from collections in the block.

    Garbage that exists on entry is collected first, so that it is not kept alive by the freeze. Inside the block
    an object that survives a full collection (e.g. PyKEEN's per-epoch :func:`gc.collect`) is frozen too; should it
    become cyclic garbage later, it is collected after the block. On exit the frozen objects are handed back to the
    collector (:func:`gc.unfreeze`); nesting is safe, the outermost block unfreezes.
    """
    outermost = gc.get_freeze_count() == 0 and _freeze_survivors not in gc.callbacks
    if outermost:
        gc.collect()
        gc.freeze()
        gc.callbacks.append(_freeze_survivors)
    try:
        yield
    finally:
        if outermost:
            gc.callbacks.remove(_freeze_survivors)
            gc.unfreeze()
