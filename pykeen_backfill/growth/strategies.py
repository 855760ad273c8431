"""How a grown graph is trained from an earlier run: which rows learn, on which triples, for how long.

- ``frozen``: the known rows keep their values bit for bit; only new rows learn, on the triples that touch a new id.
- ``brief``: every row learns, on all triples, for a quarter of the configured epochs: a short fine-tuning from the
  earlier run and the neighbour start.
- ``touched``: new rows learn, and so do the known rows that the graph's new triples touch; trained on the new
  triples and as many earlier triples drawn at random, for as many epochs as a quarter of a retraining's work
  allows. Known rows no new triple touches keep their values.
- ``full``: every row learns, on all triples, for all configured epochs (fine-tuning).

A strategy is applied to a built model by :func:`restrict_rows`, which masks the gradients of the rows that must not
learn and adds the pull to those of the touched known rows; the hooks are removed when training is done.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from pykeen.training.callbacks import TrainingCallback

from ..errors import OptionValueError

__all__ = [
    "DEFAULT_STRATEGY",
    "STRATEGIES",
    "RestrictRows",
    "Strategy",
    "get_strategy",
    "new_triples",
    "replayed",
    "restrict_rows",
    "touched_ids",
]


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One way to train a grown graph from an earlier run."""

    #: the name, as ``grow --strategy`` takes it
    name: str
    #: which known rows learn: ``"none"``, ``"touched"`` (those the new triples touch) or ``"all"``
    known_rows: str
    #: which triples are trained on: ``"touching-new"`` (with a new id), ``"new"`` (not in the earlier graph) or
    #: ``"all"``
    triples: str
    #: the fraction of the configured epochs trained (at least one epoch); ignored where :attr:`budget` is given
    epochs: float = 1.0
    #: the weight of the pull of learning known rows towards their earlier values (``loss + pull * ||x - x_old||^2``)
    pull: float = 0.0
    #: with ``triples="new"``: how many earlier triples are trained on too, drawn at random, per new triple
    replay: float = 0.0
    #: the epochs as a fraction of a retraining's work: as many epochs of the trained triples as ``budget`` times the
    #: configured epochs of all triples would take (at least one, at most the configured epochs)
    budget: float | None = None

    def num_epochs(self, configured: int, trained: int | None = None, total: int | None = None) -> int:
        """Return the epochs this strategy trains for a configuration's ``num_epochs``.

        :param configured:
            The configured number of epochs.
        :param trained:
            The number of triples trained on (for :attr:`budget`).
        :param total:
            The number of triples of the grown graph (for :attr:`budget`).

        :return:
            The number of epochs, at least 1.
        """
        if self.budget is not None and trained and total:
            return max(1, min(configured, round(self.budget * configured * total / trained)))
        return max(1, round(self.epochs * configured))


#: the strategies by name
STRATEGIES: dict[str, Strategy] = {
    "frozen": Strategy("frozen", known_rows="none", triples="touching-new", epochs=1.0),
    "brief": Strategy("brief", known_rows="all", triples="all", epochs=0.25),
    "touched": Strategy("touched", known_rows="touched", triples="new", replay=1.0, budget=0.25),
    "full": Strategy("full", known_rows="all", triples="all", epochs=1.0),
}

#: the strategy ``grow`` uses unless told otherwise
DEFAULT_STRATEGY = "brief"


def get_strategy(strategy: str | Strategy) -> Strategy:
    """Return a strategy by name, or the given one.

    :param strategy:
        A name of :data:`STRATEGIES` or a :class:`Strategy`.

    :return:
        The strategy.

    :raises OptionValueError:
        If no strategy has that name.
    """
    if isinstance(strategy, Strategy):
        return strategy
    if strategy not in STRATEGIES:
        raise OptionValueError(f"strategy must be one of {sorted(STRATEGIES)}, but got {strategy!r}")
    return STRATEGIES[strategy]


def new_triples(triples: torch.Tensor, earlier: torch.Tensor | None, num_ids: Sequence[int]) -> torch.Tensor:
    """Tell which triples the earlier graph did not have.

    :param triples:
        shape: ``(n, 3)``; the grown graph's triples, by id.
    :param earlier:
        shape: ``(m, 3)``; the earlier graph's triples in the same ids (triples of ids the grown graph lacks removed),
        or ``None`` if they are unknown: then every triple is new.
    :param num_ids:
        The numbers of entities and relations of the grown graph.

    :return:
        shape: ``(n,)``, bool.
    """
    if earlier is None:
        return torch.ones(len(triples), dtype=torch.bool)
    num_entities, num_relations = num_ids

    def keys(x: torch.Tensor) -> torch.Tensor:
        return (x[:, 0] * num_relations + x[:, 1]) * num_entities + x[:, 2]

    return ~torch.isin(keys(triples), keys(earlier))


