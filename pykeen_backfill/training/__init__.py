"""What the package does around PyKEEN's training loop, see :mod:`.collection`."""

from __future__ import annotations

from .collection import frozen_heap

__all__ = [
    "frozen_heap",
]
