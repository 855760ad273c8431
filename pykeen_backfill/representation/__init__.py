"""The backfill representation: a class, the layout of its ids, and the parts it composes.

A lookup is read in two modules: :mod:`.backfill` and :mod:`.layout`.

- :mod:`.backfill`: :class:`BackfillRepresentation` itself, construction by delegation and its one forward path;
- :mod:`.layout`: which part serves which id, at which row, and the checks of the ids a lookup is asked for;
- :mod:`.sources`: how the user describes the bases (:class:`BaseSource`, several bases, a warm start);
- :mod:`.parts`: building and checking the bases and the backfill;
- :mod:`.kwargs`: where the keyword arguments a model injects go;
- :mod:`.keep`: the values a model's initialisation must leave as they are;
- :mod:`.neighbours`: backfilled rows started at the mean of their known neighbours.
"""

from __future__ import annotations

from .backfill import BackfillRepresentation
from .sources import BaseSource

__all__ = [
    "BackfillRepresentation",
    "BaseSource",
]
