"""Where websocket work runs: thread pools of its own, never the process's one thread-sensitive thread.

Channels runs `database_sync_to_async` calls (and its auth middleware's session and user lookups) on a single
thread per process unless told otherwise, so every socket's handshake, feedback and conversation lookups
queued behind each other; under load that queue outlasted the server's handshake limit and sockets were
dropped before they opened. Each kind of work gets a pool instead: a turn's head (up to the item list) on
the largest, so under load the work that puts lists on screens gets most of the interpreter; its tail
(explanations, storing) on a smaller one; a socket's short database work (handshake, feedback, lookups) on
a third, so it never waits behind a turn.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from channels.auth import AuthMiddleware, get_user
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.db import connections

TURN_WORKERS = 4
TAIL_WORKERS = 2
SOCKET_WORKERS = 4
SIZES = {"turn": TURN_WORKERS, "tail": TAIL_WORKERS, "socket": SOCKET_WORKERS}

P = ParamSpec("P")
R = TypeVar("R")


def _new_pools() -> dict[str, ThreadPoolExecutor]:
    return {name: ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"chat-{name}")
            for name, size in SIZES.items()}


_pools = _new_pools()


def _keep_usable_connections() -> None:
    """After a call on a pool thread: close this thread's connections that failed, keep the others open.

    The pools' threads live as long as the process and there are few of them, so each keeps its database
    connections between calls instead of opening new ones (CONN_MAX_AGE=0 is for HTTP requests, whose
    threads end with the request): a new connection per call raised the web processes' CPU per turn under
    load from 24.3 to 34.7 ms on SQLite and from 30.5 to 36.6 ms on PostgreSQL (docs/reliability.md). Django's own check decides, with the age limit lifted; CONN_HEALTH_CHECKS makes the next
    call test a kept connection first, so one cut by a database restart is replaced, not used.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            conn.close_at = None
            conn.close_if_unusable_or_obsolete()


def _call_keeping_connections(fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    try:
        return fn(*args, **kwargs)
    finally:
        _keep_usable_connections()


def run_on(pool: str, fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Return an awaitable version of fn that runs on the named pool (see _keep_usable_connections)."""
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        call = sync_to_async(_call_keeping_connections, thread_sensitive=False, executor=_pools[pool])
        return await call(fn, *args, **kwargs)

    return run


def socket_work(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Decorate a consumer method doing short database work so it runs on the socket pool."""
    return functools.wraps(fn)(run_on("socket", fn))


def reset() -> None:
    """Replace the pools, letting their threads (and their database connections) go."""
    global _pools
    old, _pools = _pools, _new_pools()
    for pool in old.values():
        pool.shutdown(wait=True)


class SocketAuthMiddleware(AuthMiddleware):
    """Channels' auth middleware with the session and user lookup on the socket pool."""

    async def resolve_scope(self, scope):
        scope["user"]._wrapped = await run_on("socket", get_user.func)(scope)


def socket_auth_stack(inner):
    """Cookies, session and user for a websocket, like Channels' AuthMiddlewareStack."""
    return CookieMiddleware(SessionMiddleware(SocketAuthMiddleware(inner)))
