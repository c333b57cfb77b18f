"""The LLM's reading of a dialogue and its suggested titles: strict validation, catalog grounding, merging, budget."""
from __future__ import annotations

import json
import time

import pytest

from recommender.engine.conversation import ConversationTurn, ServingCatalog, TurnInput, collect
from recommender.engine.llm import FakeBackend, LLMError
from recommender.engine.llm.candidates import add_suggestions, parse_suggestions
from recommender.engine.llm.reading import (
    READING_SCHEMA,
    DialogueReading,
    link_title,
    merge_reading,
    parse_reading,
)
from recommender.engine.llm.turn import LLMSteps
from recommender.engine.types import ScoredItem
from recommender.engine.understanding import ConversationState, apply_assistant, understand
from tests.engine.test_conversation import records


@pytest.fixture(scope="module")
def catalog() -> ServingCatalog:
    return ServingCatalog.build(records(), {"2": 4.0, "3": 3.0, "1": 2.0, "5": 1.0})


def reading(items=(), wished=(), refused=(), years=None, wants=True, **extra) -> str:
    data = {"items": [{"title": t, "year": y, "sentiment": s} for t, y, s in items], "wished": list(wished),
            "refused": list(refused), "years": years or {"from": None, "to": None}, "wants_recommendations": wants}
    return json.dumps({**data, **extra})


