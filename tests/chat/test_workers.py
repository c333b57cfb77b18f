"""The websocket pools' threads keep their database connections between calls, and replace broken ones."""
from __future__ import annotations

import threading

import pytest
from django.db import connection

from chat import workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _fresh_pools():
    workers.reset()
    yield
    workers.reset()  # let the kept connections go with their threads


def _which_connection(break_it: bool = False) -> tuple[int, object]:
    connection.ensure_connection()
    raw = connection.connection
    if break_it:  # as a database restart would: a statement failed and the connection no longer answers
        connection.errors_occurred = True
        connection.is_usable = lambda: False  # what PostgreSQL's check answers then (SQLite's never fails)
    return threading.get_ident(), raw  # the object itself: an id could be reused once it is freed


async def test_a_pool_thread_reuses_its_connection():
    seen: dict[int, list[object]] = {}
    for _ in range(6):
        thread, raw = await workers.run_on("socket", _which_connection)()
        seen.setdefault(thread, []).append(raw)
    assert all(all(r is raws[0] for r in raws) for raws in seen.values())  # one connection per thread, however many calls


@pytest.mark.skipif(connection.vendor == "sqlite", reason="Django never closes SQLite's in-memory test database; "
                    "make test-postgres runs this")
async def test_a_pool_thread_replaces_a_connection_that_stopped_working():
    thread, broken = await workers.run_on("tail", _which_connection)(break_it=True)
    # The pool starts a new thread for a call while it has fewer than its size and none is idle, so under load
    # several calls may pass before the same thread comes round again.
    for _ in range(20 * workers.SIZES["tail"]):
        again, raw = await workers.run_on("tail", _which_connection)()
        if again == thread:
            assert raw is not broken  # the broken one was closed after its call, a new one opened
            break
    else:
        pytest.fail("the tail pool never ran on the same thread again")
