"""New chat frames: edit and resend, regenerate, thumbs on a reply, take a press back, rename, delete, search."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from chat.models import Conversation, Message
from recommender.models import Interaction
from tests.chat.test_consumers import _release_turn_threads, communicator, receive_until  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
TIMEOUT = 10


async def connected(guest):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    return comm


async def turn(comm, text, **extra):
    await comm.send_json_to({"type": "message", "text": text, "k": 3, **extra})
    return await receive_until(comm, "chat.done")


def started_in(frames) -> int:
    """Return the conversation a turn ran in (from its chat.start; a late conversation.changed may come first)."""
    return next(f for f in frames if f["type"] == "chat.start")["conversation"]


@database_sync_to_async
def messages_of(conversation_id):
    return list(Message.objects.filter(conversation_id=conversation_id).order_by("id").values_list("role", "text"))


async def test_edit_drops_later_messages_and_continues_from_the_edited_one(catalog, guest):
    comm = await connected(guest)
    first = await turn(comm, "recommend me a comedy")
    conversation = started_in(first)
    edited_id = first[-1]["user_message_id"]
    await turn(comm, "something with animation")
    await comm.send_json_to({"type": "message.edit", "message": edited_id, "text": "a crime drama", "k": 3})
    frames = await receive_until(comm, "chat.done")
    assert next(f for f in frames if f["type"] == "conversation.rewound") == {
        "type": "conversation.rewound", "conversation": conversation, "message": edited_id}
    items = next(f for f in frames if f["type"] == "chat.items")["items"]
    assert items and all("Crime" in i["attributes"]["genres"] or "Drama" in i["attributes"]["genres"] for i in items)
    stored = await messages_of(conversation)
    assert [text for role, text in stored if role == "user"] == ["a crime drama"]
    assert len(stored) == 2
    await comm.disconnect()


async def test_edit_rebuilds_the_state_from_the_remaining_messages(catalog, guest):
    comm = await connected(guest)
    await turn(comm, "recommend me a comedy")
    second = await turn(comm, "no romance")
    conversation = started_in(second)
    state = await database_sync_to_async(lambda: Conversation.objects.get(pk=conversation).state)()
    assert "Romance" in str(state["context"]["exclude"])
    await comm.send_json_to({"type": "message.edit", "message": second[-1]["user_message_id"], "text": "from the 90s"})
    frames = await receive_until(comm, "chat.done")
    state = await database_sync_to_async(lambda: Conversation.objects.get(pk=conversation).state)()
    # "no romance" went with the edited message; the comedy asked for before it still holds.
    assert "Romance" not in str(state["context"]["exclude"])
    assert "Comedy" in str(state["context"]["include"])
    items = next(f for f in frames if f["type"] == "chat.items")["items"]
    assert items and all("Comedy" in i["attributes"]["genres"] for i in items)
    await comm.disconnect()


async def test_regenerate_keeps_the_earlier_answer_and_explores_a_different_list(catalog, guest):
    comm = await connected(guest)
    first = await turn(comm, "recommend me a comedy")
    conversation = started_in(first)
    old_reply = first[-1]["message_id"]
    old_items = [i["id"] for i in next(f for f in first if f["type"] == "chat.items")["items"]]
    await comm.send_json_to({"type": "message.regenerate", "conversation": conversation})
    frames = await receive_until(comm, "chat.done")
    regenerating = next(f for f in frames if f["type"] == "conversation.regenerating")
    assert regenerating["conversation"] == conversation and regenerating["message"] == first[-1]["user_message_id"]
    assert not any(f["type"] == "conversation.rewound" for f in frames)
    new_items = [i["id"] for i in next(f for f in frames if f["type"] == "chat.items")["items"]]
    assert new_items and new_items != old_items
    reply = "".join(f["text"] for f in frames if f["type"] == "chat.token")
    assert reply.startswith("Here is a different selection")
    assert frames[-1]["message_id"] != old_reply
    stored = await messages_of(conversation)
    assert [role for role, _ in stored] == ["user", "assistant", "user", "assistant"]
    assert stored[0] == stored[2] == ("user", "recommend me a comedy")
    exists = await database_sync_to_async(Message.objects.filter(pk=old_reply).exists)()
    assert exists
    await comm.disconnect()


async def test_regenerate_without_any_message_and_edit_of_someone_elses_message(catalog, guest, django_user_model):
    comm = await connected(guest)
    await comm.send_json_to({"type": "message.regenerate"})
    assert await comm.receive_json_from(timeout=TIMEOUT) == {
        "type": "chat.error", "code": "message_not_found", "message": "No such message."}
    other = await database_sync_to_async(lambda: Conversation.objects.create(
        profile=catalog["ml-1"].interactions.first().profile))()
    foreign = await database_sync_to_async(lambda: Message.objects.create(
        conversation=other, role="user", text="mine").pk)()
    await comm.send_json_to({"type": "message.edit", "message": foreign, "text": "hijack"})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["code"] == "message_not_found"
    still = await database_sync_to_async(Message.objects.filter(pk=foreign).exists)()
    assert still
    await comm.disconnect()


@pytest.mark.parametrize("frame, field", [
    ({"type": "message.edit", "text": "x"}, "message"),
    ({"type": "message.edit", "message": True, "text": "x"}, "message"),
    ({"type": "message.edit", "message": 1, "text": 5}, "text"),
    ({"type": "message.regenerate", "conversation": "1"}, "conversation"),
    ({"type": "reply.rate", "message": 1, "value": 2}, "value"),
    ({"type": "reply.rate", "message": 1, "value": True}, "value"),
    ({"type": "reply.rate", "value": 1}, "message"),
    ({"type": "conversation.rename", "title": "x"}, "conversation"),
    ({"type": "conversation.delete", "conversation": None}, "conversation"),
    ({"type": "conversation.list", "query": 3}, "query"),
])
async def test_bad_new_frames_get_the_documented_error(catalog, guest, frame, field):
    comm = await connected(guest)
    await comm.send_json_to(frame)
    reply = await comm.receive_json_from(timeout=TIMEOUT)
    assert reply == {"type": "chat.error", "code": "bad_field",
                     "message": f"Field {field!r} is missing or has the wrong type."}
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["type"] == "pong"
    await comm.disconnect()


async def test_thumbs_on_a_reply_are_stored_and_can_be_taken_back(catalog, guest):
    comm = await connected(guest)
    done = (await turn(comm, "recommend me a comedy"))[-1]
    await comm.send_json_to({"type": "reply.rate", "message": done["message_id"], "value": -1})
    assert (await receive_until(comm, "reply.rated"))[-1] == {"type": "reply.rated", "message": done["message_id"],
                                                               "value": -1}
    rating = await database_sync_to_async(lambda: Message.objects.get(pk=done["message_id"]).rating)()
    assert rating == -1
    await comm.send_json_to({"type": "reply.rate", "message": done["message_id"], "value": 0})
    assert (await receive_until(comm, "reply.rated"))[-1]["value"] == 0
    row = await database_sync_to_async(lambda: Message.objects.values("rating", "rated_at").get(pk=done["message_id"]))()
    assert row == {"rating": None, "rated_at": None}
    # A user message cannot be rated.
    await comm.send_json_to({"type": "reply.rate", "message": done["user_message_id"], "value": 1})
    assert (await receive_until(comm, "chat.error"))[-1]["code"] == "message_not_found"
    await comm.disconnect()


async def test_a_like_taken_back_no_longer_counts(catalog, guest):
    comm = await connected(guest)
    items = next(f for f in await turn(comm, "recommend me a comedy") if f["type"] == "chat.items")["items"]
    item = items[0]["id"]
    await comm.send_json_to({"type": "feedback", "item": item, "kind": "like"})
    assert (await receive_until(comm, "feedback.saved"))[-1]["kind"] == "like"
    await comm.send_json_to({"type": "feedback", "item": item, "kind": "unlike"})
    saved = (await receive_until(comm, "feedback.saved"))[-1]
    assert saved["type"] == "feedback.saved" and saved["kind"] == "unlike"
    from chat import selectors

    profile = await database_sync_to_async(selectors.history_profile)(profile=guest[0])
    assert str(item) not in profile.liked and str(item) in profile.history
    kinds = await database_sync_to_async(lambda: list(
        Interaction.objects.filter(profile=guest[0]).order_by("id").values_list("kind", flat=True)))()
    assert kinds == ["like", "unlike"]
    await comm.disconnect()


async def test_rename_delete_and_search_conversations(catalog, guest):
    comm = await connected(guest)
    first = started_in(await turn(comm, "recommend me a comedy"))
    await comm.send_json_to({"type": "conversation.new"})
    await receive_until(comm, "conversation.created")
    second = started_in(await turn(comm, "something like Fargo"))
    await comm.send_json_to({"type": "conversation.rename", "conversation": first, "title": "  Funny films "})
    renamed = await receive_until(comm, "conversation.renamed")
    assert renamed[-1] == {"type": "conversation.renamed", "conversation": first, "title": "Funny films"}
    await comm.send_json_to({"type": "conversation.rename", "conversation": first, "title": "   "})
    assert (await receive_until(comm, "chat.error"))[-1]["code"] == "bad_value"
    await comm.send_json_to({"type": "conversation.list", "query": "fargo"})
    listed = (await receive_until(comm, "conversation.list"))[-1]
    assert [c["id"] for c in listed["conversations"]] == [second]
    await comm.send_json_to({"type": "conversation.list", "query": "FUNNY"})
    assert [c["id"] for c in (await receive_until(comm, "conversation.list"))[-1]["conversations"]] == [first]
    await comm.send_json_to({"type": "conversation.delete", "conversation": second})
    assert (await receive_until(comm, "conversation.deleted"))[-1]["conversation"] == second
    left = await database_sync_to_async(lambda: list(Conversation.objects.values_list("id", flat=True)))()
    assert left == [first]
    await comm.send_json_to({"type": "conversation.delete", "conversation": second})
    assert (await receive_until(comm, "chat.error"))[-1]["code"] == "not_found"
    await comm.disconnect()


async def test_history_shows_which_buttons_are_pressed(catalog, guest):
    comm = await connected(guest)
    frames = await turn(comm, "recommend me a comedy")
    items = [i["id"] for i in next(f for f in frames if f["type"] == "chat.items")["items"]]
    for item, kind in [(items[0], "like"), (items[0], "favourite"), (items[1], "like"), (items[1], "dislike"),
                       (items[2], "dislike"), (items[2], "undislike")]:
        await comm.send_json_to({"type": "feedback", "item": item, "kind": kind})
        await receive_until(comm, "feedback.saved")
    await comm.send_json_to({"type": "conversation.open", "conversation": started_in(frames)})
    history = (await receive_until(comm, "conversation.history"))[-1]
    pressed = {i["id"]: i["pressed"] for i in history["messages"][1]["items"]}
    assert pressed == {items[0]: ["like", "favourite"], items[1]: ["dislike"], items[2]: []}
    await comm.disconnect()


async def test_regenerate_says_so_when_nothing_else_matches(catalog, guest):
    comm = await connected(guest)
    first = await turn(comm, "recommend me a comedy")
    listed = {i["id"] for i in next(f for f in first if f["type"] == "chat.items")["items"]}
    frames = []
    for _ in range(6):  # ask again until every comedy has been shown
        await comm.send_json_to({"type": "message.regenerate"})
        frames = await receive_until(comm, "chat.done")
        items = {i["id"] for i in next(f for f in frames if f["type"] == "chat.items")["items"]}
        if items <= listed:
            break
        listed |= items
    reply = "".join(f["text"] for f in frames if f["type"] == "chat.token")
    assert reply.startswith("Nothing else matches this request, so here are the same picks again.")
    await comm.disconnect()
