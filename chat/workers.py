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

from channels.auth import AuthMiddleware, get_user
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware

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


def run_on(pool: str, fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Return an awaitable version of fn that runs on the named pool (its database connections closed after)."""
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await database_sync_to_async(fn, thread_sensitive=False, executor=_pools[pool])(*args, **kwargs)

    return run


def socket_work(fn: Callable[..., R]) -> Callable[..., Awaitable[R]]:
    """Decorate a consumer method doing short database work so it runs on the socket pool."""
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> R:
        return await run_on("socket", fn)(*args, **kwargs)

    return run


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
