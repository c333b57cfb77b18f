"""The REST API's rates: written like every other limit ("5/15min"), checked at start-up."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from chat.throttles import AnonThrottle, UserThrottle

from .test_settings import run_check

pytestmark = pytest.mark.django_db


def test_a_multi_unit_rate_throttles_instead_of_failing(monkeypatch):
    # DRF's own parser reads only the unit's first character: "15min" raised KeyError, a 500 on every call.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/15min", "user": "100/hour"})
    client = APIClient()
    assert [client.get("/api/v1/items").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/api/v1/items")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 800 <= int(refused["Retry-After"]) <= 901  # the window is 15 minutes, not one


def test_throttles_read_the_project_rate_format():
    assert AnonThrottle().parse_rate("5/15min") == (5, 900)
    assert UserThrottle().parse_rate("100/hour") == (100, 3600)
    assert AnonThrottle().parse_rate(None) == (None, None)


@pytest.mark.parametrize("variable", ["CHATREC_API_ANON_RATE", "CHATREC_API_USER_RATE"])
def test_a_bad_api_rate_stops_start_up_in_one_line(variable, tmp_path):
    result = run_check({variable: "5/fortnight"}, tmp_path)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert variable in last and "5/fortnight" in last
