"""Every model in PyKEEN's model resolver trains with a backfill, or is refused with the documented error.

The models are read from :data:`pykeen.models.model_resolver`, so a model that a new PyKEEN adds is tried too; the
table in ``docs/models.rst`` is written by the same code and must match.
"""

from __future__ import annotations

import pathlib

import pytest
from model_matrix import Outcome, model_keys, render_table, try_model
from pykeen.models import model_resolver

DOCS = pathlib.Path(__file__).parent.parent / "docs" / "models.rst"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    return [try_model(key) for key in model_keys()]


def test_every_model_trains_or_is_refused(outcomes: list[Outcome]) -> None:
    assert [outcome.key for outcome in outcomes] == sorted(model_resolver.lookup_dict)
    failed = {outcome.key: outcome.detail for outcome in outcomes if outcome.status == "fails"}
    assert not failed
    # a refusal names the model and says what to do instead
    for outcome in outcomes:
        if outcome.status == "refused":
            assert outcome.name in outcome.detail and "use" in outcome.detail


def test_rgcn_compgcn_and_the_literal_models_train(outcomes: list[Outcome]) -> None:
    by_key = {outcome.key: outcome for outcome in outcomes}
    for key in ("rgcn", "compgcn", "distmultliteral", "complexliteral", "cooccurrencefiltered"):
        assert by_key[key].status == "trains", by_key[key]


def test_docs_table_is_current(outcomes: list[Outcome]) -> None:
    import pykeen

    # the table is written for one PyKEEN version; on another, the models themselves may differ
    if f"PyKEEN {pykeen.get_version()}'s" not in DOCS.read_text(encoding="utf-8"):
        pytest.skip(f"docs/models.rst was generated with another PyKEEN version than {pykeen.get_version()}")
    assert DOCS.read_text(encoding="utf-8") == render_table(outcomes), (
        "docs/models.rst is stale: python tests/model_matrix.py docs/models.rst"
    )
