"""Guests: a cookieless page view writes nothing; the signed guest cookie is who connects; forgeries are nobody."""
from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.contrib.sessions.models import Session
from django.test import Client

from recommender.models import Profile
from tests.chat.test_consumers import (  # noqa: F401
    ORIGIN,
    TIMEOUT,
    _release_turn_threads,
    application,
    send_raw,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def connect_with(cookie: str):
    from channels.testing import WebsocketCommunicator

    return WebsocketCommunicator(application(), "/ws/chat/", headers=[ORIGIN, (b"cookie", cookie.encode())])


async def test_a_cookieless_page_view_writes_no_rows_and_its_cookie_connects(catalog):
    client = Client()
    sessions, profiles = await database_sync_to_async(lambda: (Session.objects.count(), Profile.objects.count()))()
    response = await database_sync_to_async(client.get)("/")
    again = await database_sync_to_async(client.get)("/")  # the cookie is kept, not replaced
    assert "chatrec_guest" not in again.cookies
    after = await database_sync_to_async(lambda: (Session.objects.count(), Profile.objects.count()))()
    assert after == (sessions, profiles)
    cookie = response.cookies["chatrec_guest"].value
    comm = connect_with(f"chatrec_guest={cookie}")
    assert (await comm.connect())[0]
    assert (await send_raw(comm, '{"type": "ping"}')) == {"type": "pong"}
    guests = await database_sync_to_async(lambda: list(Profile.objects.filter(kind="guest")))()
    assert len(guests) == 1 and guests[0].session_key.startswith("g-")
    await comm.disconnect()


@pytest.mark.parametrize("cookie", ["chatrec_guest=g-0123456789abcdef:forged", "sessionid=abcdefghijklmnopqrstuvwxyz012345"])
async def test_forged_guest_cookies_and_invented_sessions_are_refused(catalog, cookie):
    comm = connect_with(cookie)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_output(timeout=TIMEOUT)) == {"type": "websocket.close", "code": 4401}
    assert await database_sync_to_async(Profile.objects.filter(kind="guest").count)() == 0


async def test_new_guests_from_one_address_are_budgeted(catalog, settings):
    from common.ratelimit import Rate

    settings.CHATREC_RATE_LIMITS = {**settings.CHATREC_RATE_LIMITS, "guest_new": Rate(3, 3600)}
    client = Client()
    codes = []
    for _ in range(6):  # fresh cookies from one address
        cookie = (await database_sync_to_async(client.get)("/")).cookies["chatrec_guest"].value
        client.cookies.clear()
        comm = connect_with(f"chatrec_guest={cookie}")
        assert (await comm.connect())[0]
        if await comm.receive_nothing(timeout=0.3):
            assert (await send_raw(comm, '{"type": "ping"}')) == {"type": "pong"}
            codes.append("open")
            await comm.disconnect()
        else:
            codes.append((await comm.receive_output(timeout=TIMEOUT)).get("code"))
    assert codes == ["open"] * 3 + [4429] * 3
    profiles = await database_sync_to_async(lambda: list(Profile.objects.filter(kind="guest")))()
    assert len(profiles) == 3 and len({p.address_key for p in profiles}) == 1 and profiles[0].address_key


async def test_pages_never_create_a_guest_profile(catalog):
    client = Client()
    await database_sync_to_async(client.get)("/")
    response = await database_sync_to_async(client.get)("/my-data/download")
    assert response.status_code == 403  # no data is kept for a guest who never chatted
    assert not await database_sync_to_async(Profile.objects.filter(kind="guest").exists)()
