"""Grounding on catalogs the rules were not written for, soft preferences, and reading whole dialogues.

Every catalog here is built in the test: films with trailing articles and sparse user tags, music artists with tags,
and products; nothing depends on one dataset's vocabulary.
"""
import time

import pytest

from recommender.engine.types import ItemRecord, ScoredItem
from recommender.engine.understanding import (
    CatalogIndex,
    ConversationState,
    apply_soft_preferences,
    read_dialogue,
    understand,
)
from recommender.engine.understanding.slots import numbers_to_digits

GENRE_CYCLE = [["Drama"], ["Comedy"], ["Action", "Thriller"], ["Sci-Fi"], ["Romance", "Comedy"], ["Horror"]]


def _film(i, title, genres, year, tags=(), aliases=()):
    attrs = {"genres": list(genres), "year": year}
    if tags:
        attrs["tags"] = list(tags)
    return ItemRecord(f"f-{i}", title, "movie", aliases=tuple(aliases), attributes=attrs)


FILMS = [
    _film(1, "Dark Knight, The (2008)", ["Action", "Crime", "Drama"], 2008, ["dark", "superhero", "atmospheric"]),
    _film(2, "Love Actually (2003)", ["Comedy", "Drama", "Romance"], 2003, ["christmas", "love", "british"]),
    _film(3, "Avengers: Infinity War - Part I (2018)", ["Action", "Adventure", "Sci-Fi"], 2018, ["superhero"]),
    _film(4, "Matrix, The (1999)", ["Action", "Sci-Fi", "Thriller"], 1999, ["cyberpunk", "dark"], ["黑客帝国", "駭客任務"]),
    _film(5, "Misérables, Les (1998)", ["Drama"], 1998, ["france"]),
    _film(6, "Boot, Das (1981)", ["Action", "Drama", "War"], 1981, ["submarine", "claustrophobic"]),
    _film(7, "Vie en rose, La (2007)", ["Drama"], 2007, ["biography", "music"]),
    _film(8, "Godfather: Part II, The (1974)", ["Crime", "Drama"], 1974, ["mafia"]),
    _film(9, "Heat (1995)", ["Action", "Crime"], 1995, ["heist"]),
    _film(10, "Heat (1972)", ["Drama"], 1972),
    _film(11, "Star Wars: Episode IV - A New Hope (1977)", ["Action", "Adventure", "Sci-Fi"], 1977, ["space"]),
    _film(12, "Casablanca (1942)", ["Drama", "Romance"], 1942, ["black and white", "classic"]),
    _film(13, "Toy Story (1995)", ["Animation", "Children", "Comedy"], 1995, ["pixar"], ["玩具总动员"]),
    _film(14, "Alien (1979)", ["Horror", "Sci-Fi"], 1979, ["science fiction", "space", "atmospheric"]),
    _film(15, "Bad Moms Christmas, A (2017)", ["Comedy"], 2017),
    _film(16, "Close Encounters of the Third Kind (1977)", ["Adventure", "Drama", "Sci-Fi"], 1977),
    _film(17, "Arrival (2016)", ["Sci-Fi"], 2016),
]
# Filler films give the catalog realistic statistics: genres on every film, tags sparse and barely shared.
FILLER = [_film(100 + k, f"Quiet Harbour Story {k} ({1960 + k})", GENRE_CYCLE[k % len(GENRE_CYCLE)], 1960 + k,
                [f"tagword{k}"] if k % 3 == 0 else ()) for k in range(60)]
FILLER += [_film(200 + k, f"Lantern Chronicle {k} ({1990 + k % 30})", GENRE_CYCLE[k % len(GENRE_CYCLE)],
                 1990 + k % 30) for k in range(60)]
POPULARITY = {"f-9": 900, "f-10": 20, "f-4": 800, "f-1": 700}

ARTIST_NAMES = ["Radiohead", "Portishead", "Massive Attack", "Bjork", "The Cure", "Daft Punk", "Boards of Canada",
                "Sigur Ros", "Aphex Twin", "Cocteau Twins", "Slowdive", "Mogwai"]
