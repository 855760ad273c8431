"""Run PyKEEN experiment configurations, with representation keyword arguments that every model accepts.

A configuration in the format of ``pykeen experiments run`` (JSON or YAML, ``{"metadata": ..., "pipeline": ...}``)
may name representations for a model, e.g. ``"model_kwargs": {"entity_representations": "backfill",
"entity_representations_kwargs": {...}}``. :class:`~pykeen.models.DistMult` merges such keyword arguments over its
own defaults, but most of PyKEEN's models (TransE, ComplEx, RotatE, ...) and the ``interaction`` + ``dimensions`` form
pass their own ``entity_representations_kwargs`` to :class:`~pykeen.models.ERModel` and fail with "got multiple
values for keyword argument 'entity_representations_kwargs'".

This module runs such a configuration unchanged: it takes the user's representation keyword arguments out of
``model_kwargs`` and, only while the pipeline runs (see :func:`merged_representation_kwargs`), merges them over the
defaults the model injects, the user's keys winning, exactly as DistMult does natively.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import json
import pathlib
import shutil
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from .errors import BackfillError

if TYPE_CHECKING:
    from pykeen.datasets import Dataset
    from pykeen.pipeline import PipelineResult

__all__ = [
    "ConfigError",
    "REPRESENTATION_KWARGS",
    "load_config",
    "check_config",
    "config_dataset",
    "prepare_representation_kwargs",
    "split_representation_kwargs",
    "merge_representation_kwargs",
    "merged_representation_kwargs",
    "pipeline_from_config",
    "pipeline_from_path",
    "save_result",
    "run_experiment",
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

#: a mapping of keyword arguments, or one per representation
OneOrManyKwargs = Mapping[str, Any] | Sequence[Mapping[str, Any]]


class ConfigError(BackfillError, ValueError):
    """Raised for a configuration file or mapping that cannot be run, with a message naming the offending part."""


# --- reading and checking ---------------------------------------------------------------------------------------------


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {error}") from None
    config = _parse_json(text, path) if kind == "JSON" else _parse_yaml(text, path)
    return check_config(config, source=str(path))


def _parse_json(text: str, path: pathlib.Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"config {str(path)!r} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None


def _parse_yaml(text: str, path: pathlib.Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or type(error).__name__
        raise ConfigError(f"config {str(path)!r} is not valid YAML: {problem}{where}") from None


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
        raise ConfigError(f"'pipeline' in {source} has keys that pykeen.pipeline.pipeline does not accept: {unknown}")
    if kwargs.get("dataset") is None and (kwargs.get("training") is None or kwargs.get("testing") is None):
        raise ConfigError(f"'pipeline' in {source} must name a 'dataset', or both 'training' and 'testing'")
    _check_dataset(kwargs, source=source)
    _check_model(kwargs, source=source)


def _check_model(kwargs: Mapping[str, Any], *, source: str) -> None:
    model, interaction = kwargs.get("model"), kwargs.get("interaction")
    if (model is None) == (interaction is None):
        raise ConfigError(f"'pipeline' in {source} must name exactly one of 'model' and 'interaction'")
    if interaction is not None and kwargs.get("dimensions") is None:
        raise ConfigError(f"'pipeline' in {source} names interaction={interaction!r}, but gives no 'dimensions'")
    model_kwargs = kwargs.get("model_kwargs") or {}
    if not isinstance(model_kwargs, Mapping):
        raise ConfigError(f"pipeline.model_kwargs in {source} must be a mapping, but is {model_kwargs!r}")
    model_cls = _model_class(model, interaction, source=source)
    from .injected import keywords_accepted_by

    accepted = keywords_accepted_by(model_cls)
    unknown = sorted(set(model_kwargs).difference(accepted)) if accepted is not None else []
    if unknown:
        raise ConfigError(
            f"pipeline.model_kwargs in {source} has keys that {model_cls.__name__} does not accept: {unknown}"
        )
    for target in REPRESENTATION_KWARGS:
        _check_representation_hints(model_kwargs.get(f"{target}_representations"), target=target, source=source)


def _check_dataset(kwargs: Mapping[str, Any], *, source: str) -> None:
    # relative paths are relative to the working directory, as for PyKEEN
    dataset = kwargs.get("dataset")
    if isinstance(dataset, str) and not _is_known_dataset(dataset) and not pathlib.Path(dataset).exists():
        raise ConfigError(
            f"pipeline.dataset={dataset!r} in {source} is neither a dataset known to PyKEEN nor an existing path"
        )
    for key in ("training", "testing", "validation"):
        value = kwargs.get(key)
        if isinstance(value, str) and not pathlib.Path(value).exists():
            raise ConfigError(f"pipeline.{key}={value!r} in {source} does not exist")


def _is_known_dataset(name: str) -> bool:
    from pykeen.datasets import dataset_resolver

    try:
        dataset_resolver.lookup(name)
    except (KeyError, ValueError):
        return False
    return True


def _model_class(model: Any, interaction: Any, *, source: str) -> type:
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
        raise ConfigError(f"{key} in {source} must be a name, but is {hint!r}")
    try:
        return resolver.lookup(hint)
    except (KeyError, ValueError):
        raise ConfigError(
            f"{key}={hint!r} in {source} is not one of {sorted(resolver.lookup_dict)}",
        ) from None


def _check_representation_hints(hints: Any, *, target: Target, source: str) -> None:
    from pykeen.nn import representation_resolver

    if hints is None:
        return
    # one hint, or a list of them, one per representation
    for hint in hints if isinstance(hints, list) else [hints]:
        _lookup(representation_resolver, hint, key=f"pipeline.model_kwargs.{target}_representations", source=source)


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


# --- preparing representation kwargs ----------------------------------------------------------------------------------


def prepare_representation_kwargs(
    kwargs: Any,
    *,
    target: Target,
    pipeline_kwargs: Mapping[str, Any],
) -> OneOrManyKwargs:
    """Prepare the representation keyword arguments a configuration gives for one target.

    This is the one place where a configuration's representation keyword arguments are checked and completed before
    the model is built; values that depend on the run, e.g. the dataset (see :func:`config_dataset`), belong here.

    :param kwargs:
        The value of ``model_kwargs.entity_representations_kwargs`` (or ``relation_...``): a mapping, or a list of
        mappings, one per representation.
    :param target:
        Whether these are entity or relation representation keyword arguments.
    :param pipeline_kwargs:
        The whole ``pipeline`` entry of the configuration, for values that depend on it.

    :return:
        A copy of the keyword arguments, ready to be merged over the model's defaults.

    :raises ConfigError:
        If the value is neither a mapping nor a list of mappings.
    """
    from .warm_start import fill_labels

    key = f"pipeline.model_kwargs.{REPRESENTATION_KWARGS[target]}"
    # a warm start's new id space is the configuration's own dataset, unless it names one
    labels = functools.partial(config_dataset, pipeline_kwargs)
    if isinstance(kwargs, Mapping):
        return fill_labels(kwargs, labels)
    if isinstance(kwargs, Sequence) and not isinstance(kwargs, str) and all(isinstance(k, Mapping) for k in kwargs):
        return [fill_labels(k, labels) for k in kwargs]
    raise ConfigError(f"{key} must be a mapping or a list of mappings, but is {kwargs!r}")


def split_representation_kwargs(
    pipeline_kwargs: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[Target, OneOrManyKwargs]]:
    """Take the representation keyword arguments out of a pipeline's ``model_kwargs`` and prepare them.

    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration.

    :return:
        A pair of the pipeline keyword arguments without them (the input is not modified), and the prepared keyword
        arguments by target (see :func:`prepare_representation_kwargs`), for :func:`merged_representation_kwargs`.
    """
    from pykeen.models import ERModel

    pipeline_kwargs = dict(pipeline_kwargs)
    model_kwargs = dict(pipeline_kwargs.get("model_kwargs") or {})
    user: dict[Target, OneOrManyKwargs] = {}
    model_cls = _model_class(pipeline_kwargs.get("model"), pipeline_kwargs.get("interaction"), source="the config")
    if not issubclass(model_cls, ERModel):
        # only ERModel builds representations from these; other models keep them and report them as they see fit
        return pipeline_kwargs, user
    for target, key in REPRESENTATION_KWARGS.items():
        value = model_kwargs.pop(key, None)
        if value is not None:
            user[target] = prepare_representation_kwargs(value, target=target, pipeline_kwargs=pipeline_kwargs)
    if user:
        pipeline_kwargs["model_kwargs"] = model_kwargs
    return pipeline_kwargs, user


def merge_representation_kwargs(
    injected: OneOrManyKwargs | None,
    user: OneOrManyKwargs | None,
    *,
    target: Target = "entity",
) -> OneOrManyKwargs | None:
    """Merge a user's representation keyword arguments over a model's own, the user's keys winning.

    Either side may be one mapping or a list with one mapping per representation; a single mapping (or a list of one)
    applies to every representation of the other side.

    :param injected:
        The keyword arguments the model passes to :class:`~pykeen.models.ERModel`.
    :param user:
        The user's keyword arguments.
    :param target:
        Whether these are entity or relation representation keyword arguments; for error messages.

    :return:
        The merged keyword arguments: a mapping if both sides are mappings, else a list.

    :raises ConfigError:
        If both sides are lists of different lengths (other than one).
    """
    if user is None:
        return injected
    if injected is None:
        return user
    if isinstance(injected, Mapping) and isinstance(user, Mapping):
        return {**injected, **user}
    injected_list = [injected] if isinstance(injected, Mapping) else list(injected)
    user_list = [user] if isinstance(user, Mapping) else list(user)
    size = max(len(injected_list), len(user_list))
    if {len(injected_list), len(user_list)} - {1, size}:
        raise ConfigError(
            f"model_kwargs.{REPRESENTATION_KWARGS[target]} has {len(user_list)} entries, but the model builds "
            f"{len(injected_list)} {target} representations",
        )
    if len(injected_list) == 1:
        injected_list = injected_list * size
    if len(user_list) == 1:
        user_list = user_list * size
    return [{**(i or {}), **u} for i, u in zip(injected_list, user_list, strict=True)]


# --- merging during a run ---------------------------------------------------------------------------------------------

#: the user's representation kwargs of the run in progress in this context; None outside of a run
_PENDING: contextvars.ContextVar[Mapping[Target, OneOrManyKwargs] | None] = contextvars.ContextVar(
    "pykeen_backfill_pending_representation_kwargs", default=None
)
_PATCH_LOCK = threading.Lock()
_patch_users = 0
_original_build: Any = None


@contextlib.contextmanager
def merged_representation_kwargs(
    entity: OneOrManyKwargs | None = None,
    relation: OneOrManyKwargs | None = None,
) -> Iterator[None]:
    """Merge representation keyword arguments into every :class:`~pykeen.models.ERModel` built inside the block.

    Inside the block, when a model builds its entity (relation) representations, ``entity`` (``relation``) is merged
    over the keyword arguments the model passes, see :func:`merge_representation_kwargs`. So a model that refuses
    ``entity_representations_kwargs`` in its constructor can be built without them, and still gets them::

        with merged_representation_kwargs(entity=dict(base_ids=[0, 1, 2])):
            model = TransE(triples_factory=factory, entity_representations="backfill")

    Outside the block, in other threads and in other :mod:`contextvars` contexts, models are built as usual.

    :param entity:
        The user's keyword arguments for entity representations.
    :param relation:
        The user's keyword arguments for relation representations.

    :yields: nothing; the merge applies while the block runs.
    """
    pending: dict[Target, OneOrManyKwargs] = {}
    if entity is not None:
        pending["entity"] = entity
    if relation is not None:
        pending["relation"] = relation
    token = _PENDING.set(pending)
    _install_patch()
    try:
        yield
    finally:
        _remove_patch()
        _PENDING.reset(token)


def _install_patch() -> None:
    global _patch_users, _original_build
    from pykeen.models import ERModel

    with _PATCH_LOCK:
        if _patch_users == 0:
            _original_build = ERModel.__dict__["_build_representations"]
            ERModel._build_representations = _build_with_user_kwargs  # type: ignore[method-assign]
        _patch_users += 1


def _remove_patch() -> None:
    global _patch_users, _original_build
    from pykeen.models import ERModel

    with _PATCH_LOCK:
        _patch_users -= 1
        if _patch_users == 0:
            ERModel._build_representations = _original_build  # type: ignore[method-assign]
            _original_build = None


def _build_with_user_kwargs(
    self: Any,
    triples_factory: Any,
    representations: Any = None,
    representations_kwargs: Any = None,
    label: Target = "entity",
    **kwargs: Any,
) -> Any:
    pending = _PENDING.get() or {}
    representations_kwargs = merge_representation_kwargs(representations_kwargs, pending.get(label), target=label)
    return _original_build(
        self,
        triples_factory=triples_factory,
        representations=representations,
        representations_kwargs=representations_kwargs,
        label=label,
        **kwargs,
    )


# --- running ----------------------------------------------------------------------------------------------------------


def pipeline_from_config(config: Mapping[str, Any], **kwargs: Any) -> PipelineResult:
    """Run :func:`pykeen.pipeline.pipeline` on a configuration, with representation keyword arguments for every model.

    A drop-in for :func:`pykeen.pipeline.pipeline_from_config`: the configuration is checked first (see
    :func:`check_config`), then run with the user's representation keyword arguments merged over the model's own.

    :param config:
        A configuration with a ``pipeline`` entry and optionally a ``metadata`` entry.
    :param kwargs:
        Further keyword arguments for :func:`pykeen.pipeline.pipeline`; they override the configuration's.

    :return:
        The pipeline's result.
    """
    from pykeen.pipeline import pipeline

    config = check_config(config)
    pipeline_kwargs, user = split_representation_kwargs({**config["pipeline"], **kwargs})
    with merged_representation_kwargs(**user):
        return pipeline(metadata=config["metadata"], **pipeline_kwargs)


def pipeline_from_path(path: str | pathlib.Path, **kwargs: Any) -> PipelineResult:
    """Run a configuration file like :func:`pipeline_from_config`; a drop-in for PyKEEN's function of this name.

    :param path:
        The path of a JSON or YAML configuration file.
    :param kwargs:
        Further keyword arguments for :func:`pykeen.pipeline.pipeline`.

    :return:
        The pipeline's result.
    """
    return pipeline_from_config(load_config(path), **kwargs)


def save_result(result: PipelineResult, directory: str | pathlib.Path) -> pathlib.Path:
    """Save a pipeline's result, as :meth:`~pykeen.pipeline.PipelineResult.save_to_directory` does.

    A model of the ``interaction`` + ``dimensions`` form is an instance of a class local to PyKEEN's
    :func:`~pykeen.models.make_model_cls`, which :mod:`pickle` cannot name; it is saved as an instance of its nearest
    importable ancestor (:class:`~pykeen.models.ERModel`), which holds the same modules and computes the same scores.

    :param result:
        The pipeline's result.
    :param directory:
        The directory to write ``trained_model.pkl``, ``results.json``, ``metadata.json`` and the training triples to;
        it is created if needed.

    :return:
        The directory.
    """
    directory = pathlib.Path(directory)
    with _picklable(result.model):
        result.save_to_directory(directory)
    return directory


@contextlib.contextmanager
def _picklable(model: Any) -> Iterator[None]:
    cls = type(model)
    importable = next(klass for klass in cls.__mro__ if "<locals>" not in klass.__qualname__)
    if importable is cls:
        yield
        return
    model.__class__ = importable
    try:
        yield
    finally:
        model.__class__ = cls


def run_experiment(path: str | pathlib.Path, directory: str | pathlib.Path) -> PipelineResult:
    """Run a configuration file and save the result and a copy of the file in a directory.

    This is what ``pykeen-backfill run CONFIG -d DIRECTORY`` does.

    :param path:
        The path of a JSON or YAML configuration file.
    :param directory:
        The output directory, see :func:`save_result`.

    :return:
        The pipeline's result.
    """
    path = pathlib.Path(path)
    result = pipeline_from_path(path)
    directory = save_result(result, directory)
    shutil.copyfile(path, directory.joinpath("configuration_copied").with_suffix(path.suffix))
    return result
