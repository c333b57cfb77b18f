"""Abuse limits for the chat websocket: open sockets per actor, and frames per actor and per client address.

An actor is a profile: a signed-in user or a guest. The rates live in settings.CHATREC_RATE_LIMITS
and the counters in the Django cache (common/ratelimit.py), so they hold across processes with Redis.
"""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings

from common import ratelimit

CLOSE_TOO_MANY_SOCKETS = 4429
RATE_LIMITED = "rate_limited"
# Frames that cost real work get their own, tighter limit on top of the general one.
COSTLY_FRAMES = {"message": "ws_turn", "feedback": "ws_feedback"}


def actor_of(profile) -> str:
    """Return who is acting on this socket: its profile (one per signed-in user or guest)."""
    return f"profile:{profile.pk}"


def client_address(scope) -> str:
    """Return the client's address as the server saw it (Daphne sets it from proxy headers when told to)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _frame_wait(actor: str, address: str, frame_type: str) -> float | None:
    rates = settings.CHATREC_RATE_LIMITS
    checks = [("ws_ip", address), ("ws_frame", actor)]
    if frame_type in COSTLY_FRAMES:
        checks.append((COSTLY_FRAMES[frame_type], actor))
    waits = [ratelimit.hit(name, ident, rates[name]) for name, ident in checks]
    refused = [w for w in waits if w is not None]
    return max(refused) if refused else None


async def frame_wait(actor: str, address: str, frame_type: str) -> float | None:
    """Count one frame; return None when it may be handled, else the seconds until the actor may retry."""
    return await sync_to_async(_frame_wait, thread_sensitive=False)(actor, address, frame_type)


async def socket_open(actor: str) -> bool:
    """Take one of the actor's CHATREC_WS_MAX_SOCKETS socket slots; return False when all are in use."""
    return await sync_to_async(ratelimit.slot_take, thread_sensitive=False)(
        "ws_sockets", actor, settings.CHATREC_WS_MAX_SOCKETS)


async def socket_close(actor: str) -> None:
    """Give back the actor's socket slot."""
    await sync_to_async(ratelimit.slot_release, thread_sensitive=False)("ws_sockets", actor)


def refusal_message(wait: float) -> str:
    """Return the text sent with a rate_limited error."""
    return f"Too many requests; try again in {max(int(wait + 0.999), 1)} s."