MUSIC = [ItemRecord(f"a-{k}", name, "music", attributes={
    "genres": [["rock"], ["electronic"], ["pop"], ["jazz"]][k % 4],
    "tags": [f"mood{k}", "i love", "dreamy" if k % 2 else "melancholic", f"city{k % 7}"]})
    for k, name in enumerate(ARTIST_NAMES)]
MUSIC += [ItemRecord(f"a-{100 + k}", f"Ensemble Number {k}", "music", attributes={
    "genres": [["rock"], ["electronic"], ["pop"], ["jazz"]][k % 4], "tags": [f"texture{k}", f"era{k % 9}"]})
    for k in range(40)]

PRODUCTS = [ItemRecord(f"p-{k}", f"{colour.title()} {cat.title()} {k}", "product", attributes={
    "category": cat, "color": colour, "season": [season], "price": 20.0 + 7 * k})
    for k, (cat, colour, season) in enumerate(
        [(c, col, s) for c in ("dress", "jacket", "bag") for col in ("red", "black", "white") for s in ("summer", "winter")])]


@pytest.fixture(scope="module")
def films():
    return CatalogIndex(FILMS + FILLER, popularity=POPULARITY)


@pytest.fixture(scope="module")
def music():
    return CatalogIndex(MUSIC)


@pytest.fixture(scope="module")
def mixed():
    return CatalogIndex(FILMS + FILLER + PRODUCTS, popularity=POPULARITY)


def refs(u):
    return [(r.item_id, r.sentiment) for r in u.referenced_items]


# -- structured vs free-form, decided from the catalog's statistics -----------------------------------
def test_sparse_high_cardinality_attributes_are_free_form(films, music):
    assert films.is_free_form("tags", "movie") and not films.is_free_form("genres", "movie")
    assert music.is_free_form("tags", "music") and not music.is_free_form("genres", "music")
    forced = CatalogIndex(FILMS, free_form={"genres"})
    assert forced.is_free_form("genres", "movie")


# -- titles before attributes ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, item", [
    ("something like The Dark Knight", "f-1"),
    ("I really liked Love Actually", "f-2"),
    ("films like Les Miserables", "f-5"),
    ("I loved Das Boot", "f-6"),
    ("something like La Vie en Rose", "f-7"),
    ("The Godfather Part II was great", "f-8"),
    ("I liked Godfather 2", "f-8"),
    ("loved The Godfather: Part 2", "f-8"),
])
def test_article_inversion_sequels_and_diacritics_link_titles(films, text, item):
    u = understand(text, catalog=films)
    assert refs(u) == [(item, "liked")]
    assert u.intent == "recommend"
    assert not u.include and not u.prefer  # the title's own words ("dark", "love", "war") are not attributes


def test_words_inside_a_title_never_become_attributes(films):
    u = understand("Avengers: Infinity War", catalog=films)
    assert refs(u) == [("f-3", "liked")] and "genres" not in u.include
    u = understand('something like "Infinity Wars Returns" please', catalog=films)
    assert u.unknown_titles == ["Infinity Wars Returns"] and not u.include and not u.referenced_items


def test_typos_link_within_a_length_aware_threshold(films):
    u = understand("something like The Matrx", catalog=films)
    assert refs(u) == [("f-4", "liked")] and u.referenced_items[0].match == "fuzzy"
    # Short ordinary words never fuzzy-match a title.
    assert films.fuzzy_titles("war") == [] and films.fuzzy_titles("the dark") == []
    assert not understand("something like heart", catalog=films).referenced_items


def test_ambiguous_titles_take_the_most_popular_and_report_the_others(films):
    u = understand("I loved Heat", catalog=films)
    assert refs(u) == [("f-9", "liked")]
    assert u.referenced_items[0].match == "ambiguous" and u.referenced_items[0].alternatives == ["f-10"]
    assert refs(understand("I loved Heat (1972)", catalog=films)) == [("f-10", "liked")]


