"""The conversational evaluation's metric: dedup and recall on tiny cases."""
from __future__ import annotations

import pytest

from benchmarks.conversations import dedup, evaluate, percentile, recall_at
from recommender.engine.dialogues import SuggestionTurn


def test_dedup_removes_mentioned_items_from_ranking_and_targets():
    ranking, targets = dedup(["a", "b", "c", "b", "d"], ["b", "d", "e"], mentioned=["b", "x"])
    assert ranking == ["a", "c", "d"]
    assert targets == ["d", "e"]


def test_recall_at_k():
    ranking = ["a", "b", "c", "d"]
    assert recall_at(ranking, ["c", "z"], 1) == 0.0
    assert recall_at(ranking, ["c", "z"], 3) == 0.5
    assert recall_at(ranking, ["a", "d"], 4) == 1.0
    assert recall_at(ranking, [], 4) == 0.0


def test_evaluate_scores_after_dedup():
    # Mentioned "m" would be a hit if kept; dedup drops it from the ranking, so "t" moves to rank 1.
    turn = SuggestionTurn(index=1, context={"m": 1.0}, suggested=["m", "t"], messages=[])
    result = evaluate("x", [("c", turn)], lambda t: ["m", "t", "u"])
    assert result.recall[1] == pytest.approx(1.0)
    assert result.turns == 1
    other = evaluate("y", [("c", turn)], lambda t: ["u", "m", "v"])
    assert other.recall[1] == 0.0 and other.recall[50] == 0.0


def test_percentile_nearest_rank():
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 95) == 0.0
