"""Rate limits and connection counts kept in the Django cache, so they hold across processes with Redis.

A rate is written like DRF's: "20/min", "5/15min", "100/hour", "3/s". Counting uses fixed windows: the first
event of a window creates its counter, each event adds one, and an event past the limit learns how many
seconds remain until the window ends.
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass

from django.core.cache import cache

UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
         "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")
# Open-socket counters outlive a crashed process by at most this long.
SOCKET_COUNT_TTL = 3600


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """Return the Rate written as "N/unit" or "N/<k>unit"; raise ValueError for anything else."""
    match = _RATE.match(text.lower())
    if not match or match.group(3) not in UNITS:
        raise ValueError(f"not a rate: {text!r} (write it like 20/min, 5/15min, 100/hour)")
    count, multiple, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
    if count < 1 or multiple < 1:
        raise ValueError(f"not a rate: {text!r} (both numbers must be at least 1)")
    return Rate(count=count, seconds=multiple * UNITS[unit])


def _key(*parts: str) -> str:
    """Return a short cache key for any identifiers (they may be long or hold characters keys may not)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"chatrec:rl:{parts[0]}:{digest}"


def hit(scope: str, ident: str, rate: Rate, *, now: float | None = None) -> float | None:
    """Count one event of `scope` by `ident`; return None when allowed, else the seconds until it may retry."""
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    key = _key(scope, ident, str(rate.seconds), str(window))
    cache.add(key, 0, timeout=rate.seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=rate.seconds + 1)
        count = 1
    if count <= rate.count:
        return None
    return max((window + 1) * rate.seconds - now, 0.001)


def peek(scope: str, ident: str, rate: Rate, *, now: float | None = None) -> float | None:
    """Return the seconds until `ident` may act again when its current window is already full, else None."""
    now = time.time() if now is None else now
    window = int(now // rate.seconds)
    count = cache.get(_key(scope, ident, str(rate.seconds), str(window)), 0)
    if count < rate.count:
        return None
    return max((window + 1) * rate.seconds - now, 0.001)


def slot_take(scope: str, ident: str, limit: int) -> bool:
    """Take one of `limit` concurrent slots (e.g. open sockets); return False, taking nothing, when all are used."""
    key = _key(scope, ident)
    cache.add(key, 0, timeout=SOCKET_COUNT_TTL)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=SOCKET_COUNT_TTL)
        count = 1
    cache.touch(key, SOCKET_COUNT_TTL)
    if count > limit:
        slot_release(scope, ident)
        return False
    return True


def slot_release(scope: str, ident: str) -> None:
    """Give back a slot taken with slot_take."""
    key = _key(scope, ident)
    try:
        if cache.decr(key) < 0:
            cache.set(key, 0, timeout=SOCKET_COUNT_TTL)
    except ValueError:
        pass  # the counter expired: nothing to give back