def test_traditional_and_simplified_chinese_link_the_same_alias(films):
    u = understand("我喜歡《玩具總動員》", catalog=films)  # traditional text, simplified alias
    assert refs(u) == [("f-13", "liked")] and u.language == "zh"
    u = understand("我喜欢《骇客任务》", catalog=films)  # simplified text, traditional alias
    assert refs(u) == [("f-4", "liked")]
    assert refs(understand("我很喜歡黑客帝國", catalog=films)) == [("f-4", "liked")]


def test_a_titles_own_words_carry_no_sentiment_or_position(films):
    u = understand("I really want to see A Bad Moms Christmas", catalog=films)
    assert refs(u) == [("f-15", "liked")]
    state = ConversationState(last_items=["f-1", "f-2", "f-3"])
    u = understand("I also like Close Encounters of the Third Kind", state=state, catalog=films)
    assert refs(u) == [("f-16", "liked")]  # not "the third" item of the last list
    assert refs(understand("I like the third one", state=state, catalog=films)) == [("f-3", "liked")]


def test_a_year_after_an_ordinary_word_makes_it_a_title(films):
    assert refs(understand("Arrival (2016) is great", catalog=films)) == [("f-17", "liked")]
    assert not understand("arrival time is late", catalog=films).referenced_items


def test_questions_about_an_item_are_not_likes(films):
    assert refs(understand("What is the rating for Casablanca?", catalog=films)) == [("f-12", "neutral")]
    assert refs(understand("Can you suggest something like Casablanca?", catalog=films)) == [("f-12", "liked")]


# -- common phrases ground to structured values; tags are soft ------------------------------------------
def test_common_phrases_ground_to_genres_not_rare_tags(films):
    assert understand("some science fiction please", catalog=films).include == {"genres": ["Sci-Fi"]}
    assert understand("any scifi?", catalog=films).include == {"genres": ["Sci-Fi"]}
    u = understand("a romantic comedy tonight", catalog=films)
    assert sorted(u.include["genres"]) == ["Comedy", "Romance"] and not u.prefer


def test_free_form_tags_are_soft_preferences_never_filters(films):
    s = ConversationState()
    u = understand("something atmospheric and dark", catalog=films)
    s.apply(u)
    assert u.intent == "recommend" and u.prefer == {"tags": ["atmospheric", "dark"]} and not u.include
    assert s.constraints().include == {} and s.profile().prefer == {"tags": ["atmospheric", "dark"]}
    u = understand("black and white films, not too dark", catalog=films)
    assert u.prefer == {"tags": ["black and white"]} and u.avoid == {"tags": ["dark"]} and not u.exclude


def test_music_artist_names_are_items_not_tags(music):
    u = understand("I love Radiohead, Portishead and Massive Attack, recommend other artists", catalog=music)
    assert sorted(refs(u)) == [("a-0", "liked"), ("a-1", "liked"), ("a-2", "liked")]
    assert not u.include and not u.prefer and u.intent == "recommend"
    u = understand("something dreamy and electronic", catalog=music)
    assert u.include == {"genres": ["electronic"]} and u.prefer == {"tags": ["dreamy"]}


# -- numbers written as words ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, out", [
    ("under fifty dollars", "under 50 dollars"), ("a hundred and twenty bucks", "120 bucks"),
    ("五十块以下", "50块以下"), ("不超过三百元", "不超过300元"), ("Ocean's Eleven", "Ocean's Eleven"),
    ("between twenty and fifty dollars", "between 20 and 50 dollars"), ("三百到五百块", "300到500块"),
    ("第三个", "第三个"), ("三十年代", "三十年代"),
])
def test_numbers_in_words_become_digits_only_next_to_money(text, out):
    assert numbers_to_digits(text) == out


def test_prices_in_words_become_ranges(mixed):
    assert understand("a red dress under fifty dollars", catalog=mixed).ranges == {"price": [None, 50]}
    assert understand("五十块以下的包", catalog=mixed).ranges == {"price": [None, 50]}
    assert understand("a bag between twenty and fifty dollars", catalog=mixed).ranges == {"price": [20, 50]}


# -- intent in a recommendation dialogue ----------------------------------------------------------------
@pytest.mark.parametrize("text", ["any other suggestions?", "what else", "还有别的吗", "more please",
                                  "I'm into thrillers", "Hmm. I really liked Heat"])
