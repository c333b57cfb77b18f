"""ASGI wrappers in front of Django and Channels: a deadline on reading request bodies (and the same bound
on Daphne's own request reading), a same-origin check for websockets.
"""
from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


# ---------------------------------------------------------------- request bodies


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class HttpConcurrency:
    """Run at most `limit` of this process's HTTP requests at once; the others wait for a slot.

    Django runs each request's synchronous part on a thread of its own with a database connection of its own,
    so without a bound a burst of N page loads opens N connections at once. Websockets are not counted: their
    database work runs on the consumer's few fixed threads.
    """

    def __init__(self, app, *, limit: int | None = None):
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit or settings.CHATREC_HTTP_CONCURRENCY)
        async with self._slots:
            return await self.app(scope, receive, send)


class BodyDeadline:
    """Read each HTTP request body within `timeout` seconds and at most `max_bytes`, then hand it to the app.

    A client that announces a Content-Length and sends less would otherwise hold a worker until the server's
    own idle timeout; here it gets 408 as soon as the deadline passes (413 past the size limit), in the API's
    error shape.
    """

    def __init__(self, app, *, timeout: float | None = None, max_bytes: int | None = None):
        self.app = app
        self.timeout = timeout
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        timeout = self.timeout if self.timeout is not None else settings.CHATREC_BODY_TIMEOUT
        max_bytes = self.max_bytes if self.max_bytes is not None else settings.CHATREC_MAX_BODY_BYTES
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    body = message.get("body", b"")
                    size += len(body)
                    if size > max_bytes:
                        return await self._refuse(send, 413, "too_large", "The request is too large.")
                    chunks.append(body)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            log.warning("request body not received within %.1f s: %s", timeout, scope.get("path", ""))
            return await self._refuse(send, 408, "timeout", "The request body did not arrive in time.")
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed_receive():
            if replay:
                return replay.pop()
            return await receive()  # after the body: only http.disconnect remains

        return await self.app(scope, replayed_receive, send)

    @staticmethod
    async def _refuse(send, status: int, code: str, message: str) -> None:
        body = _error_body(code, message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def bound_daphne_request_reads(seconds: float) -> bool:
    """Make Daphne drop a connection whose request (headers or body) stalls for `seconds`; return whether it did.

    Daphne reads the whole body before calling the application, so BodyDeadline never sees a stalled upload
    there; Twisted's idle timeout (60 s by default) is what ends it. Twisted switches that timeout off once a
    request is complete, so responses that take long and upgraded websockets are not affected. A client that
    trickles a byte at a time resets an idle timeout: bounding that is a job for the reverse proxy
    (e.g. nginx's client_body_timeout).
    """
    try:
        from daphne import http_protocol
    except ImportError:  # another ASGI server: BodyDeadline covers it
        return False
    factory = http_protocol.HTTPFactory
    if getattr(factory.__init__, "bounded_reads", None) == seconds:
        return True
    original = getattr(factory.__init__, "original", factory.__init__)

    def __init__(self, server):
        original(self, server)
        self.timeOut = seconds

    __init__.original = original  # type: ignore[attr-defined]
    __init__.bounded_reads = seconds  # type: ignore[attr-defined]
    factory.__init__ = __init__
    return True


# ---------------------------------------------------------------- websocket input


class SocketInputQueue(asyncio.Queue):
    """A websocket's input queue (Daphne's `application_queue`) that stops reading the socket when full.

    Daphne puts every frame it reads into an unbounded queue that the consumer drains one frame at a time; a
    client sending faster than the consumer answers (12 KB broken frames as fast as it can) grew one process
    by hundreds of MiB in seconds. Past `high` waiting frames this pauses reading from the connection (TCP
    then pushes back on the client) and resumes once the consumer has taken it down to half.
    """

    transport = None
    high = 16
    paused = False

    def put_nowait(self, item):
        super().put_nowait(item)
        if not self.paused and self.transport is not None and self.qsize() >= self.high:
            self.paused = True
            self.transport.pauseProducing()

    def get_nowait(self):
        item = super().get_nowait()
        if self.paused and self.qsize() <= self.high // 2:
            self.paused = False
            self.transport.resumeProducing()
        return item


def bound_daphne_socket_queues(max_frames: int) -> bool:
    """Give every websocket Daphne serves a SocketInputQueue of `max_frames`; return whether Daphne is there.

    Daphne makes the queue in `Server.create_application` and hands its `get` to the application at once, so
    the queue is turned into a SocketInputQueue in place (`asyncio.Queue.get` calls `get_nowait`, which is
    looked up on the instance each time) and told the connection's transport.
    """
    try:
        from daphne import server
    except ImportError:
        return False
    original = getattr(server.Server.create_application, "original", server.Server.create_application)

    def create_application(self, protocol, scope):
        queue = original(self, protocol, scope)
        transport = getattr(protocol, "transport", None)
        if queue is not None and scope.get("type") == "websocket" and type(queue) is asyncio.Queue \
                and hasattr(transport, "pauseProducing"):
            queue.__class__ = SocketInputQueue
            queue.transport, queue.high = transport, max(max_frames, 2)
        return queue

    create_application.original = original  # type: ignore[attr-defined]
    server.Server.create_application = create_application
    return True


# ---------------------------------------------------------------- the client's address


def forwarded_client(headers, peer: str | None, trusted_proxies: int) -> str | None:
    """Return the client's address: the connection's peer, or behind `trusted_proxies` proxies the address the
    outermost of them put into X-Forwarded-For (that many entries from the right).

    Every entry left of it was written by the client and proves nothing, so a client sending its own header
    (a new address on each request) is still counted under the address the proxy saw. A request carrying fewer
    entries than there are proxies did not come through them all: its peer is used.
    """
    if trusted_proxies <= 0:
        return peer
    entries = [part.strip() for name, value in headers if name.lower() == b"x-forwarded-for"
               for part in value.decode("latin-1").split(",")]
    entries = [entry for entry in entries if entry]
    if len(entries) < trusted_proxies:
        return peer
    return entries[-trusted_proxies][:64]


class ClientAddress:
    """Settle the client's address once for HTTP and websockets (`scope["client"]`, hence `REMOTE_ADDR`).

    Rate limits per address read it; forwarded headers count only from the CHATREC_TRUSTED_PROXIES proxies the
    deployment says are in front (none by default).
    """

    def __init__(self, app, *, trusted_proxies: int | None = None):
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            proxies = self.trusted_proxies if self.trusted_proxies is not None else settings.CHATREC_TRUSTED_PROXIES
            client = scope.get("client")
            peer = str(client[0]) if client else None
            address = forwarded_client(scope.get("headers") or [], peer, proxies)
            if address != peer:
                scope = dict(scope, client=(address, client[1] if client else 0))
        return await self.app(scope, receive, send)


# ---------------------------------------------------------------- websocket connections per address

CLOSE_TOO_MANY = 4429


class SocketAddressBudget:
    """Count each new websocket as one frame of its client address (the "ws_ip" rate); past it, close the
    socket with 4429 before any session, user or database work.

    A client whose sockets are closed for abuse would otherwise go on by reconnecting, each handshake costing
    a session and profile lookup.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        from asgiref.sync import sync_to_async

        from common import ratelimit

        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = await sync_to_async(ratelimit.hit, thread_sensitive=False)(
            "ws_ip", address, settings.CHATREC_RATE_LIMITS["ws_ip"])
        if wait is None:
            return await self.app(scope, receive, send)
        message = await receive()
        if message["type"] == "websocket.connect":
            # Accepted, then closed: a refused handshake reaches browsers as a bare 1006, without the code.
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TOO_MANY})
        return None


# ---------------------------------------------------------------- websocket origin


def _origin_parts(origin: str) -> tuple[str, str, int] | None:
    """Return (scheme, host, port) of an Origin header, or None when it is not an http(s) origin."""
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def _request_scheme(scope, headers: dict[bytes, bytes]) -> str:
    """Return the scheme the browser used for the page: https behind a trusted TLS proxy or over wss."""
    proxy = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy:
        header = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
        if headers.get(header, b"").decode("latin-1").split(",")[0].strip() == proxy[1]:
            return "https"
    return "https" if scope.get("scheme") == "wss" else "http"


def origin_allowed(scope) -> bool:
    """Return whether a websocket's Origin is this site: same scheme, host and port as the page it came from.

    With a Host header the origin must match it exactly (scheme and port included); without one, the
    origin's host must be allowed and its scheme and port the site's defaults. Origins listed in
    CSRF_TRUSTED_ORIGINS are accepted as written.
    """
    headers = dict(scope.get("headers") or [])
    raw_origin = headers.get(b"origin", b"").decode("latin-1")
    origin = _origin_parts(raw_origin)
    if origin is None:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*" not in trusted and _origin_parts(trusted) == origin:
            return True
    scheme, host, port = origin
    if not validate_host(f"[{host}]" if ":" in host else host, settings.ALLOWED_HOSTS):
        return False
    expected_scheme = _request_scheme(scope, headers)
    if scheme != expected_scheme:
        return False
    host_header = headers.get(b"host", b"").decode("latin-1")
    if host_header:
        page_host, page_port = split_domain_port(host_header)
        page_host = page_host.strip("[]")
        expected_port = int(page_port) if page_port.isdigit() else DEFAULT_PORTS[expected_scheme]
        return (host, port) == (page_host, expected_port)
    return port == DEFAULT_PORTS[scheme]


class SameOriginValidator:
    """Close websockets whose Origin is not this site (cross-site websocket hijacking)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not origin_allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.app(scope, receive, send)
