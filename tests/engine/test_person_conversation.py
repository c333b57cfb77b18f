"""Whole turns over a small catalog: compound genres filter on every genre, an offer to drop a filter is taken up
by the next turn, and a conversation's own likes stay in the domain they were said in."""
from __future__ import annotations

import pytest

from recommender.engine.conversation import ServingCatalog, TurnInput, collect, context_from_messages, topic_profile
from recommender.engine.types import ItemRecord, Profile
from recommender.engine.understanding import ConversationState

FILMS = [
    ("f1", "Pretty Woman (1990)", ["Comedy", "Romance"], 1990),
    ("f2", "Home Alone (1990)", ["Comedy"], 1990),
    ("f3", "Titanic (1997)", ["Drama", "Romance"], 1997),
    ("f4", "Groundhog Day (1993)", ["Comedy", "Romance", "Fantasy"], 1993),
    ("f5", "Liar Liar (1997)", ["Comedy"], 1997),
    ("f6", "Unforgiven (1992)", ["Western"], 1992),
    ("f7", "Evita (1996)", ["Drama", "Musical"], 1996),
    ("f8", "Alien (1979)", ["Horror", "Sci-Fi"], 1979),
    ("f9", "Fargo (1996)", ["Crime", "Drama"], 1996),
]
GAMES = [("g1", "Stardew Valley", ["farming", "simulation"]), ("g2", "Portal 2", ["puzzle"])]


def records() -> dict[str, ItemRecord]:
    out = {i: ItemRecord(i, t, "movie", attributes={"genres": g, "year": y}) for i, t, g, y in FILMS}
    out.update({i: ItemRecord(i, t, "game", attributes={"genres": g}) for i, t, g in GAMES})
    return out


@pytest.fixture(scope="module")
def catalog() -> ServingCatalog:
    # Plain comedies are the most popular: an either-genre filter would put them first.
    return ServingCatalog.build(records(), {"f2": 9.0, "f5": 8.0, "f3": 7.0, "f1": 2.0, "f4": 1.0})


def turn(text: str, state: ConversationState, catalog: ServingCatalog, shown: list | None = None):
    return collect(TurnInput(text=text, state=state, catalog=catalog, shown=shown if shown is not None else []))


@pytest.mark.parametrize("text", ["a romantic comedy please", "我想看爱情喜剧"])
def test_every_listed_item_carries_every_genre_of_a_compound(catalog, text):
    plan = turn(text, ConversationState(), catalog)
    listed = [s.item_id for s in plan.items]
    assert listed and set(listed) == {"f1", "f4"}


def test_genres_joined_by_or_list_either(catalog):
    plan = turn("a comedy or a romance", ConversationState(), catalog)
    assert {"f2", "f5", "f3"} <= {s.item_id for s in plan.items}


@pytest.mark.parametrize("first, answer, language", [
    ("a western musical from the 90s", "yes, drop it", "en"), ("a western musical from the 90s", "sure", "en"),
    ("我想看九十年代的西部歌舞片", "好的", "zh"), ("我想看九十年代的西部歌舞片", "行", "zh")])
def test_an_offer_to_drop_a_filter_is_taken_up_by_the_next_turn(catalog, first, answer, language):
    state, shown = ConversationState(), []
    plan = turn(first, state, catalog, shown)
    assert not plan.items and plan.extra["relax"]["include"] == {"genres": ["Western", "Musical"]}
    assert state.offered_relax == {"include": {"genres": ["Western", "Musical"]}}
    plan = turn(answer, state, catalog, shown)
    assert plan.intent == "recommend" and plan.items
    assert state.include == {} and state.ranges == {"year": [1990, 1999]}
    assert all(1990 <= records()[s.item_id].attributes["year"] <= 1999 for s in plan.items)
    assert plan.reply.startswith("好的，去掉了" if language == "zh" else "OK, without")


def test_declining_the_offer_keeps_the_filter_and_asks_again(catalog):
    state = ConversationState()
    turn("a western musical", state, catalog)
    plan = turn("no, keep it", state, catalog)
    assert not plan.items and state.include == {"genres": ["Western", "Musical"]}


def test_an_offer_stored_with_the_reply_is_read_back_from_the_messages(catalog):
    messages = [{"role": "user", "content": "a western musical"},
                {"role": "assistant", "content": "Nothing matches all of Western + Musical. Shall I drop it?",
                 "item_ids": [], "relax": {"include": {"genres": ["Western", "Musical"]}}}]
    state = context_from_messages(messages, catalog)
    plan = turn("yes", state, catalog)
    assert plan.items and state.include == {}


