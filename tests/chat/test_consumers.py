"""The chat websocket through the real ASGI stack (origin check, sessions, auth) on in-memory and Redis layers."""
from __future__ import annotations

import gc
import json
import os
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from chat import services
from chat.frames import ReplyPiece, TurnDone, TurnStarted
from chat.models import Conversation
from recommender.models import Interaction

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://testserver")
TIMEOUT = 10


def application():
    from chatrec_site.asgi import application as app

    return app


def communicator(session_key: str | None):
    headers = [ORIGIN]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application(), "/ws/chat/", headers=headers)


async def receive_until(comm, kind: str) -> list[dict]:
    """Return every frame up to and including the first one of that type."""
    frames = []
    while True:
        frame = await comm.receive_json_from(timeout=TIMEOUT)
        frames.append(frame)
        if frame["type"] == kind:
            return frames


async def send_raw(comm, text):
    await comm.send_to(text_data=text)
    return await comm.receive_json_from(timeout=TIMEOUT)


@pytest.fixture(autouse=True)
def _release_turn_threads():
    """Let the turn threads' database connections go so the test database can be dropped."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from chat import workers

    workers.reset()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    gc.collect()  # connections of finished per-connection threads close when collected


@pytest.fixture
def layer(request, settings):
    """Run the test on the in-memory channel layer or on Redis."""
    if request.param == "redis":
        url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                               "CONFIG": {"hosts": [url], "prefix": f"chatrec-test-{time.time_ns()}"}}}
    else:
        settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    return request.param


@pytest.mark.parametrize("layer", ["memory", "redis"], indirect=True)
async def test_guest_gets_a_streamed_turn_in_protocol_order(catalog, guest, layer):
    comm = communicator(guest[1])
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "message", "text": "recommend me a comedy", "k": 3})
    frames = await receive_until(comm, "chat.done")
    kinds = [f["type"] for f in frames]
    assert kinds[0] == "chat.start" and kinds[1] == "chat.token"
    assert kinds.index("chat.items") < kinds.index("chat.explanation") < kinds.index("chat.done")
    items = next(f for f in frames if f["type"] == "chat.items")["items"]
    assert len(items) == 3 and all("Comedy" in i["attributes"]["genres"] for i in items)
    conversation = frames[0]["conversation"]
    owner = await database_sync_to_async(lambda: Conversation.objects.get(pk=conversation).profile_id)()
    assert owner == guest[0].pk
    await comm.disconnect()


@pytest.mark.parametrize("layer", ["memory", "redis"], indirect=True)
async def test_other_tabs_of_the_same_person_hear_about_conversation_changes(catalog, guest, layer):
    first, second = communicator(guest[1]), communicator(guest[1])
    assert (await first.connect())[0] and (await second.connect())[0]
    await first.send_json_to({"type": "message", "text": "hello"})
    await receive_until(first, "chat.done")
    changed = await second.receive_json_from(timeout=TIMEOUT)
    assert changed["type"] == "conversation.changed" and changed["conversation"]
    await first.disconnect()
    await second.disconnect()


async def test_signed_in_user_is_recognised(catalog, django_user_model):
    user = await database_sync_to_async(django_user_model.objects.create_user)("ada")
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    comm = communicator(client.cookies["sessionid"].value)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "message", "text": "hello"})
    frames = await receive_until(comm, "chat.done")
    conversation = await database_sync_to_async(lambda: Conversation.objects.select_related("profile").get(
        pk=frames[0]["conversation"]).profile.user_id)()
    assert conversation == user.pk
    await comm.disconnect()


async def test_connection_without_a_session_is_refused(catalog):
    comm = communicator(None)
    connected, _ = await comm.connect()
    assert connected  # accepted, then closed with the documented code (a handshake refusal shows as 1006)
    closed = await comm.receive_output(timeout=TIMEOUT)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_foreign_origin_is_refused(catalog, guest):
    comm = WebsocketCommunicator(application(), "/ws/chat/",
                                 headers=[(b"origin", b"http://evil.example"),
                                          (b"cookie", f"sessionid={guest[1]}".encode())])
    connected, _ = await comm.connect()
    assert not connected


async def test_bad_frames_get_error_codes_and_the_connection_stays_usable(catalog, guest, settings):
    settings.CHATREC_MAX_MESSAGE_CHARS = 50
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    cases = [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        (json.dumps({"type": 5}), "bad_frame"),
        (json.dumps({"type": "dance"}), "unknown_type"),
        (json.dumps({"type": "message", "text": "x" * 51}), "message_too_long"),
        (json.dumps({"type": "message", "text": "   "}), "empty_message"),
        (json.dumps({"type": "message", "text": 42}), "bad_field"),
        (json.dumps({"type": "message", "text": "hi", "k": 0}), "bad_field"),
        (json.dumps({"type": "message", "text": "hi", "conversation": "1"}), "bad_field"),
        (json.dumps({"type": "feedback", "item": "x", "kind": "like"}), "bad_field"),
        (json.dumps({"type": "feedback", "item": 1, "kind": "adore"}), "bad_field"),
        (json.dumps({"type": "feedback", "item": 999999, "kind": "like"}), "bad_feedback"),
        (json.dumps({"type": "feedback", "item": 1, "kind": "rating", "value": 9}), "bad_feedback"),
        ("x" * 300_000, "frame_too_large"),
    ]
    for raw, code in cases:
        frame = await send_raw(comm, raw)
        assert frame["type"] == "chat.error" and frame["code"] == code, raw[:40]
        assert frame["message"]
    assert (await send_raw(comm, json.dumps({"type": "ping"})))["type"] == "pong"
    await comm.send_json_to({"type": "message", "text": "hello"})
    assert (await receive_until(comm, "chat.done"))[-1]["intent"] == "chitchat"
    await comm.disconnect()


async def test_another_persons_conversation_is_not_reachable(catalog, guest, django_user_model):
    other = await database_sync_to_async(lambda: services.conversation_start(
        profile=services.Profile.objects.create(kind="guest", session_key="someone-else")))()
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    for frame in ({"type": "message", "text": "hello", "conversation": other.pk},
                  {"type": "conversation.open", "conversation": other.pk}):
        await comm.send_json_to(frame)
        reply = await comm.receive_json_from(timeout=TIMEOUT)
        assert reply["type"] == "chat.error" and reply["code"] == "not_found"
    count = await database_sync_to_async(lambda: other.messages.count())()
    assert count == 0
    await comm.disconnect()


async def test_history_and_list_return_the_persons_own_conversation(catalog, guest):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "message", "text": "recommend me a comedy", "k": 2})
    frames = await receive_until(comm, "chat.done")
    conversation = frames[0]["conversation"]
    await comm.send_json_to({"type": "conversation.list"})
    listing = await receive_until(comm, "conversation.list")
    assert [c["id"] for c in listing[-1]["conversations"]] == [conversation]
    await comm.send_json_to({"type": "conversation.open", "conversation": conversation})
    history = (await receive_until(comm, "conversation.history"))[-1]
    assert [m["role"] for m in history["messages"]] == ["user", "assistant"]
    assert len(history["messages"][1]["items"]) == 2 and history["messages"][1]["items"][0]["explanation"]
    await comm.disconnect()


async def test_feedback_frame_is_stored_once_per_client_key(catalog, guest):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    item = catalog["ml-100"].pk
    for expected in (True, False):
        await comm.send_json_to({"type": "feedback", "item": item, "kind": "like", "key": "k-1"})
        saved = await comm.receive_json_from(timeout=TIMEOUT)
        assert saved["type"] == "feedback.saved" and saved["created"] is expected
    await comm.send_json_to({"type": "feedback", "item": item, "kind": "rating", "value": 4.5, "key": "k-2"})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["value"] == 4.5
    events = await database_sync_to_async(lambda: list(
        Interaction.objects.filter(profile=guest[0]).values_list("kind", "origin")))()
    assert sorted(events) == [("like", "chat"), ("rating", "chat")]
    await comm.disconnect()


async def test_stop_cancels_a_reply_in_progress(catalog, guest, monkeypatch):
    class SlowTurn:
        def __init__(self, *, text, profile, conversation, k, cancel, explore=False):
            self.conversation, self.cancel = conversation, cancel

        def head(self):
            yield TurnStarted(intent="recommend", language="en", conversation=self.conversation.pk, understanding={})
            while not self.cancel.wait(0.01):
                yield ReplyPiece("la ")

        def tail(self):
            yield TurnDone(intent="recommend", message_id=None, stopped=True, suggestions=[], timings={})

    monkeypatch.setattr(services, "turn_start", SlowTurn)
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "message", "text": "go on forever"})
    assert (await comm.receive_json_from(timeout=TIMEOUT))["type"] == "chat.start"
    assert (await comm.receive_json_from(timeout=TIMEOUT))["type"] == "chat.token"
    await comm.send_json_to({"type": "message", "text": "again"})
    busy = await receive_until(comm, "chat.error")
    assert busy[-1]["code"] == "busy"
    await comm.send_json_to({"type": "stop"})
    done = (await receive_until(comm, "chat.done"))[-1]
    assert done["stopped"] is True
    await comm.disconnect()


async def test_a_failing_turn_becomes_an_error_frame(catalog, guest, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "turn_start", broken)
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "message", "text": "hello"})
    frame = await comm.receive_json_from(timeout=TIMEOUT)
    assert frame == {"type": "chat.error", "code": "internal", "message": frame["message"]}
    assert "boom" not in frame["message"]
    assert (await send_raw(comm, json.dumps({"type": "ping"})))["type"] == "pong"
    await comm.disconnect()


async def test_sockets_open_and_store_feedback_while_the_thread_sensitive_thread_is_busy(catalog, guest, django_user_model):
    """Handshakes (session, user, profile) and a socket's own database work never queue on the one shared thread."""
    import threading

    from asgiref.sync import SyncToAsync

    user = await database_sync_to_async(django_user_model.objects.create_user)("grace")
    client = Client()
    await database_sync_to_async(client.force_login)(user)
    release = threading.Event()
    blocker = SyncToAsync.single_thread_executor.submit(release.wait, 30)  # e.g. a slow lookup of another socket
    try:
        for session_key in (client.cookies["sessionid"].value, guest[1]):
            comm = communicator(session_key)
            assert (await comm.connect(timeout=5))[0]
            await comm.send_json_to({"type": "feedback", "item": catalog["ml-100"].pk, "kind": "like", "key": "k"})
            saved = await comm.receive_json_from(timeout=5)
            assert saved["type"] == "feedback.saved" and saved["created"] is True
            await comm.disconnect()
        assert not blocker.done()  # all of it ran while the shared thread was still held
    finally:
        release.set()
        blocker.result()
