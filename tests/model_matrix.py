"""Try a backfill in every model of PyKEEN's model resolver, and write the table of what works.

Each model in :data:`pykeen.models.model_resolver` (whatever PyKEEN version is installed, so a new model is tried
the day it appears) is trained for one tiny epoch on Nations (the literal models on ``nationsliteral``) through
:func:`~pykeen_backfill.experiments.pipeline_from_config`, with ``entity_representations: "backfill"`` and half of the
entities in a frozen base. A model *trains* if its frozen rows are bit-identical after training and some backfilled
row changed; it is *refused* if it raises the documented
:class:`~pykeen_backfill.errors.NoEntityVectorsError`; anything else *fails*.

The same code writes ``docs/models.rst``, from the root of a checkout::

    python tests/model_matrix.py docs/models.rst

and ``tests/test_models_matrix.py`` checks that the committed table is what it writes. It is a test harness and a
docs generator, not part of the installed package.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import torch
from pykeen.training.callbacks import TrainingCallback

__all__ = [
    "Outcome",
    "model_keys",
    "matrix_config",
    "try_model",
    "render_table",
    "main",
]

#: the model keyword arguments that keep one epoch tiny, where a model takes them
TINY = {"embedding_dim": 8, "relation_dim": 8, "num_layers": 1, "num_filters": 2, "num_slices": 2}
#: where a model's defaults need more than :data:`TINY` to be small or valid on Nations
OVERRIDES: dict[str, dict[str, Any]] = {
    "conve": {"embedding_height": 2, "embedding_width": 4, "output_channels": 2},
    "crosse": {"embedding_dim": 8},
    "tucker": {"relation_dim": 8},
}
#: where a model needs more of the pipeline than the defaults
PIPELINE_OVERRIDES: dict[str, dict[str, Any]] = {
    "compgcn": {"dataset_kwargs": {"create_inverse_triples": True}},
}
#: the dataset every model is tried on
DATASET = "nations"
#: the same, with numeric literals, for the literal models
LITERAL_DATASET = "nationsliteral"

Status = Literal["trains", "refused", "pykeen", "fails"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What happened when one model was trained with a backfill."""

    #: the model's key in :data:`pykeen.models.model_resolver`
    key: str
    #: the model class's name
    name: str
    #: whether it trained with its frozen rows unchanged, was refused with the documented error, failed in PyKEEN
    #: without a backfill too, or failed
    status: Status
    #: for a model that trains, where the backfill sits (module paths); else the error message
    detail: str


def model_keys() -> list[str]:
    """Return the keys of every model in PyKEEN's model resolver, sorted."""
    from pykeen.models import model_resolver

    return sorted(model_resolver.lookup_dict)


def matrix_config(key: str, *, base_ids: Sequence[int]) -> dict[str, Any]:
    """Return the configuration a model is tried with: one tiny epoch with half of the entities in a frozen base.

    :param key:
        The model's key in :data:`pykeen.models.model_resolver`.
    :param base_ids:
        The entity ids the frozen base serves.

    :return:
        A configuration for :func:`~pykeen_backfill.experiments.pipeline_from_config`.
    """
    from pykeen.models import LiteralModel, model_resolver

    from pykeen_backfill.representation.kwargs import keywords_accepted_by

    cls = model_resolver.lookup(key)
    accepted = keywords_accepted_by(cls) or frozenset()
    model_kwargs: dict[str, Any] = {name: value for name, value in TINY.items() if name in accepted}
    model_kwargs.update(OVERRIDES.get(key, {}))
    model_kwargs["entity_representations"] = "backfill"
    model_kwargs["entity_representations_kwargs"] = {"base_ids": list(base_ids), "base_kwargs": {"trainable": False}}
    pipeline: dict[str, Any] = {
        "model": key,
        "model_kwargs": model_kwargs,
        "training_kwargs": {"num_epochs": 1, "batch_size": 512, "use_tqdm": False},
        "evaluation_kwargs": {"batch_size": 256, "use_tqdm": False},
        "random_seed": 0,
        **PIPELINE_OVERRIDES.get(key, {}),
    }
    # the literal models need numeric literals: PyKEEN ships Nations with some
    pipeline["dataset"] = LITERAL_DATASET if issubclass(cls, LiteralModel) else DATASET
    return {"metadata": {"title": f"{key} with a backfill"}, "pipeline": pipeline}