def test_more_please_and_taste_statements_ask_for_a_list(films, text):
    state = ConversationState(focus_item="f-4", last_items=["f-4"])
    u = understand(text, state=state, catalog=films)
    assert u.intent == "recommend", text
    assert not u.reject_all


@pytest.mark.parametrize("text", ["show me more", "give me more please", "any others?", "还有别的吗"])
def test_asking_for_more_asks_for_more_of_the_same_list(films, text):
    u = understand(text, state=ConversationState(focus_item="f-4", last_items=["f-4"]), catalog=films)
    assert u.intent == "recommend" and u.more, text


@pytest.mark.parametrize("text", ["thanks!", "ok cool", "hello there"])
def test_small_talk_gets_no_list(films, text):
    assert understand(text, state=ConversationState(focus_item="f-4"), catalog=films).intent == "chitchat"


@pytest.mark.parametrize("text", ["Any suggestions?", "Got any recommendations for me?", "Do you have suggestions?"])
def test_inflected_request_words_ask_for_a_list(films, text):
    assert understand(text, catalog=films).intent == "recommend"


@pytest.mark.parametrize("reply", ["Other?", "I havent actually", "No, I haven't seen that one", "Sure!",
                                   "Any kind really.", "not so old"])
def test_bare_answers_inside_a_recommendation_dialogue_get_a_list(films, reply):
    state, last = read_dialogue([
        {"role": "user", "content": "Hi, I'm looking for a movie"},
        {"role": "assistant", "content": "Have you seen Heat (1995)?"},
        {"role": "user", "content": reply},
    ], films)
    assert last.intent == "recommend", reply


def test_yes_to_the_assistants_offer_gets_a_list_and_small_talk_stays_small_talk(films):
    offer = [{"role": "user", "content": "Hi! How are you doing?"},
             {"role": "assistant", "content": "I am great. May I suggest some romantic comedies?"}]
    assert read_dialogue([*offer, {"role": "user", "content": "Yes please!!"}], films)[1].intent == "recommend"
    for text in ("Thanks", "Bye!", "Nice chatting with you. Bye."):
        assert read_dialogue([*offer, {"role": "user", "content": text}], films)[1].intent == "chitchat", text
    # Without an offer or a request, the same bare words are small talk.
    assert read_dialogue([{"role": "user", "content": "Sure!"}], films)[1].intent == "chitchat"


def test_the_assistants_taste_is_small_talk_unless_the_dialogue_is_about_recommendations(films):
    assert understand("what's your favourite movie?", catalog=films).intent == "chitchat"
    _, last = read_dialogue([
        {"role": "user", "content": "I need a film for tonight"},
        {"role": "assistant", "content": "Sure, any genre in mind?"},
        {"role": "user", "content": "Do you like horror movies?"},
    ], films)
    assert last.intent == "recommend" and last.include == {"genres": ["Horror"]}


def test_cues_match_inflections_of_long_words_only():
    from recommender.engine.understanding.parser import _has_phrase

    assert _has_phrase("any suggestions?", ["suggest"]) == "suggest"
    assert _has_phrase("recommendations please", ["recommend"]) == "recommend"
    assert _has_phrase("his films", ["hi"]) is None and _has_phrase("a suggestive title", ["suggest"]) is None


# -- whole dialogues --------------------------------------------------------------------------------------
def test_assistant_suggestions_and_reactions_shape_the_profile(films):
    messages = [
        {"role": "user", "content": "I want a crime film"},
        {"role": "assistant", "content": "How about Heat (1995)? It's a classic heist film."},
        {"role": "user", "content": "seen it, not for me"},
        {"role": "assistant", "content": "Then try The Godfather: Part II."},
        {"role": "user", "content": "haven't seen it, sounds good"},
        {"role": "assistant", "content": "You might also like The Matrix."},
        {"role": "user", "content": "yes, loved that one"},
        {"role": "user", "content": "any other suggestions?"},
    ]
    state, last = read_dialogue(messages, films)
    assert state.reactions() == {"f-9": "disliked", "f-8": "accepted", "f-4": "liked"}
    profile = state.profile()
    assert "f-4" in profile.liked and "f-8" in profile.liked and profile.disliked == ["f-9"]
    assert {"f-9", "f-8", "f-4"} <= set(state.constraints().exclude_items) and set(profile.exclude) >= {"f-9", "f-4"}
    assert state.include == {"genres": ["Crime"]}
    assert last.intent == "recommend" and last.more
    restored = ConversationState.from_dict(state.to_dict())
    assert restored.reactions() == state.reactions() and restored.profile() == profile


