"""The websocket and the REST API are two adapters over one turn: same items, same validator, same refusals."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from chat import services
from recommender.engine import rules

from .test_consumers import _release_turn_threads, communicator, receive_until  # noqa: F401 - fixture in use

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def rest_recommend(messages, k):
    """POST the messages: plain strings are the person's, dicts are given as they are."""
    listed = [m if isinstance(m, dict) else {"role": "user", "content": m} for m in messages]
    body = json.dumps({"messages": listed, "k": k})
    return APIClient().post("/api/v1/recommend", data=body, content_type="application/json")


async def websocket_turns(session_key, messages, k):
    """Return the last turn's frames and the transcript the socket conversation had (with what it listed)."""
    comm = communicator(session_key)
    assert (await comm.connect())[0]
    frames, transcript = [], []
    for text in messages:
        await comm.send_json_to({"type": "message", "text": text, "k": k})
        # This tab also hears about its own conversation's change after a turn; only the turn's frames count.
        frames = [f for f in await receive_until(comm, "chat.done") if f["type"].startswith("chat.")]
        reply = "".join(f["text"] for f in frames if f["type"] == "chat.token")
        listed = [i["id"] for f in frames if f["type"] == "chat.items" for i in f["items"]]
        transcript += [text, {"role": "assistant", "content": reply, "item_ids": listed}]
    await comm.disconnect()
    return frames, transcript[:-1]


@pytest.mark.parametrize("messages", [["recommend me a comedy"], ["comedy films please", "no romance"],
                                      ["推荐几部动作片"]])
async def test_both_adapters_answer_the_same_items_and_explanations(catalog, guest, messages):
    frames, transcript = await websocket_turns(guest[1], messages, 4)
    socket_items = next(f for f in frames if f["type"] == "chat.items")["items"]
    socket_explained = {f["item_id"]: f["text"] for f in frames if f["type"] == "chat.explanation"}
    response = await database_sync_to_async(rest_recommend)(transcript, 4)
    assert response.status_code == 200
    body = response.json()
    assert socket_items, "the turn lists something"
    assert [i["id"] for i in body["items"]] == [i["id"] for i in socket_items]
    assert [i["score"] for i in body["items"]] == [i["score"] for i in socket_items]
    assert [i["explanation"] for i in body["items"]] == [socket_explained[i["id"]] for i in socket_items]
    start = next(f for f in frames if f["type"] == "chat.start")
    untimed = [{k: v for k, v in u.items() if k != "timings"} for u in (body["understanding"], start["understanding"])]
    assert body["intent"] == start["intent"] and untimed[0] == untimed[1]
    assert body["reply"] == "".join(f["text"] for f in frames if f["type"] == "chat.token")


async def test_both_adapters_use_the_one_request_validator(catalog, guest, monkeypatch, settings):
    settings.CHATREC_MAX_MESSAGE_CHARS = 30
    checked = []
    real = services.request_check

    def spy(text, k=rules.DEFAULT_K):
        checked.append((text, k))
        return real(text, k)

    monkeypatch.setattr(services, "request_check", spy)
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "message", "text": "x" * 31})
    socket_error = await comm.receive_json_from(timeout=10)
    await comm.send_json_to({"type": "message", "text": "hello", "k": 0})
    socket_k_error = await comm.receive_json_from(timeout=10)
    await comm.disconnect()
    long_reply = await database_sync_to_async(rest_recommend)(["x" * 31], 3)
    k_reply = await database_sync_to_async(rest_recommend)(["hello"], 0)
    assert ("x" * 31, rules.DEFAULT_K) in checked and ("hello", 0) in checked  # the socket's checks
    assert ("x" * 31, 3) in checked  # the REST view's
    assert socket_error["code"] == long_reply.json()["error"]["code"] == "message_too_long"
    assert socket_error["message"] == long_reply.json()["error"]["message"] == rules.ERROR_TOO_LONG.format(limit=30)
    assert long_reply.status_code == 413
    assert (socket_k_error["code"], k_reply.json()["error"]["code"]) == ("bad_field", "invalid")  # each its own code
    assert socket_k_error["message"] == "Field 'k' is missing or has the wrong type."
    assert k_reply.status_code == 400
    assert k_reply.json()["error"]["message"] == "k: " + rules.ERROR_K.format(limit=rules.MAX_K)
