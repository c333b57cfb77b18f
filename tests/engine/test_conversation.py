"""The conversation pipeline on its own: no Django, a small catalog, a small trained model, a scripted LLM."""
from __future__ import annotations

import subprocess
import sys

import pytest

from recommender.engine import bandit, rules
from recommender.engine.conversation import (
    ConversationTurn,
    ServingCatalog,
    TurnInput,
    collect,
    context_from_messages,
)
from recommender.engine.llm import FakeBackend
from recommender.engine.llm.turn import LLMSteps
from recommender.engine.types import ItemRecord, Profile
from recommender.engine.understanding import ConversationState
from tests.engine.conftest import grouped_bundle

FILMS = [
    ("1", "Toy Story (1995)", ["Animation", "Comedy"], 1995, ["玩具总动员"]),
    ("2", "Star Wars (1977)", ["Action", "Sci-Fi"], 1977, ["星球大战"]),
    ("3", "Fargo (1996)", ["Crime", "Drama", "Thriller"], 1996, ["冰血暴"]),
    ("4", "Pulp Fiction (1994)", ["Crime", "Drama"], 1994, ["低俗小说"]),
    ("5", "Titanic (1997)", ["Drama", "Romance"], 1997, ["泰坦尼克号"]),
    ("6", "Lion King, The (1994)", ["Animation", "Musical"], 1994, ["狮子王"]),
    ("7", "Alien (1979)", ["Action", "Horror", "Sci-Fi"], 1979, ["异形"]),
    ("8", "Jaws (1975)", ["Action", "Horror"], 1975, ["大白鲨"]),
    ("9", "Princess Bride, The (1987)", ["Adventure", "Comedy", "Romance"], 1987, ["公主新娘"]),
    ("10", "Forrest Gump (1994)", ["Comedy", "Romance"], 1994, ["阿甘正传"]),
    ("11", "Back to the Future (1985)", ["Comedy", "Sci-Fi"], 1985, ["回到未来"]),
    ("12", "Home Alone (1990)", ["Comedy"], 1990, ["小鬼当家"]),
]
GROUPS = [["3", "4", "5"], ["1", "6", "12"], ["2", "7", "11"]]


def records() -> dict[str, ItemRecord]:
    return {i: ItemRecord(item_id=i, title=t, domain="movie", description=f"{t} description.", aliases=tuple(a),
                          attributes={"genres": g, "year": y}) for i, t, g, y, a in FILMS}


@pytest.fixture(scope="module")
def catalog() -> ServingCatalog:
    # Popularity: Star Wars > Fargo > Toy Story > Titanic > the rest (none).
    return ServingCatalog.build(records(), {"2": 4.0, "3": 3.0, "1": 2.0, "5": 1.0})


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return grouped_bundle(tmp_path_factory.mktemp("models") / "v1", records(), GROUPS)


def turn_input(text, catalog, **kw) -> TurnInput:
    kw.setdefault("state", ConversationState())
    return TurnInput(text=text, catalog=catalog, **kw)


