"""Hostile websocket frames: refused with an error frame, the connection stays open, nothing odd is stored."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from recommender.models import Interaction
from tests.chat.test_consumers import TIMEOUT, _release_turn_threads, communicator, send_raw  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.mark.parametrize("raw", [
    "[" * 5000 + "]" * 5000,
    '{"type": "ping", "x": ' + "{\"a\": " * 1500 + "1" + "}" * 1500 + "}",
    '{"type": "feedback", "item": 1, "kind": "like", "value": 1e400}',
    '{"type": "feedback", "item": 1, "kind": "like", "value": NaN}',
    '{"type": "feedback", "item": 1, "kind": "like", "key": "\\udc00"}',
    '{"type": "feedback", "item": 123456789012345678901234567890, "kind": "like"}',
])
async def test_hostile_frames_are_refused_and_the_connection_stays_usable(catalog, guest, raw):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    reply = await send_raw(comm, raw)
    assert reply["type"] == "chat.error" and reply["code"] == "bad_json", reply
    assert "'" not in reply["message"] or "Error" not in reply["message"]
    assert (await send_raw(comm, json.dumps({"type": "ping"}))) == {"type": "pong"}
    stored = await database_sync_to_async(Interaction.objects.filter(profile=guest[0]).count)()
    assert stored == 0
    await comm.disconnect()


async def test_error_messages_name_fields_without_python_reprs(catalog, guest):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    unknown = await send_raw(comm, json.dumps({"type": "n\u00f6pe"}))
    assert unknown["code"] == "unknown_type" and unknown["message"] == "Unknown frame type 'n\u00f6pe'."
    bad = await send_raw(comm, json.dumps({"type": "feedback", "item": "x", "kind": "like"}))
    assert bad["code"] == "bad_field" and bad["message"] == "Field 'item' is missing or has the wrong type."
    await comm.disconnect()


async def answers_until_closed(comm) -> tuple[list[str], int | None]:
    """Return the error codes (or frame types) the socket answered, and its close code (None: still open)."""
    seen = []
    while True:
        try:
            out = await comm.receive_output(timeout=TIMEOUT)
        except TimeoutError:
            return seen, None
        if out["type"] == "websocket.close":
            return seen, out.get("code")
        frame = json.loads(out["text"])
        seen.append(frame.get("code", frame["type"]))
        if frame["type"] == "pong":
            return seen, None


BROKEN = '{"type": "message", "text": "' + "x" * 12_000  # an unterminated 12 KB string


async def test_a_flood_of_broken_frames_closes_the_socket(catalog, guest, settings):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    for _ in range(1000):
        await comm.send_to(text_data=BROKEN)
    seen, code = await answers_until_closed(comm)
    assert seen == ["bad_json"] * settings.CHATREC_WS_MAX_BAD_FRAMES and code == 4400
    assert await comm.receive_nothing(timeout=0.5)  # the frames queued behind the close get no answers


async def test_broken_frames_count_against_the_frame_rate(catalog, guest, settings):
    from common.ratelimit import Rate

    settings.CHATREC_RATE_LIMITS = {**settings.CHATREC_RATE_LIMITS, "ws_frame": Rate(5, 60)}
    settings.CHATREC_WS_MAX_BAD_FRAMES = 1000
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    for _ in range(8):
        await comm.send_to(text_data=BROKEN)
    await comm.send_to(text_data='{"type": "ping"}')
    answers = [json.loads((await comm.receive_output(timeout=TIMEOUT))["text"])["code"] for _ in range(9)]
    assert answers == ["bad_json"] * 5 + ["rate_limited"] * 4
    await comm.disconnect()


async def test_a_socket_that_keeps_sending_past_its_rate_is_closed(catalog, guest, settings):
    from common.ratelimit import Rate

    settings.CHATREC_RATE_LIMITS = {**settings.CHATREC_RATE_LIMITS, "ws_frame": Rate(2, 60)}
    settings.CHATREC_WS_MAX_REFUSED_FRAMES = 3
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    for _ in range(50):
        await comm.send_to(text_data='{"type": "ping"}')
    seen = []
    while True:
        out = await comm.receive_output(timeout=TIMEOUT)
        if out["type"] == "websocket.close":
            break
        frame = json.loads(out["text"])
        seen.append(frame.get("code", frame["type"]))
    assert seen == ["pong", "pong", "rate_limited", "rate_limited", "rate_limited"] and out["code"] == 4429
