"""Read and check PyKEEN experiment configurations before anything is trained.

A configuration in the format of ``pykeen experiments run`` (JSON or YAML, ``{"metadata": ..., "pipeline": ...}``)
is checked for what a user can fix in the file: its structure, the parameter names of
:func:`pykeen.pipeline.pipeline`, the names of the model, interaction and representations, and the keyword arguments
the model accepts.
"""

from __future__ import annotations

import inspect
import json
import pathlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ..checks import open_regular, preview, read_text
from ..errors import ConfigError
from .routes import (
    check_entity_vectors,
    check_literals,
    check_relation_representations,
    entity_model_class,
    ignores_extra_keywords,
)

if TYPE_CHECKING:
    from pykeen.datasets import Dataset

__all__ = [
    "FORMATS",
    "REPRESENTATION_KWARGS",
    "Target",
    "check_config",
    "config_dataset",
    "load_config",
    "model_class",
]

#: which representations a model builds
Target = Literal["entity", "relation"]

#: the keyword argument of :class:`~pykeen.models.ERModel` that carries each target's representation kwargs
REPRESENTATION_KWARGS: Mapping[Target, str] = {
    "entity": "entity_representations_kwargs",
    "relation": "relation_representations_kwargs",
}

#: configuration file formats by suffix, as ``pykeen experiments run`` reads them
FORMATS = {".json": "JSON", ".yaml": "YAML", ".yml": "YAML"}


def load_config(path: str | pathlib.Path) -> dict[str, Any]:
    """Read a configuration file, JSON or YAML by its suffix, and check its structure.

    :param path:
        The path of a ``.json``, ``.yaml`` or ``.yml`` file in the format of ``pykeen experiments run``.

    :return:
        The configuration, with ``metadata`` defaulting to an empty mapping.

    :raises ConfigError:
        If the file is missing, has another suffix, cannot be parsed, or is not a configuration; see
        :func:`check_config`.
    """
    path = pathlib.Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(f"config {str(path)!r} must end in .json, .yaml or .yml, but ends in {path.suffix!r}")
    # a FIFO or a device is refused before a byte is read; UTF-8 with or without a byte-order mark
    text = read_text(path, what="config file", error=ConfigError)
    config = _parse_json(text, path) if kind == "JSON" else _parse_yaml(text, path)
    return check_config(config, source=str(path))


