"""Representation keyword arguments that every model accepts, merged over the model's own while it is built.

:class:`~pykeen.models.DistMult` merges a user's ``entity_representations_kwargs`` over its own defaults, but most of
PyKEEN's models (TransE, ComplEx, RotatE, ...) and the ``interaction`` + ``dimensions`` form pass their own
``entity_representations_kwargs`` to :class:`~pykeen.models.ERModel` and fail with "got multiple values for keyword
argument 'entity_representations_kwargs'". This module takes the user's representation keyword arguments out of
``model_kwargs`` and, only while the pipeline runs (see :func:`merged_representation_kwargs`), merges them over the
defaults the model injects, the user's keys winning, exactly as DistMult does natively.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..checks import preview
from ..errors import ConfigError
from .config import REPRESENTATION_KWARGS, Target, config_dataset, model_class
from .routes import entity_model_class, place_entity_representation, route_model_kwargs

__all__ = [
    "OneOrManyKwargs",
    "merge_representation_kwargs",
    "merged_representation_kwargs",
    "prepare_representation_kwargs",
    "split_representation_kwargs",
]

#: a mapping of keyword arguments, or one per representation
OneOrManyKwargs = Mapping[str, Any] | Sequence[Mapping[str, Any]]


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
    from ..warm_start.space import fill_labels

    key = f"pipeline.model_kwargs.{REPRESENTATION_KWARGS[target]}"
    # a warm start's new id space is the configuration's own dataset, unless it names one
    labels = functools.partial(config_dataset, pipeline_kwargs)
    if isinstance(kwargs, Mapping):
        return fill_labels(kwargs, labels)
    if isinstance(kwargs, Sequence) and not isinstance(kwargs, str) and all(isinstance(k, Mapping) for k in kwargs):
        return [fill_labels(k, labels) for k in kwargs]
    raise ConfigError(f"{key} must be a mapping or a list of mappings, but is {preview(kwargs)}")


def split_representation_kwargs(
    pipeline_kwargs: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Take the representation keyword arguments out of a pipeline's ``model_kwargs`` and prepare them.

    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration.

    :return:
        A pair of the pipeline keyword arguments without them (the input is not modified), and the keyword arguments
        of :func:`merged_representation_kwargs`: the prepared keyword arguments by target (see
        :func:`prepare_representation_kwargs`), and the entity representation hint where the model cannot take it
        itself (see :func:`~pykeen_backfill.experiments.routes.route_model_kwargs`).
    """
    from pykeen.models import ERModel

    pipeline_kwargs = dict(pipeline_kwargs)
    model_kwargs = dict(pipeline_kwargs.get("model_kwargs") or {})
    user: dict[str, Any] = {}
    model_cls = model_class(pipeline_kwargs.get("model"), pipeline_kwargs.get("interaction"), source="the config")
    if not issubclass(entity_model_class(model_cls, model_kwargs), ERModel):
        # only ERModel builds representations from these; other models keep them and report them as they see fit
        return pipeline_kwargs, user
    for target, key in REPRESENTATION_KWARGS.items():
        value = model_kwargs.pop(key, None)
        if value is not None:
            user[target] = prepare_representation_kwargs(value, target=target, pipeline_kwargs=pipeline_kwargs)
    model_kwargs, hint, user = route_model_kwargs(model_cls, model_kwargs, user)
    if hint is not None:
        user["entity_representations"] = hint
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


#: the user's representation kwargs of the run in progress in this context; None outside of a run
_PENDING: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "pykeen_backfill_pending_representation_kwargs", default=None
)
_PATCH_LOCK = threading.Lock()
_patch_users = 0
_original_build: Any = None


@contextlib.contextmanager
def merged_representation_kwargs(
    entity: OneOrManyKwargs | None = None,
    relation: OneOrManyKwargs | None = None,
    entity_representations: Any = None,
) -> Iterator[None]:
    """Merge representation keyword arguments into every :class:`~pykeen.models.ERModel` built inside the block.

    Inside the block, when a model builds its entity (relation) representations, ``entity`` (``relation``) is merged
    over the keyword arguments the model passes, see :func:`merge_representation_kwargs`. So a model that refuses
    ``entity_representations_kwargs`` in its constructor can be built without them, and still gets them::

        with merged_representation_kwargs(entity=dict(base_ids=[0, 1, 2])):
            model = TransE(triples_factory=factory, entity_representations="backfill")

    With ``entity_representations``, the entity representations are built from this hint, placed where the model
    keeps its per-entity vectors (see :mod:`.routes`). Models that build their entity representations on top of such
    vectors (RGCN's message passing, the literal models) cannot be given it themselves::

        with merged_representation_kwargs(entity_representations="backfill", entity=dict(base_ids=[0, 1, 2])):
            model = RGCN(triples_factory=factory, embedding_dim=32)

    Outside the block, in other threads and in other :mod:`contextvars` contexts, models are built as usual.

    :param entity:
        The user's keyword arguments for entity representations.
    :param relation:
        The user's keyword arguments for relation representations.
    :param entity_representations:
        A hint for the entity representations, for a model that is not given it itself.

    :yields: nothing; the merge applies while the block runs.
    """
    pending: dict[str, Any] = {}
    if entity_representations is not None:
        pending["entity_representations"] = entity_representations
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

    def merge(injected: OneOrManyKwargs | None) -> OneOrManyKwargs | None:
        return merge_representation_kwargs(injected, pending.get(label), target=label)

    if label == "entity":
        representations, representations_kwargs = place_entity_representation(
            representations, representations_kwargs, hint=pending.get("entity_representations"), merge=merge
        )
    else:
        representations_kwargs = merge(representations_kwargs)
    return _original_build(
        self,
        triples_factory=triples_factory,
        representations=representations,
        representations_kwargs=representations_kwargs,
        label=label,
        **kwargs,
    )
