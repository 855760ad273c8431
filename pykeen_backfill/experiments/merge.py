"""Representation keyword arguments that every model accepts, merged over the model's own while it is built.

:class:`~pykeen.models.DistMult` merges a user's ``entity_representations_kwargs`` over its own defaults, but most of
PyKEEN's models (TransE, ComplEx, RotatE, ...) and the ``interaction`` + ``dimensions`` form pass their own
``entity_representations_kwargs`` to :class:`~pykeen.models.ERModel` and fail with "got multiple values for keyword
argument 'entity_representations_kwargs'". This module takes the user's representation keyword arguments out of
``model_kwargs`` and builds the model through :func:`with_representation_kwargs`: a subclass of the model's class that
receives what the model passes to :class:`~pykeen.models.ERModel`'s constructor, merges the user's keyword arguments
over it (the user's keys winning, exactly as DistMult does natively), and hands the result on. Nothing of PyKEEN is
changed: a model built in any other way is built as usual, and a model built this way is an instance of the model's
own class.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..checks import preview
from ..errors import ConfigError, OptionTypeError
from .config import REPRESENTATION_KWARGS, Target, config_dataset, model_class
from .routes import entity_model_class, place_entity_representation, route_model_kwargs

if TYPE_CHECKING:
    from pykeen.models import Model

__all__ = [
    "OneOrManyKwargs",
    "merge_representation_kwargs",
    "prepare_pipeline_kwargs",
    "prepare_representation_kwargs",
    "split_representation_kwargs",
    "with_representation_kwargs",
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
        of :func:`with_representation_kwargs`: the prepared keyword arguments by target (see
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


def with_representation_kwargs(
    model: type[Model],
    *,
    entity: OneOrManyKwargs | None = None,
    relation: OneOrManyKwargs | None = None,
    entity_representations: Any = None,
) -> type[Model]:
    """Return a class that builds ``model`` with representation keyword arguments merged over the model's own.

    Calling the returned class builds an instance of ``model`` itself, as ``model`` would be built from the same
    arguments, except that ``entity`` (``relation``) is merged over the keyword arguments the model gives its entity
    (relation) representations, see :func:`merge_representation_kwargs`. So a model that refuses
    ``entity_representations_kwargs`` in its constructor still gets them::

        model = with_representation_kwargs(TransE, entity=dict(base_ids=[0, 1, 2]))(
            triples_factory=factory, entity_representations="backfill"
        )

    With ``entity_representations``, the entity representations are built from this hint, placed where the model
    keeps its per-entity vectors (see :mod:`.routes`). Models that build their entity representations on top of such
    vectors (RGCN's message passing, the literal models) cannot be given it themselves::

        model = with_representation_kwargs(RGCN, entity_representations="backfill", entity=dict(base_ids=[0, 1, 2]))(
            triples_factory=factory, embedding_dim=32
        )

    The returned class can be given to :func:`pykeen.pipeline.pipeline` as its ``model``.

    :param model:
        A subclass of :class:`~pykeen.models.ERModel`.
    :param entity:
        The user's keyword arguments for entity representations.
    :param relation:
        The user's keyword arguments for relation representations.
    :param entity_representations:
        A hint for the entity representations, for a model that is not given it itself.

    :return:
        A subclass of ``model`` whose instances are, once built, instances of ``model`` itself.

    :raises OptionTypeError:
        If ``model`` is not a subclass of :class:`~pykeen.models.ERModel`; a :class:`TypeError`.
    """
    from pykeen.models import ERModel

    if not (isinstance(model, type) and issubclass(model, ERModel)):
        raise OptionTypeError(f"model must be a subclass of ERModel, but is {preview(model)}")
    merging = _merging_class()
    # the merging class goes between the model's classes and ERModel, where the model's call to ERModel arrives
    bases = (merging,) if model is ERModel else (model, merging)
    pending = {"entity": entity, "relation": relation, "entity_representations": entity_representations}
    namespace = {"__doc__": model.__doc__, "__module__": __name__, "built": model, "pending": pending}
    return type(model.__name__, bases, namespace)


def prepare_pipeline_kwargs(pipeline_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Return keyword arguments of :func:`pykeen.pipeline.pipeline` that build the model with the user's own.

    The user's representation keyword arguments are taken out of ``model_kwargs`` (see
    :func:`split_representation_kwargs`) and the model is given as a class of :func:`with_representation_kwargs`
    that merges them, also where the pipeline names an ``interaction`` (with its ``dimensions``) or a
    :class:`~pykeen.models.CooccurrenceFilteredModel`, whose ``base`` builds the representations.

    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration, or the keyword arguments of a pipeline; not modified.

    :return:
        The pipeline's keyword arguments; as given where there is nothing to merge.

    :raises ConfigError:
        If the model is given already built, so that representation keyword arguments cannot reach it.
    """
    from pykeen.models import CooccurrenceFilteredModel, make_model_cls, model_resolver

    pipeline_kwargs, user = split_representation_kwargs(pipeline_kwargs)
    if not user:
        return pipeline_kwargs
    if pipeline_kwargs.get("interaction") is not None:
        built = {key: pipeline_kwargs.pop(key, None) for key in ("interaction", "interaction_kwargs", "dimensions")}
        pipeline_kwargs["model"] = make_model_cls(**built)
    model_kwargs = dict(pipeline_kwargs.get("model_kwargs") or {})
    key, hint, where = "model", pipeline_kwargs.get("model"), pipeline_kwargs
    model_cls = model_resolver.lookup(hint) if isinstance(hint, (str, type)) else type(hint)
    if issubclass(model_cls, CooccurrenceFilteredModel):
        # its own keyword arguments build its base model, which builds the representations
        key, hint, where = "base", model_kwargs.get("base", _default_base(model_cls)), model_kwargs
    if not isinstance(hint, (str, type)):
        raise ConfigError(
            f"{key}={preview(hint)} is built already: its representation keyword arguments "
            f"{sorted(REPRESENTATION_KWARGS[target] for target in user if target in REPRESENTATION_KWARGS)} cannot "
            "reach it; give the model by name or class"
        )
    where[key] = with_representation_kwargs(model_resolver.lookup(hint), **user)
    pipeline_kwargs["model_kwargs"] = model_kwargs
    return pipeline_kwargs


def _default_base(model_cls: type) -> Any:
    import inspect

    return inspect.signature(model_cls.__init__).parameters["base"].default


@functools.cache
def _merging_class() -> type:
    """Define the class that merges, once PyKEEN is imported: it derives from ERModel."""
    from pykeen.models import ERModel

    class MergingERModel(ERModel):
        """Merges the user's part over what a model passes to :class:`~pykeen.models.ERModel`, and hands it on.

        Each class of :func:`with_representation_kwargs` derives from the model and from this class.
        """

        #: the model class the user asked for
        built: ClassVar[type]
        #: the user's keyword arguments by target, and the entity hint
        pending: ClassVar[Mapping[str, Any]]

        def __init__(
            self,
            *,
            entity_representations: Any = None,
            entity_representations_kwargs: Any = None,
            relation_representations_kwargs: Any = None,
            **kwargs: Any,
        ) -> None:
            pending = type(self).pending

            def merge(injected: OneOrManyKwargs | None, label: Target = "entity") -> OneOrManyKwargs | None:
                return merge_representation_kwargs(injected, pending.get(label), target=label)

            entity_representations, entity_representations_kwargs = place_entity_representation(
                entity_representations,
                entity_representations_kwargs,
                hint=pending.get("entity_representations"),
                merge=merge,
            )
            super().__init__(
                entity_representations=entity_representations,
                entity_representations_kwargs=entity_representations_kwargs,
                relation_representations_kwargs=merge(relation_representations_kwargs, "relation"),
                **kwargs,
            )
            # the model is, from here on, exactly the class the user asked for: it pickles, prints and compares as one
            self.__class__ = type(self).built

    return MergingERModel
