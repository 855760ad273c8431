"""Checks of a hyperparameter search before its first trial: a size the study searches must not be fixed elsewhere.

In a study, every trial builds the model with the sizes it samples (``embedding_dim``, ``relation_dim``, ...), and the
model gives them to the representations it builds: a backfill's base and backfill, built from hints, get each trial's
size without being told. A ``shape`` fixed in ``base_kwargs`` (or ``backfill_kwargs``), or a ``pretrained`` base of a
fixed size, agrees with only some trials; the first that samples another size would stop the whole study with a
:class:`~pykeen_backfill.errors.ShapeMismatchError`. :func:`check_searched_shapes` refuses such a study before it
starts, saying what to drop or fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ..checks import preview
from ..errors import ConfigError
from .config import REPRESENTATION_KWARGS, model_class

__all__ = [
    "check_searched_shapes",
    "searched_model_keys",
]

#: keyword arguments of a backfill, or of one of its parts, that fix a size
SHAPE_KEYS = ("shape", "embedding_dim")
#: the keyword arguments of a backfill's parts
PART_KWARGS = ("base_kwargs", "backfill_kwargs")


def searched_model_keys(
    model_cls: type, model_kwargs: Mapping[str, Any] | None, model_kwargs_ranges: Mapping[str, Any] | None
) -> set[str]:
    """Return the model keyword arguments a study samples, as :func:`pykeen.hpo.hpo_pipeline` chooses them.

    :param model_cls:
        The model class.
    :param model_kwargs:
        The fixed keyword arguments; a key given here is never sampled.
    :param model_kwargs_ranges:
        The study's own ranges, added to the model's ``hpo_default``.

    :return:
        The names of the sampled keyword arguments.
    """
    ranges = {**getattr(model_cls, "hpo_default", {}), **(model_kwargs_ranges or {})}
    return set(ranges).difference(model_kwargs or {})


def check_searched_shapes(hpo_kwargs: Mapping[str, Any], *, source: str = "the study") -> None:
    """Refuse a study that searches a model's size while its representation keyword arguments fix one.

    :param hpo_kwargs:
        The keyword arguments of :func:`pykeen.hpo.hpo_pipeline`, or the ``pipeline`` entry of a configuration of
        ``pykeen experiments optimize``: ``model``, ``model_kwargs``, ``model_kwargs_ranges``.
    :param source:
        What to call the study in messages.

    :raises ConfigError:
        If a size is searched (``embedding_dim`` or another ``*_dim``) and some representation keyword arguments
        fix a ``shape`` (at the top or in ``base_kwargs``/``backfill_kwargs``) or name ``pretrained`` vectors; the
        message names the key and says to drop it, or to fix the size in ``model_kwargs``.
    """
    model = hpo_kwargs.get("model")
    if model is None:
        return
    model_kwargs = hpo_kwargs.get("model_kwargs") or {}
    model_cls = model_class(model, None, source=source)
    searched = searched_model_keys(model_cls, model_kwargs, hpo_kwargs.get("model_kwargs_ranges"))
    sizes = sorted(key for key in searched if key == "embedding_dim" or key.endswith("_dim"))
    if not sizes:
        return
    for where, key, value in _fixed_sizes(model_kwargs):
        if key == "pretrained":
            raise ConfigError(
                f"model_kwargs.{where}.pretrained in {source} reuses vectors of a fixed size, but the study searches "
                f"{sizes}: a trial that samples another size would fail. Fix {sizes[0]} in model_kwargs to the "
                "size of the pre-trained vectors",
            )
        raise ConfigError(
            f"model_kwargs.{where}.{key}={preview(value)} in {source} fixes a size, but the study searches {sizes}: a "
            f"trial that samples another size would fail. Drop {key} from {where.rsplit('.', 1)[-1]}: the model "
            f"gives each trial's size to the parts it builds (or fix {sizes[0]} in model_kwargs)",
        )


def _fixed_sizes(model_kwargs: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Yield where a size is fixed in representation keyword arguments: the path, the key and the value."""
    for name in REPRESENTATION_KWARGS.values():
        value = model_kwargs.get(name)
        entries = [value] if isinstance(value, Mapping) else list(value or [])
        for position, kwargs in enumerate(entries):
            if not isinstance(kwargs, Mapping):
                continue
            where = name if isinstance(value, Mapping) else f"{name}[{position}]"
            if kwargs.get("pretrained") is not None:
                yield where, "pretrained", kwargs["pretrained"]
            for key in SHAPE_KEYS:
                if kwargs.get(key) is not None:
                    yield where, key, kwargs[key]
            for part in PART_KWARGS:
                part_kwargs = kwargs.get(part)
                for key in SHAPE_KEYS if isinstance(part_kwargs, Mapping) else ():
                    if part_kwargs.get(key) is not None:
                        yield f"{where}.{part}", key, part_kwargs[key]