def replayed(selected: torch.Tensor, replay: float, seed: int = 0) -> torch.Tensor:
    """Add a random draw of the triples not selected, ``replay`` of them per selected triple (all, if fewer).

    :param selected:
        shape: ``(n,)``, bool; e.g. the new triples.
    :param replay:
        How many of the other triples to add per selected one.
    :param seed:
        The seed of the draw.

    :return:
        shape: ``(n,)``, bool; the selected triples and the drawn ones.
    """
    others = (~selected).nonzero().squeeze(1)
    wanted = min(len(others), round(replay * int(selected.sum())))
    out = selected.clone()
    if wanted:
        generator = torch.Generator().manual_seed(seed)
        out[others[torch.randperm(len(others), generator=generator)[:wanted]]] = True
    return out


def touched_ids(triples: torch.Tensor, num_entities: int, num_relations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return which entities and relations some of the given triples touch.

    :param triples:
        shape: ``(n, 3)``; e.g. the grown graph's new triples.
    :param num_entities:
        The number of entities.
    :param num_relations:
        The number of relations.

    :return:
        Two bool masks, shape ``(num_entities,)`` and ``(num_relations,)``.
    """
    entities = torch.zeros(num_entities, dtype=torch.bool)
    entities[triples[:, 0]] = True
    entities[triples[:, 2]] = True
    relations = torch.zeros(num_relations, dtype=torch.bool)
    relations[triples[:, 1]] = True
    return entities, relations


def _row_parameters(representation: Any) -> Iterator[tuple[torch.nn.Parameter, torch.Tensor]]:
    """Yield each trainable row-wise parameter of a backfill's bases with the global ids of its rows."""
    start = 0
    ids = representation.base_ids
    for base in representation.bases:
        rows = ids[start : start + base.max_id]
        start += base.max_id
        for parameter in base.parameters():
            if parameter.requires_grad and parameter.ndim >= 1 and parameter.shape[0] == base.max_id:
                yield parameter, rows


def _hook(parameter: torch.Tensor, learn: torch.Tensor, pull: float) -> Callable[[torch.Tensor], torch.Tensor]:
    shape = (-1,) + (1,) * (parameter.ndim - 1)
    mask = learn.to(parameter.device).reshape(shape).to(parameter.dtype)
    earlier: list[torch.Tensor] = []

    def hook(grad: torch.Tensor) -> torch.Tensor:
        # the values at the first step are the earlier run's: the model's reset before training has restored them
        if not earlier:
            earlier.append(parameter.detach().clone())
        if pull:
            grad = grad + 2 * pull * (parameter.detach() - earlier[0])
        return grad * mask

    return hook


def restrict_rows(representation: Any, learn: torch.Tensor, pull: float = 0.0) -> list[Any]:
    """Let only some of the known rows of a backfill representation learn, pulled towards their earlier values.

    The gradient of every other row of the bases is zero at every step, so optimizers such as Adam or SGD without
    weight decay leave those rows exactly as they are; the backfill's rows learn as usual.

    :param representation:
        A :class:`~pykeen_backfill.BackfillRepresentation` whose bases are trainable.
    :param learn:
        shape: ``(max_id,)``, bool; the ids whose known rows learn.
    :param pull:
        The weight of ``||x - x_old||^2`` per learning row, added to the loss; ``0``: no pull.

    :return:
        The hook handles; call ``remove()`` on each when training is done (a model with hooks does not pickle).
    """
    handles = []
    for parameter, rows in _row_parameters(representation):
        handles.append(parameter.register_hook(_hook(parameter, learn[rows], pull)))
    return handles


class RestrictRows(TrainingCallback):
    """A PyKEEN training callback that lets only some known rows learn while a model trains, see :func:`restrict_rows`.

    The hooks go on when the training loop is registered and come off after training, so the trained model pickles.
    """

    def __init__(self, learn: Mapping[str, torch.Tensor], pull: float = 0.0) -> None:
        """Initialize the callback.

        :param learn:
            Per target (``"entity"``, ``"relation"``), a bool mask of the ids whose known rows learn.
        :param pull:
            The weight of the pull towards the earlier values, see :func:`restrict_rows`.
        """
        super().__init__()
        self.learn = dict(learn)
        self.pull = pull
        self.handles: list[Any] = []

    def register_training_loop(self, training_loop: Any) -> None:  # noqa: D102
        from ..representation import BackfillRepresentation

        super().register_training_loop(training_loop)
        model = training_loop.model
        for target, representations in (
            ("entity", model.entity_representations),
            ("relation", model.relation_representations),
        ):
            if target in self.learn and representations and isinstance(representations[0], BackfillRepresentation):
                self.handles += restrict_rows(representations[0], self.learn[target], self.pull)

    def post_train(self, losses: list[float], **kwargs: Any) -> None:  # noqa: D102
        self.remove()

    def remove(self) -> None:
        """Remove the hooks; safe to call more than once."""
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