def test_chinese_reactions_to_a_suggestion(films):
    state, last = read_dialogue([
        {"role": "user", "content": "推荐一部科幻片"},
        {"role": "assistant", "content": "推荐《黑客帝国》。"},
        {"role": "user", "content": "看过了，不喜欢"},
    ], films)
    assert state.reactions() == {"f-4": "disliked"} and last.intent == "recommend"
    assert "f-4" in state.constraints().exclude_items


def test_a_bare_reaction_applies_only_right_after_a_suggestion(films):
    state, last = read_dialogue([
        {"role": "assistant", "content": "How about Arrival (2016)?"},
        {"role": "user", "content": "I'm looking for sci-fi"},
        {"role": "user", "content": "interesting pattern though"},
    ], films)
    assert state.reactions() == {"f-17": ""} and not last.referenced_items
    state, _ = read_dialogue([
        {"role": "assistant", "content": "How about Arrival (2016)?"},
        {"role": "user", "content": "Have you seen it yourself? I haven't seen it, but I'll pass"},
    ], films)
    assert state.reactions() == {"f-17": "rejected"} and "f-17" not in state.profile().liked


def test_closing_small_talk_is_not_a_reaction(films):
    state, last = read_dialogue([
        {"role": "assistant", "content": "Maybe The Matrix?"},
        {"role": "user", "content": "I hope you have a great day!"},
    ], films)
    assert last.intent == "chitchat" and state.reactions() == {"f-4": ""} and not state.prefer


def test_named_items_are_liked_and_excluded(films):
    state, last = read_dialogue([{"role": "user", "content": "I really liked Love Actually"}], films)
    assert last.intent == "recommend" and state.profile().liked == ["f-2"]
    assert state.mentions == {"f-2": "liked"} and "f-2" in state.constraints().exclude_items


def test_a_new_domain_resets_the_old_topic(mixed):
    state, _ = read_dialogue([
        {"role": "user", "content": "I need a summer dress under 50 dollars"},
        {"role": "user", "content": "something like Star Wars from the 80s"},
    ], mixed)
    assert state.changed.get("topic_reset") == {"from": "product", "to": "movie"}
    assert "category" not in state.include and "season" not in state.include
    assert state.ranges == {"year": [1980, 1989]} and state.profile().liked == ["f-11"]


def test_twenty_messages_are_read_quickly(films):
    turns = ["I want a crime film", "How about Heat (1995)?", "seen it, not for me", "Try The Matrix.",
             "loved it", "Then Casablanca.", "something atmospheric and dark", "How about Alien?",
             "haven't seen it, sounds good", "Or Das Boot."] * 2
    messages = [{"role": "user" if k % 2 == 0 else "assistant", "content": t} for k, t in enumerate(turns)]
    read_dialogue(messages, films)  # warm caches built once per catalog
    started = time.perf_counter()
    read_dialogue(messages, films)
    assert (time.perf_counter() - started) * 1000 < 100


