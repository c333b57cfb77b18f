"""The project's domain rules, defined once: grades, rewards, positions, intents, request checks, titles."""
from __future__ import annotations

import pytest

from recommender.engine import rules
from recommender.engine.catalog import LIKE_THRESHOLD, NEUTRAL_WEIGHT
from recommender.engine.types import ItemRecord


@pytest.mark.parametrize("kind,value,grade", [
    ("like", None, "liked"), ("favourite", None, "liked"), ("purchase", None, "liked"),
    ("rating", 4.0, "liked"), ("rating", 5.0, "liked"), ("rating", 3.5, "seen"), ("rating", 2.5, "seen"),
    ("rating", 2.0, "disliked"), ("rating", 0.5, "disliked"), ("rating", None, "seen"),
    ("dislike", None, "disliked"), ("view", None, "seen"), ("click", None, "seen"),
])
def test_one_grade_for_every_event(kind, value, grade):
    assert rules.grade(kind, value) == grade
    assert rules.reward(kind, value) == {"liked": 1.0, "disliked": 0.0}.get(grade)


def test_the_training_matrix_uses_the_same_thresholds():
    assert LIKE_THRESHOLD == rules.LIKE_THRESHOLD and NEUTRAL_WEIGHT == rules.NEUTRAL_WEIGHT
    assert rules.is_interaction("rating") and rules.is_interaction("view") and not rules.is_interaction("dislike")


@pytest.mark.parametrize("text,position", [
    ("why the second one?", 2), ("为什么推荐第二个", 2), ("#3", 3), ("number 4 please", 4), ("the 2nd", 2),
    ("the last one", -1), ("最后一个", -1), ("倒数第二个", -2), ("second to last", -2), ("第十二部", 12),
    ("头一个", 1), ("the top pick", 1), ("why that?", None), ("recommend a comedy", None),
])
def test_list_positions_are_read_one_way(text, position):
    assert rules.list_position(text) == position


def test_positions_pick_from_a_list():
    items = ["a", "b", "c"]
    assert [rules.item_at_position(items, p) for p in (1, 3, -1, -3, 4, -4, None)] == ["a", "c", "c", "a", None,
                                                                                        None, None]


def test_intents_are_one_list_and_unknown_ones_recommend():
    from recommender.engine.understanding import INTENTS

    assert INTENTS is rules.INTENTS
    assert rules.known_intent("chitchat") == "chitchat" and rules.known_intent("dance") == "recommend"


@pytest.mark.parametrize("text,k,code,field", [
    (42, 10, "bad_field", "text"), ("", 10, "empty_message", "text"), ("   ", 10, "empty_message", "text"),
    ("x" * 11, 10, "message_too_long", "text"), ("hi", 0, "bad_field", "k"), ("hi", 101, "bad_field", "k"),
    ("hi", True, "bad_field", "k"), ("hi", "3", "bad_field", "k"),
])
def test_the_request_check_refuses_with_a_code_and_field(text, k, code, field):
    with pytest.raises(rules.TurnError) as err:
        rules.check_request(text, k, max_chars=10)
    assert (err.value.code, err.value.field) == (code, field) and err.value.message


def test_the_request_check_strips_and_keeps_k():
    assert rules.check_request("  hi there ", 100, max_chars=11) == ("hi there", 100)


def test_one_display_title_rule():
    lion = ItemRecord(item_id="6", title="Lion King, The (1994)", aliases=("The Lion King", "《狮子王》"))
    assert rules.display_title(lion, "en") == "The Lion King (1994)"
    assert rules.display_title(lion, "zh") == "狮子王"
    assert rules.display_title(ItemRecord(item_id="1", title="Fargo (1996)"), "zh-hans") == "Fargo"
    from recommender.engine.explain import localized_title

    assert localized_title is rules.display_title


def test_retractions_grade_as_seen_and_earn_no_reward():
    for kind, retracted in rules.RETRACTION_KINDS.items():
        assert rules.grade(kind) == rules.SEEN and rules.reward(kind) is None
        assert rules.is_retraction(kind) and not rules.is_retraction(retracted)
    assert rules.grade("like") == rules.LIKED
