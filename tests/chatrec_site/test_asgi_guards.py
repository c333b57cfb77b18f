"""The ASGI guards: request bodies under a deadline, websockets from this site's exact origin only."""
from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chatrec_site.asgi_guards import BodyDeadline, HttpConcurrency, origin_allowed
from common.safejson import UnsafeJSON, loads_untrusted


async def _echo_app(scope, receive, send):
    message = await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": message["body"]})


async def _run(app, messages, hang_after=True):
    sent = []
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        if hang_after:
            await asyncio.sleep(3600)  # a client that announced more than it sends
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "path": "/api/v1/recommend", "headers": [(b"content-length", b"100")]}
    await app(scope, receive, send)
    return sent


def run_async(coroutine):
    """Run a coroutine on a fresh loop in its own thread (the browser tests leave a loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_short_body_is_answered_408_within_the_deadline():
    app = BodyDeadline(_echo_app, timeout=0.3, max_bytes=1000)
    started = time.perf_counter()
    partial = [{"type": "http.request", "body": b"{\"a\"", "more_body": True}]
    sent = run_async(asyncio.wait_for(_run(app, partial), 5))
    assert time.perf_counter() - started < 2
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["error"]["code"] == "timeout"


def test_whole_body_is_passed_on_and_oversized_is_413():
    app = BodyDeadline(_echo_app, timeout=1, max_bytes=10)
    ok = run_async(_run(app, [{"type": "http.request", "body": b"abc", "more_body": True},
                                {"type": "http.request", "body": b"def", "more_body": False}]))
    assert ok[0]["status"] == 200 and ok[1]["body"] == b"abcdef"
    big = run_async(_run(app, [{"type": "http.request", "body": b"x" * 11, "more_body": True}]))
    assert big[0]["status"] == 413


def _ws(origin: str, host: str | None = None, scheme: str = "ws", extra=()):
    headers = [(b"origin", origin.encode())]
    if host:
        headers.append((b"host", host.encode()))
    return {"type": "websocket", "scheme": scheme, "headers": headers + list(extra)}


@pytest.mark.parametrize("origin, host, scheme, allowed", [
    ("http://127.0.0.1:8000", "127.0.0.1:8000", "ws", True),
    ("http://127.0.0.1:9999", "127.0.0.1:8000", "ws", False),    # another port on the same host
    ("https://127.0.0.1:8000", "127.0.0.1:8000", "ws", False),   # another scheme
    ("http://localhost:8000", "127.0.0.1:8000", "ws", False),    # another host name
    ("https://localhost", "localhost", "wss", True),
    ("http://localhost", "localhost", "wss", False),
    ("http://evil.example", "evil.example", "ws", False),        # not an allowed host
    ("http://[::1]:8000", "[::1]:8000", "ws", True),
    ("http://testserver", None, "ws", True),                     # no Host header: default port only
    ("http://testserver:81", None, "ws", False),
    ("null", "127.0.0.1:8000", "ws", False),
    ("", "127.0.0.1:8000", "ws", False),
    ("http://127.0.0.1:notaport", "127.0.0.1:8000", "ws", False),
])
def test_origin_must_match_scheme_host_and_port(settings, origin, host, scheme, allowed):
    settings.CSRF_TRUSTED_ORIGINS = []
    assert origin_allowed(_ws(origin, host, scheme)) is allowed


def test_proxy_header_sets_the_scheme_only_when_trusted(settings):
    settings.CSRF_TRUSTED_ORIGINS = []
    forwarded = [(b"x-forwarded-proto", b"https")]
    scope = _ws("https://localhost", "localhost", "ws", forwarded)
    settings.SECURE_PROXY_SSL_HEADER = None
    assert not origin_allowed(scope)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert origin_allowed(scope)


def test_trusted_origins_are_accepted_as_written(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com:8443"]
    assert origin_allowed(_ws("https://chat.example.com:8443", "internal:8000"))
    assert not origin_allowed(_ws("https://chat.example.com", "internal:8000"))


@pytest.mark.parametrize("text", [
    "[" * 100_000, '{"a": 1e400}', '{"a": -1e999}', "[NaN]", "[Infinity]", '"\\ud800"', '{"\\udfff": 1}',
    "1" * 5000, str(2**64), b"\xff", "{",
])
def test_untrusted_json_is_refused_with_one_error_type(text):
    with pytest.raises(UnsafeJSON):
        loads_untrusted(text)


def test_integers_past_64_bits_are_refused_but_large_floats_pass():
    # orjson widens an integer literal past 64 bits into a float; it must still be refused as an integer.
    for text in (str(2**64), str(-(2**63) - 1), '{"k": [18446744073709551616]}'):
        with pytest.raises(UnsafeJSON, match="64 bits"):
            loads_untrusted(text)
    assert loads_untrusted("[1e19, 1.5e300, 9223372036854775807]") == [1e19, 1.5e300, 2**63 - 1]
    assert loads_untrusted(b'{"t": "\xe4\xbd\xa0\xe5\xa5\xbd"}') == {"t": "你好"}


def test_untrusted_json_passes_ordinary_values():
    text = '{"a": [1, 2.5, "x\\u00e9\\ud83d\\ude00", {"b": null}], "s": "[[[[{{{"}'
    assert loads_untrusted(text) == {"a": [1, 2.5, "xé😀", {"b": None}], "s": "[[[[{{{"}
    assert loads_untrusted("[" * 32 + "]" * 32) is not None
    with pytest.raises(UnsafeJSON):
        loads_untrusted("[" * 33 + "]" * 33)


def test_daphne_drops_a_stalled_request_after_the_body_timeout():
    from daphne.http_protocol import HTTPFactory

    from chatrec_site.asgi_guards import bound_daphne_request_reads

    assert bound_daphne_request_reads(3.5)
    assert HTTPFactory(server=None).timeOut == 3.5  # Twisted's idle timeout while a request is read (was 60 s)
    assert bound_daphne_request_reads(7.0)  # applying it again replaces the bound, it does not stack
    assert HTTPFactory(server=None).timeOut == 7.0
    from django.conf import settings

    import chatrec_site.asgi  # noqa: F401 - the ASGI module applies the configured bound

    bound_daphne_request_reads(settings.CHATREC_BODY_TIMEOUT)
    assert HTTPFactory(server=None).timeOut == settings.CHATREC_BODY_TIMEOUT


async def test_http_requests_beyond_the_limit_wait_for_a_slot():
    inside, most, release = 0, 0, asyncio.Event()

    async def app(scope, receive, send):
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await release.wait()
        inside -= 1

    guarded = HttpConcurrency(app, limit=2)
    requests = [asyncio.create_task(guarded({"type": "http"}, None, None)) for _ in range(5)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert inside == 2  # three are waiting, not running
    release.set()
    await asyncio.gather(*requests)
    assert most == 2 and inside == 0
    # Websockets are never held back.
    release.clear()
    sockets = [asyncio.create_task(guarded({"type": "websocket"}, None, None)) for _ in range(3)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert inside == 3
    release.set()
    await asyncio.gather(*sockets)


class FakeTransport:
    def __init__(self):
        self.reading = True
        self.pauses = 0

    def pauseProducing(self):  # noqa: N802 - Twisted's name
        self.reading = False
        self.pauses += 1

    def resumeProducing(self):  # noqa: N802 - Twisted's name
        self.reading = True


async def test_a_websocket_queue_stops_reading_when_full_and_resumes_when_drained():
    from daphne.server import Server

    from chatrec_site.asgi_guards import SocketInputQueue, bound_daphne_socket_queues

    assert bound_daphne_socket_queues(8)
    assert bound_daphne_socket_queues(8)  # applying it again does not stack
    transport = FakeTransport()
    protocol = type("Protocol", (), {"transport": transport})()
    server = Server.__new__(Server)
    server.connections = {protocol: {}}

    async def app(scope, receive, send):
        await asyncio.sleep(3600)

    server.application = app
    queue = server.create_application(protocol, {"type": "websocket"})
    assert isinstance(queue, SocketInputQueue)
    for n in range(20):  # Daphne goes on delivering what it already read; the socket is no longer read
        queue.put_nowait({"type": "websocket.receive", "text": str(n)})
        assert transport.reading == (n < 7)
    while queue.qsize() > 4:
        await queue.get()
    assert transport.reading and transport.pauses == 1
    assert [(await queue.get())["text"] for _ in range(4)] == ["16", "17", "18", "19"]  # nothing dropped
    server.connections[protocol]["application_instance"].cancel()
    http = type("Protocol", (), {"transport": FakeTransport()})()
    server.connections[http] = {}
    assert type(server.create_application(http, {"type": "http"})) is asyncio.Queue  # HTTP bodies: as before
    server.connections[http]["application_instance"].cancel()


@pytest.mark.parametrize("proxies, forwarded, client", [
    (0, [b"1.2.3.4"], "10.0.0.9"),                      # no proxy trusted: the header is the client's own
    (1, [b"6.6.6.6, 1.2.3.4"], "1.2.3.4"),              # the proxy appended what it saw; the rest is the client's
    (1, [b"6.6.6.6", b"1.2.3.4"], "1.2.3.4"),           # two headers count as one list
    (2, [b"6.6.6.6, 1.2.3.4, 10.1.1.1"], "1.2.3.4"),
    (2, [b"1.2.3.4"], "10.0.0.9"),                      # fewer entries than proxies: not through them all
    (1, [], "10.0.0.9"),
])
def test_the_client_address_comes_from_trusted_proxies_only(proxies, forwarded, client):
    from chatrec_site.asgi_guards import ClientAddress

    seen = {}

    async def app(scope, receive, send):
        seen["client"] = scope["client"]

    headers = [(b"x-forwarded-for", value) for value in forwarded]
    for kind in ("http", "websocket"):
        scope = {"type": kind, "client": ("10.0.0.9", 5000), "headers": headers}
        asyncio.run(ClientAddress(app, trusted_proxies=proxies)(scope, None, None))
        assert seen["client"][0] == client
