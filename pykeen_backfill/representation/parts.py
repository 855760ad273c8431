"""Build and check the parts of a backfill representation: its bases and its backfill.

A part is either given as an instance, used as it is, or built here from a hint with the keyword arguments the user
and the model give (see :mod:`pykeen_backfill.representation.kwargs`). This module also decides which parts keep their
values through a model's initialisation (see :mod:`pykeen_backfill.representation.keep`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from class_resolver import HintOrType, OptionalKwargs
from pykeen.nn.representation import Embedding, Representation

from ..checks import as_bool, as_kwargs, as_shape, preview
from ..errors import DtypeMismatchError, InvalidIdsError, InvalidPartError, MaxIdMismatchError, ShapeMismatchError
from .keep import Values, declared_values, own_initializers, reproduces_itself
from .kwargs import build_part, chooses_values, kwargs_for_part
from .sources import BaseSource

__all__ = [
    "Part",
    "common_shape",
    "dtype_of",
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
    own = _checked_own(spec.base_kwargs, name=f"{part_name}_kwargs")
    _check_hint(spec.base, name=part_name)
    if isinstance(spec.base, Representation):
        part = _given(spec.base, own, name=part_name)
    else:
        if "embedding_dim" in own:
            # the model's shape must not collide with the user's spelling of the same thing
            defaults = {key: value for key, value in defaults.items() if key != "shape"}
        kwargs = kwargs_for_part(spec.base, own, defaults, keeps_values=chooses_values(own))
        if "shape" not in kwargs and "embedding_dim" not in kwargs:
            raise ShapeMismatchError(
                f"the base built from {preview(spec.base)} needs a shape: pass shape=... or "
                "base_kwargs={'shape': ...}",
            )
        part = _built(build_part(spec.base, kwargs, name=part_name, max_id=num_ids), settle=chooses_values(own))
    if part.module.max_id != num_ids:
        raise MaxIdMismatchError(f"the base has max_id={part.module.max_id}, but {name} lists {num_ids} ids")
    return part


def make_backfill(
    backfill: HintOrType[Representation],
    backfill_kwargs: OptionalKwargs,
    num_ids: int,
    shape: tuple[int, ...],
    defaults: Mapping[str, Any],
    bases: Sequence[Representation] = (),
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
    :param bases:
        The bases; a backfill built here takes their dtype (a complex base gets a complex backfill), and a given one
        must be able to hold their values.

    :return:
        The backfill, or ``None`` if the bases serve every id.

    :raises ShapeMismatchError:
        If the backfill has another ``max_id``, shape, or a real dtype next to a complex base, or is given although
        the bases serve every id.
    """
    own = _checked_own(backfill_kwargs, name="backfill_kwargs")
    _check_hint(backfill, name="backfill")
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
            raise ShapeMismatchError(
                f"backfill_kwargs asks for shape {preview(given[0][1])}, but the base has shape {shape}"
            )
        kwargs = kwargs_for_part(backfill, own, _with_dtype(defaults, own, bases))
        module = build_part(backfill, kwargs, name="backfill", max_id=num_ids, shape=shape)
        part = _built(module, settle=chooses_values(own))
    if part.module.max_id != num_ids:
        raise MaxIdMismatchError(
            f"the backfill has max_id={part.module.max_id}, but {num_ids} ids are left to backfill"
        )
    if tuple(part.module.shape) != shape:
        raise ShapeMismatchError(f"the backfill has shape {tuple(part.module.shape)}, but the base has shape {shape}")
    _check_dtype(part.module, bases)
    return part


def _given(module: Representation, own: Mapping[str, Any], *, name: str) -> Part:
    # a given instance is used as it is, so its keyword arguments would be silently ignored
    if own:
        raise InvalidPartError(
            f"{name}_kwargs={preview(dict(own))} cannot apply to the given {name} instance; configure the instance "
            "itself, "
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


def _checked_own(kwargs: OptionalKwargs, *, name: str) -> dict[str, Any]:
    """Copy a part's keyword arguments, with its ``trainable`` a real boolean: ``"false"`` would count as True."""
    own = as_kwargs(kwargs, name=name)
    if "trainable" in own:
        own["trainable"] = as_bool(own["trainable"], name=f"{name}['trainable']")
    return own


def _check_hint(hint: Any, *, name: str) -> None:
    """Refuse a part that is neither a representation, nor a class or name of one, e.g. a torch module or a tensor."""
    if hint is None or isinstance(hint, (str, Representation)):
        return
    if isinstance(hint, type) and issubclass(hint, Representation):
        return
    advice = (
        f"; wrap its weight, e.g. {name}=pykeen.nn.Embedding.from_pretrained(module.weight)"
        if isinstance(hint, torch.nn.Embedding)
        else ""
    )
    raise InvalidPartError(
        f"{name} must be a Representation (of PyKEEN), a Representation class or the name of one, but got "
        f"{preview(hint)} ({type(hint).__module__}.{type(hint).__qualname__}){advice}",
    )


def dtype_of(module: Representation) -> torch.dtype:
    """Return the dtype of a representation's vectors, without computing any of them.

    :param module:
        The representation.

    :return:
        PyKEEN's complex embedding stores pairs of reals, so its complex dtype is rebuilt; otherwise the dtype of the
        first floating-point parameter or buffer, or the default dtype.
    """
    if isinstance(module, Embedding):
        dtype = module._embeddings.weight.dtype
        return _COMPLEX.get(dtype, dtype) if module.is_complex else dtype
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        if tensor.is_floating_point() or tensor.is_complex():
            return tensor.dtype
    return torch.get_default_dtype()


#: the complex dtype whose parts are the given real dtype
_COMPLEX = {torch.float16: torch.complex32, torch.float32: torch.complex64, torch.float64: torch.complex128}


def _with_dtype(defaults: Mapping[str, Any], own: Mapping[str, Any], bases: Sequence[Representation]) -> dict[str, Any]:
    """Give a backfill built here a dtype that holds the bases' values (and the model's): a complex base, complex."""
    defaults = dict(defaults)
    if "dtype" in own or not bases:
        return defaults
    wanted = functools.reduce(torch.promote_types, (dtype_of(base) for base in bases))
    model = defaults.get("dtype")
    defaults["dtype"] = torch.promote_types(wanted, model) if isinstance(model, torch.dtype) else wanted
    return defaults


def _check_dtype(backfill: Representation, bases: Sequence[Representation]) -> None:
    """Refuse a real backfill next to a complex base: its imaginary parts would be 0 and could never learn."""
    complex_bases = [dtype_of(base) for base in bases if dtype_of(base).is_complex]
    own = dtype_of(backfill)
    if complex_bases and not own.is_complex:
        raise DtypeMismatchError(
            f"the backfill has dtype {own}, which cannot hold the values of the base's dtype {complex_bases[0]}: "
            f"give the backfill a complex dtype, e.g. backfill_kwargs={{'dtype': {complex_bases[0]}}}",
        )
