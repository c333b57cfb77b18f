"""The conversational evaluation's metric: dedup and recall on tiny cases."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from benchmarks.conversations import dedup, evaluate, every_linked_target, percentile, recall_at
from recommender.engine.dialogues import Dialogue, DialogueTurn, SuggestionTurn


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


def test_no_dedup_recall_counts_every_linked_film_a_turn_names_repeats_included():
    dialogue = Dialogue("7", [DialogueTurn("user", "I loved A", ["1"]),
                              DialogueTurn("assistant", "Try A again, or B, or C", ["1", "2", "3", "1"])], {})
    setup = SimpleNamespace(train=[], dev=[dialogue], links={"7": {"1": "m", "2": "t", "3": None}})
    every = every_linked_target(setup)
    assert every == {("7", 0): ["m"], ("7", 1): ["m", "t"]}  # C is not in the catalog; A counted once
    turn = SuggestionTurn(index=1, context={"m": 1.0}, suggested=["t"], messages=[])
    result = evaluate("x", [("7", turn)], lambda t: ["t", "u"], every_target=every)
    assert result.recall[1] == 1.0 and result.raw_recall == {1: 0.5, 10: 0.5, 50: 0.5}
    assert evaluate("y", [("7", turn)], lambda t: ["t"]).raw_recall is None


def test_percentile_nearest_rank():
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 95) == 0.0


# ---------------------------------------------------------------- --llm


def test_the_llm_run_refuses_the_scripted_and_the_absent_backend(settings):
    from benchmarks.conversations import configured_backend

    for kind in ("fake", "none"):
        settings.CHATREC_LLM = {**settings.CHATREC_LLM, "backend": kind}
        with pytest.raises(SystemExit, match="real model"):
            configured_backend()


def test_the_llm_run_asks_each_structured_prompt_once_and_tallies_what_the_steps_did():
    from types import SimpleNamespace

    from benchmarks.conversations import LLMTally, RepliesOnce
    from recommender.engine.llm import FakeBackend

    backend = FakeBackend(default="{}")
    once = RepliesOnce(backend)
    assert once.complete("read", max_tokens=9, schema={"a": 1}) == once.complete("read", max_tokens=9, schema={"a": 1})
    once.complete("suggest", max_tokens=9)
    assert len(backend.calls) == 2 and len(once.seconds) == 2
    tally = LLMTally()
    tally.see(SimpleNamespace(extra={"llm": {"read": {"applied": True, "changed": {"mentions": {"1": "liked"},
                                                                                     "include": {"genres": ["X"]}}},
                                             "candidates": {"applied": True, "suggested": ["1", "2"], "allowed": ["2"]}}}))
    tally.see(SimpleNamespace(extra={"llm": {"read": {"applied": False, "reason": "invalid reply"},
                                             "candidates": {"applied": False, "reason": "no answer within budget"}}}))
    tally.see(SimpleNamespace(extra={}))
    assert (tally.turns, tally.readings, tally.added, tally.suggested, tally.allowed, tally.failed) == (3, 1, 2, 2, 1, 1)
