"""Build and check the parts of a backfill representation: its bases and its backfill.

A part is either given as an instance, used as it is, or built here from a hint with the keyword arguments the user
and the model give (see :mod:`pykeen_backfill.representation.kwargs`). This module also decides which parts keep their
values through a model's initialisation (see :mod:`pykeen_backfill.representation.keep`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from class_resolver import HintOrType, OptionalKwargs
from pykeen.nn.representation import Representation

from ..checks import as_kwargs, as_shape
from ..errors import InvalidIdsError, InvalidPartError, ShapeMismatchError
from .keep import Values, declared_values, own_initializers, reproduces_itself
from .kwargs import build_part, chooses_values, kwargs_for_part
from .sources import BaseSource

__all__ = [
    "Part",
    "common_shape",
    "make_backfill",
    "make_base",
]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Part:
    """A base or backfill, with the values it keeps through a model's initialisation, if any."""

    #: the representation
    module: Representation

    #: the values a model's reset must not change, see :mod:`pykeen_backfill.representation.keep`
    kept: Values | None = None


def make_base(spec: BaseSource, num_ids: int, defaults: Mapping[str, Any], *, name: str) -> Part:
    """Use or build one base.

    :param spec:
        The base's source.
    :param num_ids:
        The number of ids the base serves.
    :param defaults:
        The model's build defaults, and its ``shape`` if it gives one.
    :param name:
        The parameter that holds the base's ids, e.g. ``"base_ids"`` or ``"sources[1].ids"``.

    :return:
        The base.

    :raises InvalidIdsError:
        If the base serves no id.
    :raises ShapeMismatchError:
        If the base has no shape, or does not have one row per id.
    """
    if num_ids == 0:
        raise InvalidIdsError(f"{name} is empty: a base must serve at least one id")
    # "base_ids" -> "base", "sources[1].ids" -> "sources[1].base"
    part_name = "base" if name == "base_ids" else name.removesuffix("ids") + "base"
    own = as_kwargs(spec.base_kwargs, name=f"{part_name}_kwargs")
    if isinstance(spec.base, Representation):
        part = _given(spec.base, own, name=part_name)
    else:
        if "embedding_dim" in own:
            # the model's shape must not collide with the user's spelling of the same thing
            defaults = {key: value for key, value in defaults.items() if key != "shape"}
        kwargs = kwargs_for_part(spec.base, own, defaults, keeps_values=chooses_values(own))
        if "shape" not in kwargs and "embedding_dim" not in kwargs:
            raise ShapeMismatchError(
                f"the base built from {spec.base!r} needs a shape: pass shape=... or base_kwargs={{'shape': ...}}",
            )
        part = _built(build_part(spec.base, kwargs, name=part_name, max_id=num_ids), settle=chooses_values(own))
    if part.module.max_id != num_ids:
        raise ShapeMismatchError(f"the base has max_id={part.module.max_id}, but {name} lists {num_ids} ids")
    return part


def make_backfill(
    backfill: HintOrType[Representation],
    backfill_kwargs: OptionalKwargs,
    num_ids: int,
    shape: tuple[int, ...],
    defaults: Mapping[str, Any],
) -> Part | None:
    """Use or build the backfill, which serves every id no base serves.

    :param backfill:
        The backfill, or a hint thereof.
    :param backfill_kwargs:
        Keyword-based parameters to build the backfill.
    :param num_ids:
        The number of ids left to the backfill.
    :param shape:
        The bases' shape, which the backfill must have.
    :param defaults:
        The model's build defaults.

    :return:
        The backfill, or ``None`` if the bases serve every id.

    :raises ShapeMismatchError:
        If the backfill has another ``max_id`` or shape, or is given although the bases serve every id.
    """
    own = as_kwargs(backfill_kwargs, name="backfill_kwargs")
    if num_ids == 0:
        if backfill is not None or own:
            raise ShapeMismatchError("the bases serve every id, so there is nothing for the given backfill to serve")
        logger.info("the bases serve every id; no backfill is created")
        return None
    if isinstance(backfill, Representation):
        part = _given(backfill, own, name="backfill")
    else:
        given = [(key, own.pop(key)) for key in ("shape", "embedding_dim") if key in own]
        if given and as_shape(given[0][1], name=f"backfill_kwargs[{given[0][0]!r}]") != shape:
            raise ShapeMismatchError(f"backfill_kwargs asks for shape {given[0][1]!r}, but the base has shape {shape}")
        kwargs = kwargs_for_part(backfill, own, defaults)
        module = build_part(backfill, kwargs, name="backfill", max_id=num_ids, shape=shape)
        part = _built(module, settle=chooses_values(own))
    if part.module.max_id != num_ids:
        raise ShapeMismatchError(
            f"the backfill has max_id={part.module.max_id}, but {num_ids} ids are left to backfill"
        )
    if tuple(part.module.shape) != shape:
        raise ShapeMismatchError(f"the backfill has shape {tuple(part.module.shape)}, but the base has shape {shape}")
    return part


def _given(module: Representation, own: Mapping[str, Any], *, name: str) -> Part:
    # a given instance is used as it is, so its keyword arguments would be silently ignored
    if own:
        raise InvalidPartError(
            f"{name}_kwargs={dict(own)!r} cannot apply to the given {name} instance; configure the instance itself, "
            f"or pass a hint such as {name}='embedding' to build it from {name}_kwargs",
        )
    return Part(module=module, kept=declared_values(module))


def _built(module: Representation, *, settle: bool) -> Part:
    """Wrap a part built here; one whose values the user chose is initialised now and keeps them."""
    own_initializers(module)
    if not settle:
        return Part(module=module)
    module.reset_parameters()
    # a copy of a pre-trained tensor comes back at every reset; anything else is recorded once
    return Part(module=module, kept=None if reproduces_itself(module) else declared_values(module))


def common_shape(bases: Sequence[Representation], *, requested: tuple[int, ...] | None) -> tuple[int, ...]:
    """Return the shape all bases share.

    :param bases:
        The bases.
    :param requested:
        The shape a model asks for, if any.

    :return:
        The shape of one vector.

    :raises ShapeMismatchError:
        If the bases differ in shape, or disagree with the requested shape.
    """
    shapes = [tuple(base.shape) for base in bases]
    if len(set(shapes)) != 1:
        raise ShapeMismatchError(f"the bases have different shapes: {shapes}")
    shape = shapes[0]
    if requested is not None and requested != shape:
        raise ShapeMismatchError(f"shape={requested} was requested, but the base has shape {shape}")
    return shape
