"""The hook specification through which packages contribute representations to PyKEEN.

A package contributes representations in two steps:

1. implement the hook in a module (or any object) of the package::

       from pykeen_backfill.hookspecs import hookimpl

       @hookimpl
       def pykeen_representations():
           from my_package.representation import MyRepresentation  # import lazily, see below
           return [MyRepresentation]

2. declare that module in the entry point group ``pykeen.representations`` of its distribution::

       [project.entry-points."pykeen.representations"]
       my_package = "my_package.plugin"

Once the distribution is installed next to pykeen-backfill, every class the hook returns is registered in
:data:`pykeen.nn.representation_resolver` under its normalized name (``MyRepresentation`` becomes ``"my"``) when
``pykeen.nn`` is first imported. The hook runs while ``pykeen.nn`` has just finished importing, so a plugin module
should import from ``pykeen.nn`` only, and best inside the hook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from pykeen.nn.representation import Representation

__all__ = [
    "PROJECT_NAME",
    "ENTRY_POINT_GROUP",
    "hookspec",
    "hookimpl",
    "RepresentationHookSpec",
]

#: the pluggy project name shared by specification and implementations
PROJECT_NAME = "pykeen_representations"

#: the entry point group that lists representation plugins
ENTRY_POINT_GROUP = "pykeen.representations"

#: marks a hook specification
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: marks a hook implementation in a plugin
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class RepresentationHookSpec:
    """The hooks a representation plugin may implement."""

    @hookspec
    def pykeen_representations(self) -> Iterable[type[Representation]]:  # type: ignore[empty-body]
        """Return the representation classes this plugin contributes.

        Each must be a subclass of :class:`pykeen.nn.representation.Representation`. It is registered under the key
        :data:`pykeen.nn.representation_resolver` derives from its name. A class may take the key of a PyKEEN
        built-in only if it names that built-in in a class attribute ``supersedes``, promising to accept everything
        the built-in accepts; keys held by other plugins cannot be taken.
        """
