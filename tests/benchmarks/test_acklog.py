"""The nothing-lost check: acknowledged ids against what the database holds."""
from __future__ import annotations

import pytest
from django.utils import timezone

from benchmarks.acklog import AckLog, Stored, stored_from_database, verdict
from chat.models import Conversation, Message
from recommender.models import Interaction, Item, Profile


def acks(messages=(), feedback=(), conversations=()) -> AckLog:
    return AckLog(messages=list(messages), feedback=list(feedback), conversations=set(conversations))


def test_everything_stored_is_nothing_lost():
    result = verdict(acks([1, 2, 3, 4], [7], [10]), Stored({1, 2, 3, 4}, {7}, {10: ["user", "assistant"] * 2}))
    assert result["lost"] == 0 and result["messages_acked"] == 4 and result["feedback_acked"] == 1


def test_missing_messages_and_feedback_are_counted_once_each():
    result = verdict(acks([1, 2, 3, 3], [7, 7, 8], [10]), Stored({1}, {8}, {10: ["user", "assistant"]}))
    assert result["messages_acked"] == 3 and result["messages_missing"] == 2
    assert result["feedback_acked"] == 2 and result["feedback_missing"] == 1
    assert result["lost"] == 3


@pytest.mark.parametrize("roles", [["user"], ["user", "assistant", "user"], ["assistant", "user"],
                                   ["user", "user", "assistant", "assistant"]])
def test_a_user_message_without_its_reply_is_a_half_stored_turn(roles):
    result = verdict(acks([], [], [10, 11]), Stored(set(), set(), {10: roles, 11: ["user", "assistant"]}))
    assert result["half_stored_conversations"] == 1 and result["lost"] == 1


def test_turn_done_records_both_stored_messages_and_skips_unstored_turns():
    log = AckLog()
    log.turn_done({"type": "chat.done", "user_message_id": 5, "message_id": 6}, conversation=3)
    log.turn_done({"type": "chat.done", "message_id": None}, conversation=None)
    log.feedback_saved({"type": "feedback.saved", "id": 9})
    log.feedback_saved({"type": "feedback.saved"})
    assert log.messages == [5, 6] and log.feedback == [9] and log.conversations == {3}


def test_stored_ids_are_read_from_the_database(db):
    profile = Profile.objects.create(kind="guest", session_key="g-ack")
    item = Item.objects.create(source="test", external_id="a1", domain="movie", title="A")
    conversation = Conversation.objects.create(profile=profile)
    question = Message.objects.create(conversation=conversation, role="user", text="hi")
    answer = Message.objects.create(conversation=conversation, role="assistant", text="hello")
    event = Interaction.objects.create(profile=profile, item=item, kind="like", occurred_at=timezone.now())
    log = acks([question.pk, answer.pk, answer.pk + 1000], [event.pk, event.pk + 1000], [conversation.pk])
    result = verdict(log, stored_from_database(log))
    assert result["messages_missing"] == 1 and result["feedback_missing"] == 1
    assert result["half_stored_conversations"] == 0
    Message.objects.filter(pk=answer.pk).delete()
    assert verdict(log, stored_from_database(log))["half_stored_conversations"] == 1
