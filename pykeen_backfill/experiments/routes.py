"""Where a model keeps its trainable per-entity vectors, and how a user's entity representation reaches them.

Most of PyKEEN's models pass the user's ``entity_representations`` straight to :class:`~pykeen.models.ERModel`, which
builds one vector per entity from it. Some build their entity representations on top of such vectors:

- :class:`~pykeen.models.RGCN` builds an :class:`~pykeen.nn.message_passing.RGCNRepresentation`, whose message
  passing starts from per-entity input features (its ``entity_representations``);
- the literal models (:class:`~pykeen.models.DistMultLiteral`, ...) combine per-entity vectors with fixed numeric
  literals in a :class:`~pykeen.nn.representation.CombinedRepresentation` (its first ``base``);
- :class:`~pykeen.models.CompGCN` builds its encoder before :class:`~pykeen.models.ERModel` sees anything; its
  ``encoder_kwargs`` name the encoder's input representations.

For these, a backfill belongs where the per-entity vectors are, and this module puts it there. Models without
per-entity vectors (NodePiece represents every entity by tokens; the mock model has no representations) are refused
with a :class:`NoEntityVectorsError` that says why and what to do instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from ..checks import preview
from ..errors import ConfigError, NoEntityVectorsError

__all__ = [
    "NoEntityVectorsError",
    "refusal",
    "check_entity_vectors",
    "entity_model_class",
    "ignores_extra_keywords",
    "check_literals",
    "check_relation_representations",
    "route_model_kwargs",
    "place_entity_representation",
]


#: the keyword that names the entity representations in a model's constructor
HINT = "entity_representations"
#: the keyword that carries their keyword arguments
KWARGS = "entity_representations_kwargs"
#: the same for relations
REL_HINT, REL_KWARGS = "relation_representations", "relation_representations_kwargs"

_NODEPIECE = (
    "{name} has no per-entity vectors to backfill: it represents every entity, a new one included, by tokens (anchor "
    "entities and relations) whose embeddings all entities share. It needs no backfill for a grown graph; train it "
    "without entity_representations, or use a model with one vector per entity (e.g. DistMult, TransE, RGCN)"
)
_NO_REPRESENTATIONS = (
    "{name} has no entity representations at all, so a backfill cannot take part in it; use a model with one vector "
    "per entity (e.g. DistMult, TransE, RGCN)"
)


def _refusals() -> dict[type, str]:
    from pykeen.models import FixedModel, InductiveNodePiece, NodePiece

    return {NodePiece: _NODEPIECE, InductiveNodePiece: _NODEPIECE, FixedModel: _NO_REPRESENTATIONS}


def refusal(model_cls: type) -> str | None:
    """Return why a model cannot take a backfill for its entities, or ``None`` if it can.

    :param model_cls:
        A model class, e.g. from :data:`pykeen.models.model_resolver`.

    :return:
        The reason and what to do instead, or ``None``.
    """
    for klass, reason in _refusals().items():
        if issubclass(model_cls, klass):
            return reason.format(name=model_cls.__name__)
    return None


def check_entity_vectors(model_cls: type, model_kwargs: Mapping[str, Any], *, source: str = "the config") -> None:
    """Refuse an entity representation hint for a model that has no per-entity vectors.

    :param model_cls:
        The model class.
    :param model_kwargs:
        The model's keyword arguments.
    :param source:
        What to call the configuration in the message.

    :raises NoEntityVectorsError:
        If ``model_kwargs`` names entity representations (or their keyword arguments) and the model has no per-entity
        vectors to put them in place of.
    """
    if model_kwargs.get(HINT) is None and model_kwargs.get(KWARGS) is None:
        return
    reason = refusal(entity_model_class(model_cls, model_kwargs))
    if reason is not None:
        given = {key: model_kwargs[key] for key in (HINT, KWARGS) if model_kwargs.get(key) is not None}
        shown = ", ".join(f"{key}={preview(value)}" for key, value in given.items())
        raise NoEntityVectorsError(f"pipeline.model_kwargs in {source} gives {shown}, but {reason}")


def check_relation_representations(
    model_cls: type, model_kwargs: Mapping[str, Any], *, source: str = "the config"
) -> None:
    """Refuse relation representations for a model that cannot take them, before PyKEEN fails on them.

    NodePiece builds its own (its tokens), UM and the mock model have none, and TransH's relation regularizer pairs
    each relation's vector with its normal, one tensor each, which a backfill's parts cannot be.

    :param model_cls:
        The model class.
    :param model_kwargs:
        The model's keyword arguments.
    :param source:
        What to call the configuration in the message.

    :raises ConfigError:
        If ``model_kwargs`` names relation representations (or their keyword arguments) for such a model.
    """
    from pykeen.models import UM, FixedModel, InductiveNodePiece, NodePiece, TransH

    given = [key for key in (REL_HINT, REL_KWARGS) if model_kwargs.get(key) is not None]
    model_cls = entity_model_class(model_cls, model_kwargs)
    reasons = {
        NodePiece: "builds its relation representations itself, as tokens its entities share; it takes none",
        InductiveNodePiece: "builds its relation representations itself, as tokens its entities share; it takes none",
        UM: "has no relation representations",
        FixedModel: "has no representations at all",
        TransH: "regularizes each relation's vector with its normal, one tensor each, which a backfill's parts "
        "cannot be; backfill its entities only",
    }
    reason = next((why for klass, why in reasons.items() if issubclass(model_cls, klass)), None)
    if given and reason is not None:
        raise ConfigError(f"pipeline.model_kwargs in {source} gives {given}, but {model_cls.__name__} {reason}")


def entity_model_class(model_cls: type, model_kwargs: Mapping[str, Any]) -> type:
    """Return the class of the model that builds the entity representations.

    :class:`~pykeen.models.CooccurrenceFilteredModel` passes its further keyword arguments to a base model (its
    ``base``, RotatE by default); every other model builds its own.

    :param model_cls:
        The model class named in a configuration.
    :param model_kwargs:
        Its keyword arguments.

    :return:
        The class whose constructor receives the entity representation keyword arguments.
    """
    from pykeen.models import CooccurrenceFilteredModel, model_resolver

    if issubclass(model_cls, CooccurrenceFilteredModel):
        base = model_kwargs.get("base", _default(model_cls, "base"))
        inner = type(base) if isinstance(base, model_resolver.base) else model_resolver.lookup(base)
        return entity_model_class(inner, model_kwargs)
    return model_cls


def check_literals(model_cls: type, pipeline_kwargs: Mapping[str, Any], *, source: str = "the config") -> None:
    """Refuse a literal model on a dataset without numeric literals, which PyKEEN fails on with an AttributeError.

    :param model_cls:
        The model class.
    :param pipeline_kwargs:
        The ``pipeline`` entry of a configuration.
    :param source:
        What to call the configuration in the message.

    :raises ConfigError:
        If the model needs numeric literals and the dataset, given by name or as triples, has none.
    """
    from pykeen.datasets import dataset_resolver
    from pykeen.datasets.literal_base import NumericPathDataset
    from pykeen.models import LiteralModel
    from pykeen.triples import CoreTriplesFactory, TriplesNumericLiteralsFactory

    if not issubclass(model_cls, LiteralModel):
        return
    dataset, training = pipeline_kwargs.get("dataset"), pipeline_kwargs.get("training")
    if isinstance(dataset, str):
        try:
            has_literals = issubclass(dataset_resolver.lookup(dataset), NumericPathDataset)
        except (KeyError, ValueError):
            return  # a path: what it holds shows when it is read
    elif isinstance(training, CoreTriplesFactory) and dataset is None:
        has_literals = isinstance(training, TriplesNumericLiteralsFactory)
    else:
        return
    if not has_literals:
        with_literals = sorted(
            key for key, cls in dataset_resolver.lookup_dict.items() if issubclass(cls, NumericPathDataset)
        )
        given = f"dataset={preview(dataset)}" if dataset is not None else "the training triples"
        raise ConfigError(
            f"{model_cls.__name__} in {source} needs numeric literals for its entities, but {given} has none: use a "
            f"dataset with literals (e.g. {', '.join(with_literals)}) or a TriplesNumericLiteralsFactory",
        )


def ignores_extra_keywords(model_cls: type) -> bool:
    """Return whether a model takes any further keyword argument and ignores it, as PyKEEN's mock model does.

    :param model_cls:
        A model class.

    :return:
        Whether a keyword check would refuse what PyKEEN runs.
    """
    from pykeen.models import FixedModel

    return issubclass(model_cls, FixedModel)


def route_model_kwargs(
    model_cls: type, model_kwargs: Mapping[str, Any], user: Mapping[str, Any]
) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    """Take a single entity representation hint out of a model's keyword arguments, or route it into the model's own.

    What is taken out is placed where the model keeps its per-entity vectors by :func:`place_entity_representation`
    while the model is built. A list of several hints (one per representation) stays where it is: the model takes
    it as is. CompGCN builds its encoder before :class:`~pykeen.models.ERModel` sees anything, so the hints and the
    user's keyword arguments, for entities and relations, go into its ``encoder_kwargs`` here.

    :param model_cls:
        The model class.
    :param model_kwargs:
        The model's keyword arguments, without the representation keyword arguments; not modified.
    :param user:
        The user's representation keyword arguments by target (``"entity"``, ``"relation"``); not modified.

    :return:
        A triple of the keyword arguments to build the model with, the entity hint left to place while the model is
        built (``None`` if there is none, or if it has been routed here), and the user's keyword arguments left to
        merge while the model is built.

    :raises ConfigError:
        If CompGCN is given more than one mapping of keyword arguments for its entities or its relations.
    """
    from pykeen.models import CompGCN

    model_kwargs, user = dict(model_kwargs), dict(user)
    hint = model_kwargs.get(HINT)
    if isinstance(hint, (list, tuple)) and len(hint) == 1:
        # a list of one hint is one hint for every representation, as PyKEEN reads it
        (hint,) = hint
    if isinstance(hint, (list, tuple)):
        return model_kwargs, None, user
    model_kwargs.pop(HINT, None)
    model_cls = entity_model_class(model_cls, model_kwargs)
    if issubclass(model_cls, CompGCN):
        return _route_into_encoder(model_cls, model_kwargs, hint, user), None, {}
    return model_kwargs, hint, user


def _route_into_encoder(
    model_cls: type, model_kwargs: dict[str, Any], hint: Any, user: Mapping[str, Any]
) -> dict[str, Any]:
    """Put the user's hints and keyword arguments into CompGCN's ``encoder_kwargs``, over what CompGCN gives."""
    hints = {"entity": hint, "relation": model_kwargs.pop(REL_HINT, None)}
    if all(value is None for value in (*hints.values(), *user.values())):
        return model_kwargs
    encoder_kwargs = dict(model_kwargs.get("encoder_kwargs") or {})
    embedding_dim = model_kwargs.get("embedding_dim", _default(model_cls, "embedding_dim"))
    entity = encoder_kwargs.get(KWARGS) or dict(embedding_dim=embedding_dim)
    # CompGCN gives the relations the entities' keyword arguments unless told otherwise, before the user's
    defaults = {"entity": entity, "relation": encoder_kwargs.get(REL_KWARGS) or entity}
    for target, key in (("entity", KWARGS), ("relation", REL_KWARGS)):
        own = user.get(target)
        if own is not None and not isinstance(own, Mapping):
            if len(own) != 1:
                name = model_cls.__name__
                raise ConfigError(f"{name} builds one {target} representation, but {key} gives {len(own)}")
            (own,) = own
        encoder_kwargs[key] = {**defaults[target], **(own or {})}
        if hints[target] is not None:
            encoder_kwargs[f"{target}_representations"] = hints[target]
    model_kwargs["encoder_kwargs"] = encoder_kwargs
    return model_kwargs


def _default(cls: type, name: str) -> Any:
    return inspect.signature(cls.__init__).parameters[name].default


def place_entity_representation(
    representations: Any,
    kwargs: Any,
    *,
    hint: Any,
    merge: Callable[[Any], Any],
) -> tuple[Any, Any]:
    """Put a user's entity representation where a model keeps its per-entity vectors, while the model is built.

    :param representations:
        The entity representations the model passes to :class:`~pykeen.models.ERModel`.
    :param kwargs:
        Their keyword arguments, as the model passes them.
    :param hint:
        The user's entity representation hint, or ``None`` if the model got it itself.
    :param merge:
        Merges the user's keyword arguments over the ones the model gives the per-entity vectors.

    :return:
        The representations and keyword arguments to build.

    :raises NoEntityVectorsError:
        If the model's entity representations have no per-entity vectors (e.g. NodePiece's).
    :raises ConfigError:
        If the model built its entity representations itself before (e.g. CompGCN's encoder), so that a hint can only
        reach them through the model's own keyword arguments.
    """
    from pykeen.nn import CombinedRepresentation, NodePieceRepresentation, representation_resolver

    if hint is not None and isinstance(representations, representation_resolver.base):
        raise ConfigError(
            f"{HINT}={preview(hint)} cannot be placed: the model built its entity representations itself "
            f"({type(representations).__name__}); for CompGCN, give encoder_kwargs=dict({HINT}=..., {KWARGS}=...), "
            "or run it through pykeen_backfill.experiments.pipeline_from_config, which does"
        )
    cls = _lookup_class(representation_resolver, representations)
    if cls is not None and issubclass(cls, NodePieceRepresentation):
        raise NoEntityVectorsError(_NODEPIECE.format(name="A model built on NodePieceRepresentation"))
    if cls is not None and issubclass(cls, CombinedRepresentation) and isinstance(kwargs, Mapping):
        # the literal models: the first base is learned, the rest are fixed literals
        bases, bases_kwargs = list(_as_list(kwargs.get("base"))), list(_as_list(kwargs.get("base_kwargs")))
        bases[0] = bases[0] if hint is None else hint
        bases_kwargs[0] = merge(bases_kwargs[0])
        return representations, {**kwargs, "base": bases, "base_kwargs": bases_kwargs}
    if cls is not None and isinstance(kwargs, Mapping) and {HINT, KWARGS} <= _parameters(cls):
        # a message passing representation: its input features are the per-entity vectors
        inner_hint = kwargs.get(HINT) if hint is None else hint
        return representations, {**kwargs, HINT: inner_hint, KWARGS: merge(kwargs.get(KWARGS))}
    return (representations if hint is None else hint), merge(kwargs)


def _lookup_class(resolver: Any, hint: Any) -> type | None:
    if hint is None or isinstance(hint, (list, tuple)):
        return None
    if isinstance(hint, resolver.base):
        return type(hint)
    try:
        return resolver.lookup(hint)
    except (KeyError, ValueError, TypeError):
        return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return [None]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _parameters(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters)
