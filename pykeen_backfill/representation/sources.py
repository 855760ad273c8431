"""The bases of a backfill representation as the user describes them: ids and a base, several, or a warm start."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy
import torch
from class_resolver import HintOrType, OptionalKwargs
from pykeen.nn.representation import Representation

from ..checks import as_bool, as_index, preview
from ..errors import InvalidPartError, OptionTypeError

__all__ = [
    "BaseSource",
    "IdsLike",
    "collect_sources",
    "id_space_of",
    "warm_start_sources",
]

IdsLike = Iterable[int] | torch.Tensor | numpy.ndarray


@dataclasses.dataclass
class BaseSource:
    """One base of a backfill representation: the global ids it serves and the representation serving them.

    In configuration files a source is written as a mapping with the same keys, e.g.
    ``{"ids": [0, 4, 7], "base": "embedding", "base_kwargs": {"shape": 32}}``.
    """

    #: the global ids, in the order of the base's rows: ``ids[i]`` is served by row ``i``
    ids: IdsLike

    #: the base representation, or a hint thereof
    base: HintOrType[Representation] = None

    #: keyword-based parameters to instantiate the base from a hint
    base_kwargs: OptionalKwargs = None

    @classmethod
    def coerce(cls, value: BaseSource | Mapping[str, Any]) -> BaseSource:
        """Accept a source or a mapping of its fields, as written in a configuration file."""
        if isinstance(value, BaseSource):
            return value
        if not isinstance(value, Mapping):
            raise InvalidPartError(f"sources must contain BaseSource objects or mappings, but got {preview(value)}")
        unknown = sorted(set(value).difference(f.name for f in dataclasses.fields(cls)))
        if unknown:
            raise InvalidPartError(
                f"a source accepts the keys ['base', 'base_kwargs', 'ids'], but got {preview(unknown)}"
            )
        if "ids" not in value:
            raise InvalidPartError(f"a source needs 'ids', but got only {preview(sorted(value))}")
        return cls(**value)


def collect_sources(
    base_ids: IdsLike | None,
    base: HintOrType[Representation],
    base_kwargs: OptionalKwargs,
    sources: Sequence[BaseSource | Mapping[str, Any]] | None,
) -> list[tuple[BaseSource, str]]:
    """Return each base source with the parameter name that error messages use for its ids.

    :param base_ids:
        The ids of a single base, or ``None`` with ``sources``.
    :param base:
        The single base, or a hint thereof.
    :param base_kwargs:
        Keyword-based parameters to build the single base.
    :param sources:
        Several bases instead of the three parameters above.

    :return:
        The sources, each with a name such as ``"base_ids"`` or ``"sources[1].ids"``.

    :raises TypeError:
        If neither or both forms are given, or ``sources`` is not a non-empty sequence of sources.
    """
    if sources is None:
        if base_ids is None:
            raise OptionTypeError("BackfillRepresentation needs base_ids (or sources for several bases)")
        return [(BaseSource(ids=base_ids, base=base, base_kwargs=base_kwargs), "base_ids")]
    if base_ids is not None or base is not None or base_kwargs is not None:
        raise OptionTypeError("pass either sources, or base_ids with base and base_kwargs, but not both")
    if isinstance(sources, (str, bytes, Mapping)) or not sources:
        raise InvalidPartError(f"sources must be a non-empty sequence of sources, but got {preview(sources)}")
    return [(BaseSource.coerce(source), f"sources[{i}].ids") for i, source in enumerate(sources)]


#: the options of a warm start when none is asked for
_NO_WARM_START = dict(target="entity", index=0, trainable=False, allow_pickle=False)


def id_space_of(id_space: Any, labels: Any) -> tuple[Any, str]:
    """Return the new id space of a warm start, given as ``id_space`` or by its deprecated name ``labels``.

    :param id_space:
        The new id space, or ``None``.
    :param labels:
        The same, by its deprecated name, or ``None``.

    :return:
        The id space (``None`` if neither is given) and the name it was given by, for error messages.

    :raises OptionTypeError:
        If both are given.
    """
    if labels is None:
        return id_space, "id_space"
    if id_space is not None:
        raise OptionTypeError("pass id_space only: labels is its deprecated name, but both were given")
    # the caller of BackfillRepresentation is two frames up
    warnings.warn("labels is deprecated: pass id_space=... instead, with the same value", DeprecationWarning, 3)
    return labels, "labels"


def warm_start_sources(
    pretrained: Any,
    id_space: tuple[Any, str],
    *,
    options: Mapping[str, Any],
    others: Mapping[str, Any],
    **kwargs: Any,
) -> Sequence[BaseSource | Mapping[str, Any]] | None:
    """Return the given ``sources``, or build the bases of a warm start (importing its package only then).

    :param pretrained:
        The sources of pre-trained vectors, or ``None`` if there is no warm start.
    :param id_space:
        The new id space of a warm start, with the name the user gave it by, see :func:`id_space_of`.
    :param options:
        The warm start's options (``target``, ``index``, ``trainable``, ``allow_pickle``).
    :param others:
        The id-based parameters of the representation, which a warm start replaces.
    :param kwargs:
        Further keyword arguments of :func:`pykeen_backfill.warm_start.pretrained_sources`.

    :return:
        The sources of the bases, or ``None`` where ``base_ids`` describe the only base.

    :raises TypeError:
        If an option of a warm start is given without ``pretrained``.
    """
    # consent must be a real boolean, checked before any file is opened: the string "false" would count as True
    options = {
        **options,
        "trainable": as_bool(options["trainable"], name="trainable"),
        "allow_pickle": as_bool(options["allow_pickle"], name="allow_pickle"),
        "index": as_index(options["index"], name="index"),
    }
    if pretrained is None:
        # an option of a warm start without one would be silently ignored
        given = sorted(key for key, value in options.items() if value != _NO_WARM_START[key])
        given += [id_space[1]] if id_space[0] is not None else []
        if given:
            raise OptionTypeError(f"{given} only apply to a warm start: pass pretrained=... too")
        return others["sources"]
    from ..warm_start.bases import pretrained_sources

    return pretrained_sources(pretrained, id_space[0], **options, others=others, **kwargs)