# -- soft preferences re-rank, bounded and stable ----------------------------------------------------------
def test_soft_preferences_rerank_within_a_bound_and_never_filter(films):
    scored = [ScoredItem("f-9", 1.0), ScoredItem("f-10", 0.98), ScoredItem("f-1", 0.97), ScoredItem("f-13", 0.2)]
    out = apply_soft_preferences(scored, films, {"tags": ["dark"]})
    assert [s.item_id for s in out] == ["f-1", "f-9", "f-10", "f-13"]  # a close neighbour moves up
    assert len(out) == len(scored) and scored[0].score == 1.0  # nothing dropped, input untouched
    assert any(e.kind == "attribute_match" and e.value == "dark" for e in out[0].evidence)
    far = apply_soft_preferences([ScoredItem("f-9", 1.0), ScoredItem("f-4", 0.1)], films, {"tags": ["dark"]})
    assert [s.item_id for s in far] == ["f-9", "f-4"]  # a weak item is not lifted over a strong one
    ties = apply_soft_preferences([ScoredItem("f-9", 0.5), ScoredItem("f-10", 0.5)], films, {"tags": ["nothing"]})
    assert [s.item_id for s in ties] == ["f-9", "f-10"]
    avoided = apply_soft_preferences(scored, {r.item_id: r for r in FILMS}, {}, {"tags": ["heist"]})
    assert [s.item_id for s in avoided][:2] == ["f-10", "f-1"]


@pytest.mark.parametrize("text, expected", [
    ("something like The Matrix but not Alien", [("f-4", "liked"), ("f-14", "disliked")]),
    ("anything except Casablanca", [("f-12", "disliked")]),
    ("Casablanca was a bit too slow for me", [("f-12", "disliked")]),
    ("I was not a huge fan of Casablanca", [("f-12", "disliked")]),
])
def test_negated_and_complained_about_titles_are_disliked(films, text, expected):
    assert refs(understand(text, catalog=films)) == expected


def test_ordinary_words_capitalised_as_a_name_and_remakes(films):
    catalog = CatalogIndex([*FILMS, _film(30, "Get Out (2017)", ["Horror"], 2017),
                            _film(31, "Heat (2023)", ["Drama"], 2023)], popularity=POPULARITY)
    assert refs(understand("have you seen Get Out?", catalog=catalog)) == [("f-30", "neutral")]
    assert not understand("get out of here", catalog=catalog).referenced_items
    assert refs(understand("I loved the new Heat", catalog=catalog)) == [("f-31", "liked")]
    assert refs(understand("I loved the original Heat", catalog=catalog)) == [("f-10", "liked")]


def test_a_short_title_inside_a_longer_unknown_name_is_not_linked(films):
    # "Heat Wave (1990)" is not in the catalog: neither "Heat" nor any other piece of it is the film.
    assert not understand("Have you seen Heat Wave (1990)?", catalog=films).referenced_items
    assert refs(understand("anything except for Casablanca", catalog=films)) == [("f-12", "disliked")]
    assert refs(understand("I liked Heat (1995) better than Heat (1972)", catalog=films)) == [
        ("f-9", "liked"), ("f-10", "disliked")]


def test_not_seen_yet_is_not_a_like(films):
    state, _ = read_dialogue([
        {"role": "assistant", "content": "Maybe Arrival (2016), a clever one."},
        {"role": "user", "content": "i havent seen arrival"},
    ], films)
    assert state.reactions() == {"f-17": ""} and "f-17" not in state.profile().liked


def test_a_long_tail_of_tags_is_free_form_even_when_some_tags_are_common():
    common = ["rock", "indie", "alternative", "british", "guitar", "live", "90s", "male vocals", "classic", "loud"]
    artists = [ItemRecord(f"x-{k}", f"Signal Band {k}", "music", attributes={
        "genres": ["rock"], "tags": [*common, f"oddity{k}", f"memory{k}"]}) for k in range(60)]
    catalog = CatalogIndex(artists)
    assert catalog.is_free_form("tags", "music")  # the mean item count per tag is over 5; the median is 1
    u = understand("something loud with guitar", catalog=catalog)
    assert u.prefer == {"tags": ["loud", "guitar"]} and not u.include


def test_an_item_given_as_an_example_stays_an_example_until_the_person_says_they_like_it(films):
    state = ConversationState()
    state.apply(understand("something like Heat", state=state, catalog=films))
    example = state.profile()
    assert example.liked and example.examples == example.liked
    state.apply(understand("I loved Heat actually", state=state, catalog=films))
    assert state.profile().examples == [] and state.profile().liked == example.liked
