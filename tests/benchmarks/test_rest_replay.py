"""benchmarks.rest_replay: each stored version really serves its rows, and the version active before is again."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks import rest_replay
from recommender import selectors
from recommender.models import ModelVersion
from tests.chat.conftest import catalog, quiet_engine  # noqa: F401 - fixtures used by name
from tests.chat.test_with_model import FAST_CONFIG, trained  # noqa: F401 - fixture used by name

pytestmark = pytest.mark.django_db


def test_half_of_reads_the_conversation_id():
    assert rest_replay.half_of("120") == 0 and rest_replay.half_of("35") == 5 and rest_replay.half_of("x") is None


def test_each_version_serves_its_own_rows_and_the_active_one_is_restored(trained, monkeypatch):  # noqa: F811
    from recommender.services.training import model_activate, model_train

    first = ModelVersion.objects.get(is_active=True)
    model_train(config=FAST_CONFIG)
    second = ModelVersion.objects.get(is_active=True)
    model_activate(version=first)
    selectors.reset_caches()
    served: list[str] = []

    def recommend(messages, k):
        served.append(str(selectors.active_bundle().path))
        return ["ml-313", "ml-56"]

    monkeypatch.setattr(rest_replay, "recommend_for_dialogue", recommend)
    turn = SimpleNamespace(messages=[{"role": "user", "content": "I loved Fargo"}], context=[], suggested=["ml-56"],
                           index=3)
    # No-dedup targets: the suggested film and one named earlier in the dialogue, which the ranking leaves out.
    every_target = {(cid, 3): ["ml-56", "ml-1"] for cid in ("10", "15", "11")}
    rows = rest_replay.replay([("10", turn), ("15", turn), ("11", turn)], [second, first],
                              [{}, {"retrieval": 1.0}], every_target)
    # Neither tiny version has a trained encoder, so the retrieval weighting is skipped; conversation 11's turn
    # belongs to neither half.
    assert [(r["version"], r["encoder"], r["retrieval"]) for r in rows] == [(second.name, False, None),
                                                                           (first.name, False, None)]
    assert served == [second.path] * 2 + [first.path] * 2
    assert rows[0]["tuning half"] == (1, {1: 0.0, 10: 1.0, 50: 1.0})
    assert rows[0]["development split"][0] == 2
    assert rows[0]["no-dedup"] == {1: 0.0, 10: 0.5, 50: 0.5}
    assert ModelVersion.objects.get(is_active=True) == first
    table = rest_replay.markdown(rows)
    assert f"| {second.name} | no | – | 0.000 / 1.000 / 1.000 (1) |" in table
    assert "| 0.000 / 1.000 / 1.000 (2) | 0.000 / 0.500 / 0.500 |" in table