def test_the_pipeline_imports_nothing_from_django():
    code = ("import sys, recommender.engine.conversation, recommender.engine.rules;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'chat', 'chatrec_site')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_stages_list_items_before_their_evidence_and_explanations_follow_in_order(catalog, bundle):
    inp = turn_input("recommend something", catalog, bundle=bundle, history=Profile(liked=["3"]), k=3)
    turn = ConversationTurn(inp)
    started = turn.understand()
    assert (started.intent, started.language) == ("recommend", "en")
    plan = turn.plan()
    assert plan.listing and plan.strategy == "balanced"
    ids = [s.item_id for s in plan.items]
    assert len(ids) == 3 and "3" not in ids  # liked before: never listed again
    assert {"4", "5"} <= set(ids)  # Fargo's taste group first
    assert all(not s.evidence for s in plan.items), "the list is ranked without evidence, so it can be shown at once"
    assert plan.reply.startswith("Here are 3 films")
    explained = list(turn.explanations())
    assert [e.item_id for e in explained] == ids
    assert all(e.text and e.source == "template" for e in explained)
    assert explained[0].evidence and explained[1].evidence  # the two picks from Fargo's group cite it
    cited = {ev["item_id"] for e in explained for ev in e.evidence if ev["kind"] == "liked_item"}
    assert cited == {"3"}
    assert inp.state.last_items == ids and [s["item_id"] for s in inp.shown] == ids
    assert [entry["explanation"] for entry in plan.item_entries()] == [e.text for e in explained]
    assert {"understood", "ranked", "evidence"} <= set(plan.timings)


def test_strategy_from_the_bandit_is_applied_and_labelled(catalog, bundle):
    plan = collect(turn_input("recommend something", catalog, bundle=bundle, strategy="explore", k=4))
    assert plan.strategy == "explore"
    explored = [s for s in plan.items if any(e.kind == "exploration" for e in s.evidence)]
    assert len(explored) == 2


def test_hard_constraints_hold_and_the_context_carries_to_the_next_turn(catalog, bundle):
    state = ConversationState()
    first = collect(turn_input("recommend some action films", catalog, bundle=bundle, state=state, k=10))
    assert first.items and all("Action" in catalog.records[s.item_id].attributes["genres"] for s in first.items)
    second = collect(turn_input("no horror please", catalog, bundle=bundle, state=state, k=10))
    genres = [catalog.records[s.item_id].attributes["genres"] for s in second.items]
    assert genres and all("Action" in g and "Horror" not in g for g in genres)


def test_without_a_model_popularity_serves_and_skips_what_the_person_met(catalog):
    plan = collect(turn_input("recommend something", catalog, history=Profile(history={"2": 0.5}), k=3))
    assert plan.strategy == "popularity"
    assert [s.item_id for s in plan.items] == ["3", "1", "5"]
    assert all(s.evidence[0].kind == "popularity" for s in plan.items)
    assert plan.explained["3"].text


def test_a_failing_model_falls_back_to_popularity(catalog):
    class Broken:
        def recommend(self, **kwargs):
            raise RuntimeError("artifact gone")

    plan = collect(turn_input("recommend a comedy", catalog, bundle=Broken(), k=2))
    assert plan.strategy == "popularity" and [s.item_id for s in plan.items] == ["1", "9"]


def test_why_follow_up_answers_from_the_evidence_stored_with_the_list(catalog, bundle):
    state, shown = ConversationState(), []
    listed = collect(turn_input("recommend a comedy", catalog, bundle=bundle, state=state, shown=shown, k=3))
    before = list(state.last_items)
    turn = ConversationTurn(turn_input("why the second one?", catalog, bundle=bundle, state=state, shown=shown))
    turn.understand()
    plan = turn.plan()
    second = listed.items[1].item_id
    assert plan.intent == "ask_info" and plan.extra["followup"] == second and not plan.listing
    assert plan.reply.startswith(rules.display_title(catalog.records[second], "en") + ": ")
    answers = list(turn.explanations())
    assert [a.item_id for a in answers] == [second] and answers[0].evidence == shown[1]["evidence"]
    assert state.last_items == before, "a follow-up does not change the list"


def test_ask_info_chitchat_and_chinese(catalog):
    info = collect(turn_input("What year did Titanic come out?", catalog))
    assert info.intent == "ask_info" and "1997" in info.reply and not info.items and info.extra["about"] == "5"
    hello = collect(turn_input("hello", catalog))
    assert hello.intent == "chitchat" and "?" in hello.reply and not hello.listing
    zh = collect(turn_input("推荐几部喜剧", catalog, k=2))
    assert zh.language == "zh" and zh.reply.startswith("为你挑了2部电影")


def test_a_caller_that_always_wants_a_list_gets_the_answer_then_the_list(catalog, bundle):
    turn = turn_input("What year did Titanic come out?", catalog, bundle=bundle, k=3)
    turn.always_list = True
    info = collect(turn)
    assert info.intent == "ask_info" and info.reply.startswith("Titanic") and "1997" in info.reply
    assert len(info.items) == 3 and info.listing
    turn = turn_input("thanks!", catalog, bundle=bundle, k=3)
    turn.always_list = True
    thanks = collect(turn)
    assert thanks.intent == "chitchat" and len(thanks.items) == 3


def test_feedback_in_words_is_reported_for_storing_and_never_relisted(catalog, bundle):
    plan = collect(turn_input("I liked Fargo", catalog, bundle=bundle, k=3))
    assert plan.intent == "recommend" and plan.feedback == [{"item_id": "3", "kind": "like"}]
    assert "Fargo" in plan.reply and "3" not in [s.item_id for s in plan.items]


def test_stopping_skips_the_remaining_explanations(catalog, bundle):
    turn = ConversationTurn(turn_input("recommend something", catalog, bundle=bundle, k=3))
    turn.plan()
    assert list(turn.explanations(stopped=lambda: True)) == []
    assert turn.result.stopped and all(e["explanation"] == "" for e in turn.result.item_entries())


def test_llm_rerank_may_only_permute_and_llm_explanations_are_checked(catalog, bundle):
    backend = FakeBackend(default="2, 1")
    plain = collect(turn_input("recommend something", catalog, bundle=bundle, k=2))
    reranked = collect(turn_input("recommend something", catalog, bundle=bundle, k=2, backend=backend, llm=LLMSteps(rerank=True)))
    assert reranked.extra["rerank"]["applied"] is True and any("Rank the candidates" in p for p in backend.calls)
    assert [s.item_id for s in reranked.items] == [plain.items[1].item_id, plain.items[0].item_id]
    lying = FakeBackend(default="Because it won ten Oscars and you adore Jaws.")
    explained = collect(turn_input("recommend something", catalog, bundle=bundle, k=1, backend=lying,
                                   llm=LLMSteps(explain=True)))
    assert all(e.source == "template" for e in explained.explained.values())


def test_the_llm_rerank_arm_runs_the_rerank_and_other_arms_do_not(catalog, bundle):
    backend = FakeBackend(default="2, 1")
    plain = collect(turn_input("recommend something", catalog, bundle=bundle, k=2, backend=backend))
    assert "rerank" not in plain.extra and not backend.calls
    drawn = collect(turn_input("recommend something", catalog, bundle=bundle, k=2, backend=backend,
                               strategy=bandit.LLM_RERANK))
    assert drawn.strategy == bandit.LLM_RERANK and drawn.extra["rerank"]["applied"] is True
    assert [s.item_id for s in drawn.items] == [plain.items[1].item_id, plain.items[0].item_id]


def test_the_varied_arm_lists_more_kinds_of_film_from_the_same_candidates(catalog, bundle):
    def kinds(plan):
        return {g for s in plan.items for g in catalog.records[s.item_id].attributes.get("genres", [])}

    plain = collect(turn_input("recommend something", catalog, bundle=bundle, k=4))
    varied = collect(turn_input("recommend something", catalog, bundle=bundle, k=4, strategy=bandit.VARIED))
    assert varied.strategy == bandit.VARIED and varied.items[0].item_id == plain.items[0].item_id
    assert len(kinds(varied)) > len(kinds(plain))  # the conversation hands the records' genres to the arm


def test_earlier_messages_build_the_context_of_a_stateless_turn(catalog):
    state = context_from_messages([{"role": "user", "content": "comedy films please"}], catalog)
    plan = collect(turn_input("no romance", catalog, state=state, k=5))
    genres = [catalog.records[s.item_id].attributes["genres"] for s in plan.items]
    assert genres and all("Comedy" in g and "Romance" not in g for g in genres)


def dialogue(*turns: str) -> list[dict]:
    """Alternate user and assistant messages, the user first."""
    return [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(turns)]


def test_the_assistants_suggestions_and_the_reaction_to_them_shape_the_next_list(catalog, bundle):
    messages = dialogue("I'm looking for a good movie", "Have you seen Fargo? It's a great crime film.",
                        "Yes, loved that one!")
    state = context_from_messages(messages, catalog)
    # Liked, and still the assistant's suggestion: the talk has become an exchange (mixing's rule).
    assert state.profile().liked == ["3"] and state.profile().suggested == ["3"]
    plan = collect(turn_input("Any other suggestions?", catalog, bundle=bundle, state=state, k=3))
    ids = [s.item_id for s in plan.items]
    assert plan.intent == "recommend" and len(ids) == 3  # asking for more gets a list
    assert "3" not in ids  # the suggestion already made is not made again
    assert {"4", "5"} & set(ids)  # and the liked suggestion steers the list to its taste group


def test_a_rejected_suggestion_is_not_liked_and_not_suggested_again(catalog, bundle):
    messages = dialogue("recommend a film", "You might like Star Wars.", "Seen it, not for me.")
    state = context_from_messages(messages, catalog)
    assert "2" not in state.profile().liked
    plan = collect(turn_input("what else do you have?", catalog, bundle=bundle, state=state, k=5))
    assert plan.items and "2" not in [s.item_id for s in plan.items]


def test_a_taste_statement_deep_in_a_dialogue_gets_a_list_that_never_repeats_the_named_film(catalog, bundle):
    messages = dialogue("hi", "Hello! What kind of films do you enjoy?", "Not sure really",
                        "Maybe something animated? Toy Story is a classic.")
    state = context_from_messages(messages, catalog)
    plan = collect(turn_input("Hmm. I really liked Pulp Fiction", catalog, bundle=bundle, state=state, k=3))
    ids = [s.item_id for s in plan.items]
    assert plan.intent == "recommend" and ids
    assert "4" not in ids and "1" not in ids  # neither the film just named nor the earlier suggestion
    assert "Pulp Fiction" in plan.reply


def test_when_nothing_matches_the_reply_names_the_condition_to_loosen(catalog, bundle):
    # No horror film in the catalog is from the 1990s: dropping the decade leaves 2 (Alien, Jaws), dropping
    # the genre leaves the seven 1990s films; a range is widened before the kind of film asked for changes.
    state = ConversationState(include={"genres": ["Horror"]}, ranges={"year": [1990, 1999]})
    plan = collect(turn_input("recommend something", catalog, bundle=bundle, state=state, k=5))
    assert plan.items == []
    assert plan.extra["relax"]["ranges"] == {"year": [1990, 1999]} and not plan.extra["relax"]["include"]
    assert "there would be 2" in plan.reply


def test_the_kind_is_loosened_when_no_range_is_to_blame(catalog, bundle):
    # No horror film is a comedy: only dropping one of the two genres helps.
    state = ConversationState(include={"genres": ["Horror", "Comedy"]}, all_of=["genres"])
    plan = collect(turn_input("recommend something", catalog, bundle=bundle, state=state, k=5))
    assert plan.items == [] and plan.extra["relax"]["include"] == {"genres": ["Horror", "Comedy"]}


def test_a_named_item_keeps_the_list_in_its_domain():
    # A catalog that sells pans beside films: "something like Fargo" asks for films, though it never says so.
    items = {**records(), "p1": ItemRecord(item_id="p1", title="Copper Frying Pan", domain="product",
                                           description="A pan.", attributes={"price": 20.0}),
             "p2": ItemRecord(item_id="p2", title="Steel Kettle", domain="product", description="A kettle.",
                              attributes={"price": 30.0})}
    mixed = ServingCatalog.build(items, {"p1": 50.0, "p2": 40.0, "4": 1.0})
    plan = collect(turn_input("something like Fargo", mixed, k=5))
    assert plan.items and all(items[s.item_id].domain == "movie" for s in plan.items)


@pytest.mark.parametrize("first, then, bound", [
    ("comedies", "anything newer?", "after"), ("喜剧", "有没有新一点的", "after"), ("comedies", "older ones please", "before"),
])
def test_newer_and_older_are_read_against_what_the_conversation_is_about(catalog, first, then, bound):
    state = ConversationState()
    shown = collect(turn_input(first, catalog, state=state, k=4)).items
    years = sorted(catalog.records[s.item_id].attributes["year"] for s in shown)
    middle = years[len(years) // 2]
    plan = collect(turn_input(then, catalog, state=state, k=4))
    low, high = state.constraints().ranges["year"]
    assert (low, high) == ((middle + 1, None) if bound == "after" else (None, middle - 1))
    assert plan.items and all("Comedy" in catalog.records[s.item_id].attributes["genres"] for s in plan.items)
    assert "newer" not in state.keywords and "older" not in state.keywords


def test_newer_than_a_liked_film_and_older_people_are_not_years(catalog):
    state = ConversationState()
    collect(turn_input("I loved Alien", catalog, state=state, k=4))
    collect(turn_input("something more recent", catalog, state=state, k=4))
    assert state.constraints().ranges["year"] == (1980, None)
    other = ConversationState()
    collect(turn_input("comedies", catalog, state=other, k=4))
    collect(turn_input("my older brother loves Jaws", catalog, state=other, k=4))
    assert "year" not in other.constraints().ranges


SHOES = [("s1", "Red Canvas Sneakers", 30.0), ("s2", "Black Canvas Sneakers", 66.0), ("s3", "White Canvas Sneakers", 49.0),
         ("s4", "Orange Trail Runners", 109.0), ("s5", "Grey Trail Runners", 81.0), ("s6", "Blue Road Runners", 161.0)]


@pytest.fixture(scope="module")
def shoes() -> ServingCatalog:
    items = {i: ItemRecord(item_id=i, title=t, domain="product", attributes={"category": "sneakers", "price": p})
             for i, t, p in SHOES}
    return ServingCatalog.build(items, {i: float(10 - k) for k, (i, _, _) in enumerate(SHOES)})


@pytest.mark.parametrize("then", ["something cheaper", "有没有便宜一点的"])
def test_cheaper_sets_a_price_ceiling_below_the_middle_of_the_last_list(shoes, then):
    state = ConversationState()
    shown = collect(turn_input("sneakers", shoes, state=state, k=4)).items
    prices = sorted(shoes.records[s.item_id].attributes["price"] for s in shown)
    plan = collect(turn_input(then, shoes, state=state, k=4))
    _, ceiling = state.constraints().ranges["price"]
    assert ceiling < prices[len(prices) // 2]
    assert plan.items and all(shoes.records[s.item_id].attributes["price"] <= ceiling for s in plan.items)
    assert "cheaper" not in state.keywords


@pytest.mark.parametrize("liked, then", [("the second one looks nice", "anything cheaper than that?"),
                                         ("第二个不错", "有没有比这个便宜的")])
def test_cheaper_than_that_is_below_the_item_the_person_spoke_of(shoes, liked, then):
    state = ConversationState()
    shown = collect(turn_input("sneakers", shoes, state=state, k=4)).items
    second = shoes.records[shown[1].item_id].attributes["price"]
    collect(turn_input(liked, shoes, state=state, k=4))
    plan = collect(turn_input(then, shoes, state=state, k=4))
    assert plan.items and all(shoes.records[s.item_id].attributes["price"] < second for s in plan.items)


def test_cheaper_than_a_stated_amount_stays_that_bound(shoes):
    state = ConversationState()
    collect(turn_input("sneakers", shoes, state=state, k=4))
    collect(turn_input("cheaper than $50", shoes, state=state, k=4))
    assert state.constraints().ranges["price"] == (None, 50)


@pytest.mark.parametrize("text", ["cheap sneakers", "affordable sneakers", "平价的运动鞋"])
def test_cheap_keeps_the_lower_half_of_the_kind_asked_for(shoes, text):
    state = ConversationState()
    plan = collect(turn_input(text, shoes, state=state, k=6))
    prices = sorted(p for _, _, p in SHOES)
    _, ceiling = state.constraints().ranges["price"]
    assert ceiling < prices[len(prices) // 2]
    assert plan.items and all(shoes.records[s.item_id].attributes["price"] <= ceiling for s in plan.items)


def test_cheaper_after_a_list_without_prices_sets_no_ceiling_from_other_kinds():
    # Albums have no price; the shop's prices elsewhere in the catalog say nothing about them.
    items = {i: ItemRecord(item_id=i, title=t, domain="product", attributes={"category": "sneakers", "price": p})
             for i, t, p in SHOES}
    items.update({f"a{k}": ItemRecord(item_id=f"a{k}", title=f"Calm Album {k}", domain="music",
                                      attributes={"genres": ["ambient"]}) for k in range(5)})
    mixed = ServingCatalog.build(items)
    state = ConversationState()
    assert collect(turn_input("ambient music", mixed, state=state, k=3)).items
    plan = collect(turn_input("something cheaper", mixed, state=state, k=3))
    assert "price" not in state.constraints().ranges and plan.items
    assert "cheaper" not in state.keywords  # a word about price, not about the albums


def test_cheap_in_a_catalog_without_prices_changes_nothing(catalog):
    state = ConversationState()
    collect(turn_input("a cheap thrill of a movie", catalog, state=state, k=4))
    assert "price" not in state.constraints().ranges
