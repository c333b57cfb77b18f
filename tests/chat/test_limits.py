"""Websocket abuse limits: sockets per actor, feedback and turns per actor, frames per client address."""
from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from common.ratelimit import Rate
from recommender.models import Interaction
from tests.chat.test_consumers import (  # noqa: F401
    TIMEOUT,
    _release_turn_threads,
    communicator,
    send_raw,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def rates(settings):
    settings.CHATREC_RATE_LIMITS = {**settings.CHATREC_RATE_LIMITS}
    return settings.CHATREC_RATE_LIMITS


async def test_feedback_floods_are_cut_off_per_actor(catalog, guest, rates):
    rates["ws_feedback"] = Rate(3, 60)
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    item = catalog["ml-1"].pk
    replies = [await send_raw(comm, json.dumps({"type": "feedback", "item": item, "kind": "like"}))
               for _ in range(6)]
    assert [r["type"] for r in replies[:3]] == ["feedback.saved"] * 3
    assert all(r["type"] == "chat.error" and r["code"] == "rate_limited" and r["retry_after"] > 0
               for r in replies[3:])
    assert (await send_raw(comm, json.dumps({"type": "ping"}))) == {"type": "pong"}  # other frames still work
    stored = await database_sync_to_async(Interaction.objects.filter(profile=guest[0]).count)()
    assert stored == 3
    await comm.disconnect()


async def test_turns_are_limited_per_actor_across_sockets(catalog, guest, rates):
    rates["ws_turn"] = Rate(1, 60)
    first, second = communicator(guest[1]), communicator(guest[1])
    assert (await first.connect())[0] and (await second.connect())[0]
    await first.send_json_to({"type": "message", "text": "hello"})
    while (await first.receive_json_from(timeout=TIMEOUT))["type"] != "chat.done":
        pass
    refused = await send_raw(second, json.dumps({"type": "message", "text": "hello again"}))
    assert refused["code"] == "rate_limited"
    await first.disconnect()
    await second.disconnect()


async def test_sockets_per_actor_are_bounded_and_given_back(catalog, guest, settings):
    settings.CHATREC_WS_MAX_SOCKETS = 2
    open_ = [communicator(guest[1]) for _ in range(2)]
    for comm in open_:
        assert (await comm.connect())[0]
    extra = communicator(guest[1])
    assert (await extra.connect())[0]
    assert (await extra.receive_output(timeout=TIMEOUT)) == {"type": "websocket.close", "code": 4429}
    await open_[0].disconnect()
    again = communicator(guest[1])
    assert (await again.connect())[0]
    assert (await send_raw(again, json.dumps({"type": "ping"}))) == {"type": "pong"}
    await again.disconnect()
    await open_[1].disconnect()


async def test_one_address_is_limited_across_sessions(catalog, guest, rates, db):
    from django.contrib.sessions.backends.db import SessionStore

    from recommender.models import Profile

    def other_guest():
        session = SessionStore()
        session["guest"] = True
        session.create()
        Profile.objects.create(kind="guest", session_key=session.session_key)
        return session.session_key

    rates["ws_ip"] = Rate(6, 60)  # the two connections count, then four frames
    a, b = communicator(guest[1]), communicator(await database_sync_to_async(other_guest)())
    assert (await a.connect())[0] and (await b.connect())[0]
    replies = [await send_raw(comm, json.dumps({"type": "ping"})) for comm in (a, b, a, b, a, b)]
    assert [r["type"] for r in replies] == ["pong"] * 4 + ["chat.error"] * 2
    await a.disconnect()
    await b.disconnect()


async def test_connections_count_against_the_address_rate(catalog, guest, rates):
    rates["ws_ip"] = Rate(4, 60)
    first = communicator(guest[1])
    assert (await first.connect())[0]  # one
    for _ in range(3):  # two, three, four
        assert (await send_raw(first, json.dumps({"type": "ping"}))) == {"type": "pong"}
    await first.disconnect()
    again = communicator(guest[1])  # a fifth: the address's frames are spent, so no new socket either
    assert (await again.connect())[0]
    assert (await again.receive_output(timeout=TIMEOUT)) == {"type": "websocket.close", "code": 4429}
