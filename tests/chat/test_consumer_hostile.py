"""Hostile websocket frames: refused with an error frame, the connection stays open, nothing odd is stored."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from recommender.models import Interaction
from tests.chat.test_consumers import _release_turn_threads, communicator, send_raw  # noqa: F401

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