def _parse_json(text: str, path: pathlib.Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"config {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise ConfigError(f"config {str(path)!r} is nested too deeply to be read") from None


def _parse_yaml(text: str, path: pathlib.Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise ConfigError(f"config {str(path)!r} is not valid YAML: {problem}{where}") from None
    except RecursionError:
        raise ConfigError(f"config {str(path)!r} is nested too deeply to be read") from None


def check_config(config: Any, *, source: str = "the config") -> dict[str, Any]:
    """Check that a configuration can be run, before anything is trained.

    The checks catch what a user can fix in the file: the structure, parameter names of
    :func:`pykeen.pipeline.pipeline`, the names of the model, interaction and representations, and the keyword
    arguments the model accepts.

    :param config:
        The configuration, as read from a file.
    :param source:
        What to call the configuration in error messages, e.g. its path.

    :return:
        A shallow copy, with ``metadata`` defaulting to an empty mapping.

    :raises ConfigError:
        If something is wrong; the message names the offending key and value.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"{source} must be a mapping with a 'pipeline' entry, but is {type(config).__name__}")
    if "pipeline" not in config:
        raise ConfigError(f"{source} has no 'pipeline' entry; its top-level keys are {sorted(map(str, config))}")
    pipeline_kwargs = config["pipeline"]
    if not isinstance(pipeline_kwargs, Mapping):
        raise ConfigError(f"'pipeline' in {source} must be a mapping, but is {type(pipeline_kwargs).__name__}")
    metadata = config.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise ConfigError(f"'metadata' in {source} must be a mapping, but is {type(metadata).__name__}")
    _check_pipeline_kwargs(pipeline_kwargs, source=source)
    return {**config, "metadata": dict(metadata), "pipeline": dict(pipeline_kwargs)}


def _check_pipeline_kwargs(kwargs: Mapping[str, Any], *, source: str) -> None:
    from pykeen.pipeline import pipeline

    unknown = sorted(set(kwargs).difference(inspect.signature(pipeline).parameters))
    if unknown:
        raise ConfigError(
            f"'pipeline' in {source} has keys that pykeen.pipeline.pipeline does not accept: {preview(unknown)}"
        )
    if kwargs.get("dataset") is None and (kwargs.get("training") is None or kwargs.get("testing") is None):
        raise ConfigError(f"'pipeline' in {source} must name a 'dataset', or both 'training' and 'testing'")
    _check_dataset(kwargs, source=source)
    _check_model(kwargs, source=source)


def _check_model(kwargs: Mapping[str, Any], *, source: str) -> None:
    model, interaction = kwargs.get("model"), kwargs.get("interaction")
    if (model is None) == (interaction is None):
        raise ConfigError(f"'pipeline' in {source} must name exactly one of 'model' and 'interaction'")
    if interaction is not None and kwargs.get("dimensions") is None:
        raise ConfigError(f"'pipeline' in {source} names interaction={preview(interaction)}, but gives no 'dimensions'")
    model_kwargs = kwargs.get("model_kwargs") or {}
    if not isinstance(model_kwargs, Mapping):
        raise ConfigError(f"pipeline.model_kwargs in {source} must be a mapping, but is {preview(model_kwargs)}")
    model_cls = model_class(model, interaction, source=source)
    check_entity_vectors(model_cls, model_kwargs, source=source)
    check_relation_representations(model_cls, model_kwargs, source=source)
    check_literals(model_cls, kwargs, source=source)
    accepted = _accepted_model_keywords(model_cls, model_kwargs)
    unknown = sorted(set(model_kwargs).difference(accepted)) if accepted is not None else []
    if unknown:
        raise ConfigError(
            f"pipeline.model_kwargs in {source} has keys that {model_cls.__name__} does not accept: {preview(unknown)}"
        )
    for target in REPRESENTATION_KWARGS:
        _check_representation_hints(model_kwargs.get(f"{target}_representations"), target=target, source=source)
        _check_backfill_kwargs_have_their_hint(model_kwargs, target=target, source=source)


def _accepted_model_keywords(model_cls: type, model_kwargs: Mapping[str, Any]) -> frozenset[str] | None:
    """Return the keywords a model accepts, following its ``**kwargs`` to where they really go."""
    from pykeen.models import ERModel

    from ..representation.kwargs import keywords_accepted_by

    if ignores_extra_keywords(model_cls):
        return None
    accepted = keywords_accepted_by(model_cls)
    inner = entity_model_class(model_cls, model_kwargs)
    if inner is not model_cls:
        # a meta model: what it does not take itself goes to its base model
        theirs = _accepted_model_keywords(inner, model_kwargs)
        accepted = None if accepted is None or theirs is None else accepted | theirs
    if accepted is not None and issubclass(inner, ERModel):
        # representation keyword arguments are taken out and placed while the model is built (see .routes)
        accepted = accepted | set(REPRESENTATION_KWARGS.values()) | {"entity_representations"}
    return accepted


def _check_dataset(kwargs: Mapping[str, Any], *, source: str) -> None:
    # relative paths are relative to the working directory, as for PyKEEN
    dataset = kwargs.get("dataset")
    if isinstance(dataset, str) and not _is_known_dataset(dataset) and not pathlib.Path(dataset).exists():
        raise ConfigError(
            f"pipeline.dataset={preview(dataset)} in {source} is neither a dataset known to PyKEEN nor an existing path"
        )
    for key in ("dataset", "training", "testing", "validation"):
        value = kwargs.get(key)
        if key != "dataset" and isinstance(value, str) and not pathlib.Path(value).exists():
            raise ConfigError(f"pipeline.{key}={preview(value)} in {source} does not exist")
        if isinstance(value, str) and pathlib.Path(value).exists() and not pathlib.Path(value).is_dir():
            # a FIFO or a device would block PyKEEN's reader, or feed it endless bytes
            open_regular(value, what=f"pipeline.{key} in {source}:", error=ConfigError).close()


def _is_known_dataset(name: str) -> bool:
    from pykeen.datasets import dataset_resolver

    try:
        dataset_resolver.lookup(name)
    except (KeyError, ValueError):
        return False
    return True


def model_class(model: Any, interaction: Any, *, source: str) -> type:
    """Return the model class a pipeline builds from ``model`` or ``interaction``, named as in the config."""
    from pykeen.models import ERModel, model_resolver
    from pykeen.nn.modules import interaction_resolver

    if interaction is not None:
        _lookup(interaction_resolver, interaction, key="pipeline.interaction", source=source)
        # the interaction form builds an ad-hoc subclass of ERModel that forwards everything to it
        return ERModel
    return _lookup(model_resolver, model, key="pipeline.model", source=source)


def _lookup(resolver: Any, hint: Any, *, key: str, source: str) -> type:
    if isinstance(hint, resolver.base):
        # Python callers may pass instances, as pykeen.pipeline.pipeline allows
        return type(hint)
    if not isinstance(hint, (str, type)):
        raise ConfigError(f"{key} in {source} must be a name, but is {preview(hint)}")
    try:
        return resolver.lookup(hint)
    except (KeyError, ValueError):
        raise ConfigError(
            f"{key}={preview(hint)} in {source} is not one of {sorted(resolver.lookup_dict)}",
        ) from None


def _check_representation_hints(hints: Any, *, target: Target, source: str) -> None:
    from pykeen.nn import representation_resolver

    if hints is None:
        return
    # one hint, or a list of them, one per representation
    for hint in hints if isinstance(hints, list) else [hints]:
        _lookup(representation_resolver, hint, key=f"pipeline.model_kwargs.{target}_representations", source=source)


def _check_backfill_kwargs_have_their_hint(model_kwargs: Mapping[str, Any], *, target: Target, source: str) -> None:
    """Refuse keyword arguments only a backfill takes where no hint names the backfill.

    Without a hint, PyKEEN builds the model's default representation from them, which fails with a bare
    ``TypeError``. The hint is not filled in: the keyword arguments alone do not say which representation the user
    meant (PyKEEN's own backfill takes ``base_ids`` too), and a configuration should read as what it runs.
    """
    from pykeen.nn import Embedding

    from ..representation import BackfillRepresentation
    from ..representation.kwargs import keywords_accepted_by

    hint_key, kwargs_key = f"{target}_representations", REPRESENTATION_KWARGS[target]
    given = model_kwargs.get(kwargs_key)
    if model_kwargs.get(hint_key) is not None or given is None:
        return
    ours = (keywords_accepted_by(BackfillRepresentation) or frozenset()) - (keywords_accepted_by(Embedding) or set())
    # one mapping, or one per representation; anything else is refused where the keyword arguments are prepared
    mappings = [given] if isinstance(given, Mapping) else list(given) if isinstance(given, (list, tuple)) else []
    mappings = [mapping for mapping in mappings if isinstance(mapping, Mapping)]
    found = sorted({str(key) for mapping in mappings for key in mapping if key in ours})
    if found:
        raise ConfigError(
            f"pipeline.model_kwargs.{kwargs_key} in {source} gives {preview(found)}, which only the backfill "
            f"representation takes, but no {hint_key} names it, so the model would build its default representation "
            f'and fail on them: add {hint_key}: "backfill" to pipeline.model_kwargs'
        )


def config_dataset(pipeline_kwargs: Mapping[str, Any]) -> Dataset:
    """Return the dataset a configuration's pipeline will train on.

    PyKEEN caches datasets given by name, so the pipeline later works on this very instance.

    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration.

    :return:
        The dataset, as :func:`pykeen.datasets.get_dataset` builds it from ``dataset``, ``dataset_kwargs``,
        ``training``, ``testing`` and ``validation``.
    """
    from pykeen.datasets import get_dataset

    return get_dataset(
        dataset=pipeline_kwargs.get("dataset"),
        dataset_kwargs=pipeline_kwargs.get("dataset_kwargs"),
        training=pipeline_kwargs.get("training"),
        testing=pipeline_kwargs.get("testing"),
        validation=pipeline_kwargs.get("validation"),
    )