class SchemaBackend(FakeBackend):
    """A scripted backend that records the schema each structured call asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.schemas: list = []

    def complete(self, prompt, *, max_tokens=64, stop=None, temperature=0.0, schema=None):
        self.schemas.append(schema)
        return super().complete(prompt, max_tokens=max_tokens, stop=stop, temperature=temperature)


def script(read: str = "", titles: str = "") -> SchemaBackend:
    return SchemaBackend(replies={"Read this conversation": read, "You are a recommender": titles})


# ---------------------------------------------------------------- validation and grounding


def test_a_valid_reading_is_grounded_in_the_catalog(catalog):
    raw = "```json\n" + reading(items=[("Fargo", 1996, "liked"), ("The Lion King", None, "disliked"),
                                       ("Casablanca", 1942, "liked"), ("Alien (1979)", None, "seen")],
                                wished=["sci fi", "hats"], refused=["horror"],
                                years={"from": 1980, "to": 1999}) + "\n```"
    got = parse_reading(raw, catalog.index)
    assert got is not None
    assert got.items == {"3": "liked", "6": "disliked", "7": "seen"}  # Casablanca is not in the catalog
    assert got.include == {"genres": ["Sci-Fi"]} and got.exclude == {"genres": ["Horror"]}
    assert got.ranges == {"year": [1980, 1999]}
    assert "Casablanca" in got.dropped and "hats" in got.dropped and got.wants_recommendations


@pytest.mark.parametrize("raw", [
    "not json at all",
    '{"items": [}',
    reading(extra_field=1),                                           # an unknown field
    reading(wants="yes"),                                             # a wrong type
    json.dumps({"items": [{"title": "Fargo", "year": "1996", "sentiment": "liked"}]}),
    json.dumps({"items": [{"title": "Fargo", "year": None, "sentiment": "adored"}]}),
    json.dumps({"items": [{"title": "Fargo", "year": None, "sentiment": "liked", "why": "x"}]}),
    json.dumps({"wished": [3]}),
    json.dumps({"years": {"from": 1990, "to": 1999, "decade": 1990}}),
    "[1, 2, 3]",
])
def test_a_malformed_reply_is_ignored_as_a_whole(catalog, raw):
    assert parse_reading(raw, catalog.index) is None


@pytest.mark.parametrize(("raw", "valid"), [
    (json.dumps({"items": []}), False),                                  # the schema requires every field
    (reading(items=[("Fargo", 1996, "liked")] * 7), False),             # past the schema's maxItems: not cut short
    (reading(items=[("Fargo", 1700, "liked")]), False),                 # outside the schema's year bounds
    (reading(wished=["comedy " * 40]), True),                           # no length rule beyond the schema's
    (reading(items=[("Fargo", 1996.0, "liked")]), True),                # JSON has one number type: 1996.0 is 1996
])
def test_a_reply_is_accepted_exactly_when_the_schema_sent_to_the_model_accepts_it(catalog, raw, valid):
    from jsonschema import Draft202012Validator

    assert Draft202012Validator(READING_SCHEMA).is_valid(json.loads(raw)) is valid
    assert (parse_reading(raw, catalog.index) is not None) is valid


def test_suggestions_are_checked_against_their_schema(catalog):
    assert parse_suggestions(json.dumps({"titles": [{"title": "Fargo", "year": 1996}]}), catalog.index) == ["3"]
    assert parse_suggestions(json.dumps({"titles": [{"title": "Fargo"}]}), catalog.index) is None  # year required
    assert parse_suggestions(json.dumps({"titles": [{"title": "Fargo", "year": None}] * 9}), catalog.index) is None


def test_a_title_links_only_when_its_year_agrees(catalog):
    assert link_title(catalog.index, "Fargo", 1996) == "3"
    assert link_title(catalog.index, "Fargo (1996)") == "3"
    assert link_title(catalog.index, "Fargo", 2014) is None
    assert link_title(catalog.index, "Casablanca") is None


# ---------------------------------------------------------------- merging


def test_merging_adds_what_the_rules_missed_and_keeps_what_they_found(catalog):
    state = ConversationState()
    state.apply(understand("I hated Titanic, something with comedy please", state=state, catalog=catalog.index))
    assert state.disliked == ["5"] and state.include == {"genres": ["Comedy"]}
    got = DialogueReading(items={"5": "liked", "3": "liked", "7": "disliked"},
                          include={"genres": ["Drama"]}, exclude={"genres": ["Comedy", "Horror"]},
                          ranges={"year": [1990, 1999]})
    changed = merge_reading(state, got)
    assert state.disliked == ["5", "7"] and "5" not in state.liked  # the rules' dislike is not turned around
    assert state.liked == ["3"] and state.mentions["3"] == "liked"
    assert state.include == {"genres": ["Comedy"]}  # the rules' slot stays as they read it
    assert state.exclude == {"genres": ["Horror"]}  # a refused value the person asked for is skipped
    assert state.ranges == {"year": [1990, 1999]}  # an empty slot is filled
    assert changed["mentions"] == {"3": "liked", "7": "disliked"}


def test_a_neutral_mention_gains_the_sentiment_and_a_suggestion_its_reaction(catalog):
    state = ConversationState()
    state.apply(understand("what about Fargo?", state=state, catalog=catalog.index))
    apply_assistant(state, "", catalog.index, item_ids=["4"])
    merge_reading(state, DialogueReading(items={"3": "liked", "4": "disliked"}))
    assert state.mentions["3"] == "liked" and "3" in state.liked
    assert state.reactions()["4"] == "disliked" and "4" in state.profile().disliked


# ---------------------------------------------------------------- in the turn


def test_the_turn_reads_the_dialogue_with_the_llm_and_asks_for_the_schema(catalog):
    backend = script(read=reading(items=[("Star Wars", 1977, "liked")], wished=["comedy"]))
    state = ConversationState()
    plan = collect(TurnInput(text="any ideas for tonight?", state=state, catalog=catalog, backend=backend,
                             llm=LLMSteps(read=True), dialogue=[{"role": "user", "content": "my favourite has lightsabers"}],
                             k=3))
    assert backend.schemas == [READING_SCHEMA]
    assert "lightsabers" in backend.calls[0] and "any ideas for tonight?" in backend.calls[0]
    assert "2" in state.liked and plan.extra["llm"]["read"]["applied"]
    assert plan.items and "2" not in [s.item_id for s in plan.items]  # a named item is never listed
    assert all("Comedy" in catalog.records[s.item_id].attributes["genres"] for s in plan.items)


def test_an_invalid_reading_leaves_the_rules_result(catalog):
    backend = script(read=reading(extra="field", items=[("Star Wars", 1977, "liked")]))
    state = ConversationState()
    plan = collect(TurnInput(text="I loved Fargo", state=state, catalog=catalog, backend=backend, llm=LLMSteps(read=True),
                             k=3))
    assert state.liked == ["3"] and plan.extra["llm"]["read"] == {"applied": False, "reason": "invalid reply",
                                                                 "ms": plan.extra["llm"]["read"]["ms"]}


def test_without_the_settings_the_llm_is_never_called(catalog):
    backend = script(read=reading(items=[("Star Wars", 1977, "liked")]))
    plan = collect(TurnInput(text="recommend a comedy", state=ConversationState(), catalog=catalog,
                             backend=backend, k=3))
    assert backend.calls == [] and "llm" not in plan.extra


def test_a_hung_backend_costs_a_turn_at_most_its_budget(catalog):
    class Hung(FakeBackend):
        def complete(self, prompt, **kwargs):
            time.sleep(3.0)
            raise LLMError("too late")

    started = time.perf_counter()
    turn = ConversationTurn(TurnInput(text="I loved Fargo", state=ConversationState(), catalog=catalog,
                                      backend=Hung(), llm=LLMSteps(read=True, candidates=True, budget_s=0.3), k=3))
    plan = turn.plan()
    assert time.perf_counter() - started < 1.5
    assert plan.items and plan.extra["llm"]["read"]["applied"] is False
    assert "budget" in plan.extra["llm"]["read"]["reason"] and "budget" in plan.extra["llm"]["candidates"]["reason"]


def test_small_talk_becomes_a_recommendation_only_when_the_reading_grounds_one(catalog):
    grounded = collect(TurnInput(text="hmm, you know, the one with the shark", state=ConversationState(),
                                 catalog=catalog, backend=script(read=reading(items=[("Jaws", 1975, "liked")])),
                                 llm=LLMSteps(read=True), k=3))
    empty = collect(TurnInput(text="hello there", state=ConversationState(), catalog=catalog,
                              backend=script(read=reading()), llm=LLMSteps(read=True), k=3))
    assert grounded.intent == "recommend" and grounded.items and "8" not in [s.item_id for s in grounded.items]
    assert empty.intent == "chitchat" and not empty.items


# ---------------------------------------------------------------- suggested titles


def test_suggested_titles_are_linked_and_a_bad_reply_is_refused(catalog):
    titles = {"titles": [{"title": "Alien", "year": 1979}, {"title": "Casablanca", "year": None},
                         {"title": "Jaws", "year": 2001}, {"title": "Back to the Future", "year": None}]}
    assert parse_suggestions(json.dumps(titles), catalog.index) == ["7", "11"]
    assert parse_suggestions(json.dumps({**titles, "note": "x"}), catalog.index) is None
    assert parse_suggestions('{"titles": [{"title": 7}]}', catalog.index) is None


def test_suggestions_join_the_pool_with_a_modest_weight_and_keep_scores_whole():
    pool = [ScoredItem("a", 1.0, sources={"ease": 1.0}), ScoredItem("b", 0.6, sources={"ease": 0.6}),
            ScoredItem("c", 0.2, sources={"ease": 0.2})]
    out = add_suggestions(pool, ["c", "new", "blocked"], {"c", "new"}, named_titles=True, weight=0.3)
    assert [s.item_id for s in out] == ["a", "b", "c", "new"]
    assert all(abs(sum(s.sources.values()) - s.score) < 1e-9 for s in out)
    assert out[2].score == pytest.approx(0.2 + 0.3 * 0.8) and out[3].score == pytest.approx(0.2 + 0.3 * 0.8 / 2)
    assert "blocked" not in [s.item_id for s in out]
    assert [e.kind for e in out[3].evidence] == ["llm_suggestion"]


def test_suggested_titles_obey_constraints_and_exclusions_and_say_where_they_came_from(catalog):
    titles = {"titles": [{"title": "Alien", "year": None}, {"title": "Star Wars", "year": None},
                         {"title": "Back to the Future", "year": None}, {"title": "Fargo", "year": None}]}
    backend = script(titles=json.dumps(titles))
    state = ConversationState()
    plan = collect(TurnInput(text="I loved Star Wars, more sci-fi please, nothing with horror", state=state,
                             catalog=catalog, backend=backend, llm=LLMSteps(candidates=True), k=3))
    ids = [s.item_id for s in plan.items]
    report = plan.extra["llm"]["candidates"]
    assert report["suggested"] == ["7", "2", "11", "3"] and report["allowed"] == ["11"]
    assert "11" in ids and not {"7", "2", "3"} & set(ids)  # horror, named, not sci-fi
    future = next(s for s in plan.items if s.item_id == "11")
    assert "llm" in future.sources and any(e.kind == "llm_suggestion" for e in future.evidence)
    assert "general knowledge of the titles you named" in plan.explained["11"].text