def try_model(key: str) -> Outcome:
    """Train one model for one tiny epoch with a backfill, see :func:`matrix_config`, and tell what happened.

    :param key:
        The model's key in :data:`pykeen.models.model_resolver`.

    :return:
        The outcome.
    """
    from pykeen.datasets import get_dataset
    from pykeen.models import model_resolver

    from pykeen_backfill.errors import NoEntityVectorsError
    from pykeen_backfill.experiments import pipeline_from_config
    from pykeen_backfill.experiments.routes import entity_model_class, refusal

    cls = model_resolver.lookup(key)
    name = cls.__name__
    num_entities = get_dataset(dataset=DATASET).num_entities
    config = matrix_config(key, base_ids=range(0, num_entities, 2))
    snapshot = Snapshot()
    config["pipeline"]["training_kwargs"]["callbacks"] = snapshot
    try:
        result = pipeline_from_config(config)
    except NoEntityVectorsError as error:
        # the table shows the reason alone, without the configuration's values
        reason = refusal(entity_model_class(cls, config["pipeline"]["model_kwargs"])) or str(error)
        return Outcome(key=key, name=name, status="refused", detail=reason)
    except Exception as error:  # noqa: BLE001 -- the matrix reports every failure, of whatever type
        return _failure(key, name, config, error)
    problem = snapshot.compare(result.model)
    if problem is not None:
        return Outcome(key=key, name=name, status="fails", detail=problem)
    return Outcome(key=key, name=name, status="trains", detail=", ".join(_backfill_paths(result.model)))


def _failure(key: str, name: str, config: dict[str, Any], error: Exception) -> Outcome:
    """Tell whether a model fails because of the backfill, or without it too."""
    from pykeen.pipeline import pipeline

    plain = dict(config["pipeline"])
    plain["model_kwargs"] = {
        k: v
        for k, v in plain["model_kwargs"].items()
        if k not in {"entity_representations", "entity_representations_kwargs"}
    }
    plain["training_kwargs"] = {k: v for k, v in plain["training_kwargs"].items() if k != "callbacks"}
    try:
        pipeline(**plain)
    except Exception as plain_error:  # noqa: BLE001 -- any failure without a backfill is PyKEEN's own
        return Outcome(key=key, name=name, status="pykeen", detail=f"{type(plain_error).__name__}: {plain_error}")
    return Outcome(key=key, name=name, status="fails", detail=f"{type(error).__name__}: {error}")


def _backfill_paths(model: Any) -> list[str]:
    from pykeen_backfill.representation import BackfillRepresentation

    return [path for path, module in model.named_modules() if isinstance(module, BackfillRepresentation)]


def _rows(model: Any) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Return copies of the base's and the backfill's rows of every backfill in a model, by module path."""
    from pykeen_backfill.representation import BackfillRepresentation

    rows = {}
    with torch.no_grad():
        for path, module in model.named_modules():
            if isinstance(module, BackfillRepresentation):
                rows[path] = (module.base(indices=None).clone(), module.backfill(indices=None).clone())
    return rows


class Snapshot(TrainingCallback):
    """A training callback that keeps a copy of every backfill's rows before the first step."""

    def __init__(self) -> None:
        super().__init__()
        self.before: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None

    def pre_batch(self, **kwargs: Any) -> None:
        """Copy the rows before the first batch changes anything."""
        if self.before is None:
            self.before = _rows(self.model)

    def compare(self, model: Any) -> str | None:
        """Return what went wrong with a trained model's backfills, or ``None`` if nothing did.

        :param model:
            The trained model.

        :return:
            A message if a model has no backfill, its frozen rows changed, or its backfilled rows did not.
        """
        after = _rows(model)
        if not after:
            return "no BackfillRepresentation in the trained model"
        if self.before is None or self.before.keys() != after.keys():
            return "the backfills changed during training"
        for path, (known, new) in after.items():
            if not torch.equal(known, self.before[path][0]):
                return f"the frozen rows of {path} changed in training"
            if torch.equal(new, self.before[path][1]):
                return f"the backfilled rows of {path} did not change in training"
        return None