def test_the_conversations_film_likes_do_not_seed_a_game_list(catalog):
    state = ConversationState()
    turn("I loved Fargo", state, catalog)
    assert state.liked == ["f9"]
    stored = Profile(liked=["f3"])  # a pressed like counts everywhere
    person = Profile(liked=["f9", "f3"], history={"f9": 0.5})
    games = topic_profile(person, state, stored, records(), "game")
    assert games.liked == ["f3"] and games.history == {}
    assert topic_profile(person, state, stored, records(), "movie") == person
    kept = topic_profile(person, state, stored, records(), "game", keep=["f9"])
    assert kept.liked == ["f9", "f3"]  # named on purpose: "games for someone who loves Fargo"


ALBUMS = [
    ("a1", "OK Computer", ["rock", "alternative"], "Radiohead"), ("a2", "Kid A", ["electronic", "alternative"], "Radiohead"),
    ("a3", "Mezzanine", ["electronic", "trip-hop"], "Massive Attack"), ("a4", "Dummy", ["trip-hop"], "Portishead"),
    ("a5", "The Bends", ["rock", "alternative"], "Radiohead"), ("a6", "Definitely Maybe", ["rock"], "Oasis"),
    ("a7", "Abbey Road", ["rock", "pop"], "The Beatles"), ("a8", "Kind of Blue", ["jazz"], "Miles Davis"),
]


@pytest.fixture(scope="module")
def albums() -> ServingCatalog:
    return ServingCatalog.build({i: ItemRecord(i, t, "music", attributes={"genres": g, "artist": a})
                                 for i, t, g, a in ALBUMS}, {"a1": 9.0, "a7": 8.0, "a8": 7.0})


@pytest.mark.parametrize("text, language", [("something like Radiohead", "en"), ("有没有类似Radiohead的音乐", "zh")])
def test_a_maker_named_as_an_example_lists_other_makers_like_their_works(albums, text, language):
    state = ConversationState()
    plan = turn(text, state, albums)
    listed = [s.item_id for s in plan.items]
    # Not a filter on the maker (which would list only their albums), and none of their works is listed again.
    assert listed and not {"a1", "a2", "a5"} & set(listed)
    assert plan.language == language and "Radiohead" in plan.reply
    # The person said nothing of liking OK Computer: nothing is stored, and the reply notes no like.
    assert plan.feedback == [] and "OK Computer" not in plan.reply
    assert {"a1", "a2", "a5"} <= set(state.profile().liked)


def test_a_maker_asked_for_by_name_is_still_a_filter(albums):
    plan = turn("albums by Radiohead", ConversationState(), albums)
    assert {s.item_id for s in plan.items} == {"a1", "a2", "a5"}


@pytest.mark.parametrize("first, then, said", [("some rock albums", "something cheaper", "no prices"),
                                               ("我想听摇滚", "便宜一点的", "没有标价")])
def test_a_lower_price_asked_of_items_without_prices_is_answered_as_such(albums, first, then, said):
    state, shown = ConversationState(), []
    plan = turn(first, state, albums, shown)
    shown = [{"item_id": s.item_id} for s in plan.items]
    plan = turn(then, state, albums, shown)
    assert said in plan.reply and plan.items and "price" not in state.ranges


@pytest.mark.parametrize("text, language, example", [("something like OK Computer", "en", "like OK Computer"),
                                                     ("有没有类似《OK Computer》的专辑", "zh", "类似《OK Computer》")])
def test_an_item_given_as_an_example_is_named_in_the_reply_not_noted_as_a_like(albums, text, language, example):
    plan = turn(text, ConversationState(), albums)
    assert plan.items and "a1" not in {s.item_id for s in plan.items}
    assert plan.language == language and example in plan.reply
    assert "Noted" not in plan.reply and "记下了" not in plan.reply


@pytest.mark.parametrize("text, noted", [("I loved OK Computer, something similar", "Noted that you liked OK Computer"),
                                         ("我喜欢《OK Computer》，推荐类似的", "记下了，你喜欢《OK Computer》")])
def test_a_like_said_in_words_is_still_acknowledged(albums, text, noted):
    plan = turn(text, ConversationState(), albums)
    assert noted in plan.reply and plan.items
