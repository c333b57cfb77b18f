"""The conversation state's merge rules and serialisation."""
import json

from recommender.engine.types import Constraints, Profile
from recommender.engine.understanding import ConversationState, ItemRef, Understanding, understand


def rec(**kw):
    return Understanding(intent="recommend", **kw)


def test_later_turns_refine_and_same_attribute_is_replaced():
    s = ConversationState()
    s.apply(rec(include={"genres": ["Thriller"]}, ranges={"year": [1990, 1999]}))
    s.apply(rec(include={"color": ["black"]}))
    assert s.include == {"genres": ["Thriller"], "color": ["black"]}
    s.apply(rec(include={"genres": ["Crime"]}))
    assert s.include["genres"] == ["Crime"]
    assert s.ranges == {"year": [1990, 1999]}


def test_replace_drops_earlier_wishes_but_keeps_exclusions_and_ranges():
    s = ConversationState()
    s.apply(rec(include={"genres": ["Comedy"], "color": ["red"]}, exclude={"genres": ["Horror"]}, ranges={"year": [1980, 1989]}))
    s.apply(rec(include={"genres": ["Animation"]}, replace=True))
    assert s.include == {"genres": ["Animation"]}
    assert s.exclude == {"genres": ["Horror"]}
    assert s.ranges == {"year": [1980, 1989]}


def test_negation_removes_a_positive_and_a_positive_lifts_a_negation():
    s = ConversationState()
    s.apply(rec(include={"genres": ["Romance", "Comedy"]}))
    s.apply(rec(exclude={"genres": ["Romance"]}))
    assert s.include == {"genres": ["Comedy"]} and s.exclude == {"genres": ["Romance"]}
    s.apply(rec(include={"genres": ["Romance"]}))
    assert s.include == {"genres": ["Romance"]} and "genres" not in s.exclude


def test_liked_and_disliked_persist_and_flip():
    s = ConversationState()
    s.apply(Understanding(intent="feedback", referenced_items=[ItemRef("ml-1", sentiment="liked")]))
    s.apply(rec(include={"genres": ["Drama"]}))
    s.apply(Understanding(intent="chitchat"))
    assert s.liked == ["ml-1"]
    s.apply(Understanding(intent="feedback", referenced_items=[ItemRef("ml-1", sentiment="disliked")]))
    assert s.liked == [] and s.disliked == ["ml-1"]
    assert s.constraints().exclude_items == ["ml-1"]


def test_rejecting_the_whole_list_excludes_it():
    s = ConversationState()
    s.set_last_items(["a", "b"])
    s.apply(Understanding(intent="feedback", reject_all=True))
    assert s.constraints().exclude_items == ["a", "b"]


def test_chitchat_and_questions_do_not_change_constraints():
    s = ConversationState()
    s.apply(rec(include={"genres": ["War"]}))
    s.apply(Understanding(intent="ask_info", include={"genres": ["Comedy"]}, referenced_items=[ItemRef("ml-9")]))
    assert s.include == {"genres": ["War"]} and s.focus_item == "ml-9"


def test_constraints_and_profile_use_the_shared_records():
    s = ConversationState()
    s.apply(rec(include={"genres": ["War"]}, ranges={"year": [None, 1969]}, domain="movie", keywords=["tanks"],
                referenced_items=[ItemRef("ml-5", sentiment="liked")]))
    c = s.constraints()
    assert isinstance(c, Constraints) and c.ranges == {"year": (None, 1969)} and c.domain == "movie"
    p = s.profile()
    assert isinstance(p, Profile) and p.liked == ["ml-5"] and p.query_text == "tanks"


def test_state_round_trips_through_json(movies):
    s = ConversationState()
    s.set_last_items(["ml-1", "ml-2"])
    for text in ["我想看九十年代的动画片", "第二个不错", "不要恐怖片"]:
        s.apply(understand(text, state=s, catalog=movies))
    again = ConversationState.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    assert again.language == "zh" and again.liked == ["ml-2"]
    assert again.exclude == {"genres": ["Horror"]}


def test_positions_outside_the_list_resolve_to_nothing():
    s = ConversationState()
    assert s.item_at(1) is None
    s.set_last_items(["x"])
    assert s.item_at(2) is None and s.item_at(-1) == "x"


def test_saying_a_filter_does_not_matter_drops_the_wish_and_keeps_refusals():
    s = ConversationState()
    s.apply(rec(include={"genres": ["Comedy"]}, exclude={"genres": ["Romance"]}, ranges={"year": [1980, 1989]}))
    s.apply(rec(drop=["year"]))
    assert s.ranges == {} and s.include == {"genres": ["Comedy"]}
    assert s.changed["loosened"]["ranges"] == {"year": [1980, 1989]}
    s.apply(rec(drop=["genres", "category"]))
    assert s.include == {} and s.exclude == {"genres": ["Romance"]}
    s.apply(rec(drop=["price"]))
    assert "loosened" not in s.changed, "nothing held, nothing said to be dropped"


def test_the_words_that_say_a_filter_does_not_matter(movies):
    cases = {
        "but any year is good": ["year"], "the year doesn't matter": ["year"], "whatever decade": ["year"],
        "I don't mind the genre": ["genres"], "any genre is fine": ["genres"], "any type is ok": ["genres", "category"],
        "年代不限": ["year"], "什么类型都行": ["genres", "category"], "题材无所谓": ["genres"],
    }
    for text, attrs in cases.items():
        u = understand(text, catalog=movies)
        assert u.drop == attrs and u.intent == "recommend", text
    for text in ("any film from any year after 1990", "comedies from the 90s", "I like any kind of comedy"):
        assert understand(text, catalog=movies).drop == [], text