#: how a backfill reaches each kind of model; the table below shows it for each model
HOW = [
    "Where the backfill goes",
    "-----------------------",
    "",
    "A backfill takes the place of a model's trainable per-entity vectors:",
    "",
    "- most models give ``entity_representations`` to :class:`~pykeen.models.ERModel`, which builds one vector per",
    "  entity from it: the backfill is that representation (for several, e.g. TransD's projections, each one);",
    "- RGCN passes messages over per-entity input features: the backfill is those features, and the message passing",
    "  on top trains as usual;",
    "- CompGCN builds an encoder from ``encoder_kwargs``: the backfill is the encoder's entity input;",
    "- the literal models combine learned vectors with fixed numeric literals: the backfill is the learned part, the",
    "  literals stay as they are (in Python, as for RGCN);",
    "- CooccurrenceFilteredModel hands everything to its base model, the backfill included;",
    "- NodePiece and its inductive variants have no per-entity vectors: an entity is its tokens (anchors and",
    "  relations), and a new entity gets a representation from its tokens without any backfill. A backfill for them",
    "  is refused before training with :class:`~pykeen_backfill.errors.NoEntityVectorsError`, as for the mock model",
    "  that has no representations at all.",
    "",
    'A configuration file says ``entity_representations: "backfill"`` for all of them alike. In Python, RGCN and',
    "the literal models name their own entity representations, so they are built through",
    ":func:`~pykeen_backfill.experiments.with_representation_kwargs`; CompGCN takes the backfill in its",
    "``encoder_kwargs`` and needs nothing of ours. Here the first seven entities of Nations are the known ones:",
    "",
    ".. code-block:: python",
    "",
    "    from pykeen.datasets import get_dataset",
    "    from pykeen.models import RGCN, CompGCN",
    "",
    "    from pykeen_backfill.experiments import with_representation_kwargs",
    "",
    '    training = get_dataset(dataset="nations").training',
    "    known_ids = list(range(7))",
    "    backfilled = with_representation_kwargs(",
    '        RGCN, entity_representations="backfill", entity=dict(base_ids=known_ids)',
    "    )",
    "    rgcn = backfilled(triples_factory=training, embedding_dim=32)",
    "    # CompGCN needs the inverse triples",
    '    inverse = get_dataset(dataset="nations", dataset_kwargs=dict(create_inverse_triples=True)).training',
    "    compgcn = CompGCN(",
    "        triples_factory=inverse,",
    "        encoder_kwargs=dict(",
    '            entity_representations="backfill",',
    "            entity_representations_kwargs=dict(embedding_dim=32, base_ids=known_ids),",
    "            relation_representations_kwargs=dict(embedding_dim=32),",
    "        ),",
    "    )",
    "",
    "Every model",
    "-----------",
    "",
]

STATUS_TEXT = {
    "trains": "trains; frozen rows bit-identical",
    "refused": "refused with NoEntityVectorsError",
    "pykeen": "fails in PyKEEN without a backfill too",
    "fails": "FAILS",
}


def render_table(outcomes: Iterable[Outcome]) -> str:
    """Render outcomes as the reStructuredText page ``docs/models.rst``.

    :param outcomes:
        The outcomes, e.g. of :func:`try_model` for every key of :func:`model_keys`.

    :return:
        The page's text.
    """
    import pykeen

    outcomes = list(outcomes)
    lines = [
        "Models",
        "======",
        "",
        f"Every model in PyKEEN {pykeen.get_version()}'s model resolver, trained for one epoch on Nations (the",
        "literal models on ``nationsliteral``, Nations with numeric literals, which PyKEEN ships) with",
        '``entity_representations: "backfill"`` and half of the entities in a frozen base, through',
        ":func:`pykeen_backfill.experiments.pipeline_from_config` (``pykeen-backfill run`` does the same). *Backfill*",
        "names the module path of each backfill in the trained model; a model that is refused says why and what to do",
        "instead. Generated by ``python tests/model_matrix.py docs/models.rst``, from the code that",
        "``tests/test_models_matrix.py`` runs; that test fails when this page is stale.",
        "",
        *HOW,
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 15 20 65",
        "",
        "   * - Model",
        "     - Result",
        "     - Backfill, or why not",
    ]
    for outcome in outcomes:
        lines += [
            f"   * - ``{outcome.key}`` ({outcome.name})",
            f"     - {STATUS_TEXT[outcome.status]}",
            f"     - {_cell(outcome)}",
        ]
    trains = sum(outcome.status == "trains" for outcome in outcomes)
    refused = sum(outcome.status == "refused" for outcome in outcomes)
    lines += ["", f"{trains} of {len(outcomes)} models train with a backfill; {refused} are refused.", ""]
    return "\n".join(lines)


def _cell(outcome: Outcome) -> str:
    if outcome.status == "trains":
        return ", ".join(f"``{path}``" for path in outcome.detail.split(", "))
    return outcome.detail.replace("\n", " ").replace("*", r"\*")


def main(argv: Sequence[str] | None = None) -> int:
    """Try every model and write the table to the path given as the only argument, or print it.

    :param argv:
        The command-line arguments, without the program name.

    :return:
        The exit status: 1 if some model fails, else 0.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    outcomes = [try_model(key) for key in model_keys()]
    text = render_table(outcomes)
    if argv:
        pathlib.Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return int(any(outcome.status == "fails" for outcome in outcomes))


if __name__ == "__main__":
    sys.exit(main())
