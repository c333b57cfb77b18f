"""Cache-backed rate limits and slots: rate syntax, fixed windows, slot counting."""
from __future__ import annotations

import pytest
from django.core.cache import cache

from common import ratelimit
from common.ratelimit import Rate, parse_rate


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("text, rate", [("20/min", Rate(20, 60)), ("5/15min", Rate(5, 900)),
                                        ("100/hour", Rate(100, 3600)), ("3/s", Rate(3, 1)), (" 7 / day ", Rate(7, 86400))])
def test_rates_are_parsed(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "20", "x/min", "20/fortnight", "0/min", "5/0min", "-1/min"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError):
        parse_rate(text)


def test_bad_rate_in_the_environment_stops_start_up(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    from chatrec_site import settings as site_settings

    monkeypatch.setenv("CHATREC_WS_TURN_RATE", "lots")
    with pytest.raises(ImproperlyConfigured, match="CHATREC_WS_TURN_RATE"):
        importlib.reload(site_settings)
    monkeypatch.delenv("CHATREC_WS_TURN_RATE")
    importlib.reload(site_settings)


def test_hits_past_the_limit_wait_for_the_next_window():
    rate = Rate(3, 60)
    now = 6000.0  # the start of a window
    assert [ratelimit.hit("t", "a", rate, now=now + i) for i in range(3)] == [None, None, None]
    assert ratelimit.hit("t", "a", rate, now=now + 10) == pytest.approx(50)
    assert ratelimit.peek("t", "a", rate, now=now + 10) == pytest.approx(50)
    assert ratelimit.hit("t", "b", rate, now=now + 10) is None  # another identity has its own count
    assert ratelimit.hit("t", "a", rate, now=now + 60) is None  # a new window


def test_slots_are_taken_and_given_back():
    assert ratelimit.slot_take("sock", "s", 2) and ratelimit.slot_take("sock", "s", 2)
    assert not ratelimit.slot_take("sock", "s", 2)
    ratelimit.slot_release("sock", "s")
    assert ratelimit.slot_take("sock", "s", 2)
    for _ in range(5):
        ratelimit.slot_release("sock", "s")  # extra releases never leave credit behind
    assert ratelimit.slot_take("sock", "s", 1) and not ratelimit.slot_take("sock", "s", 1)
