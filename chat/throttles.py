"""The REST API's throttles: DRF's anonymous and per-user throttles, reading rates the way every limit here does.

DRF's own parser looks only at the first character of a rate's unit: "5/15min" finds no unit "1" and every
throttled call ends in a 500, and "5/month" would silently mean five a minute. These read the rate with
`common.ratelimit.parse_rate` ("60/min", "5/15min", "100/hour"), the parser the websocket and sign-in
limits use, and settings check the variables with it at start-up.
"""
from __future__ import annotations

from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from common.ratelimit import parse_rate


def _drf_rate(rate: str | None) -> tuple[int | None, int | None]:
    """Return DRF's (requests, seconds) for a rate written like "5/15min"; (None, None) when unset."""
    if rate is None:
        return None, None
    parsed = parse_rate(rate)
    return parsed.count, parsed.seconds


class AnonThrottle(AnonRateThrottle):
    """Anonymous calls per client address (CHATREC_API_ANON_RATE)."""

    def parse_rate(self, rate):
        return _drf_rate(rate)


class UserThrottle(UserRateThrottle):
    """Calls per signed-in or token user (CHATREC_API_USER_RATE)."""

    def parse_rate(self, rate):
        return _drf_rate(rate)
