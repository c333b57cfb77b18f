"""The OpenAI-compatible backend's limits: body size, the call's budget over every try, Retry-After, jitter."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recommender.engine.llm import LLMError, get_backend
from recommender.engine.llm.openai_compat import MAX_BODY_BYTES, retry_after_seconds

HUGE = 200 * 1024 * 1024
REPLY = json.dumps({"choices": [{"message": {"content": "ok"}}]}).encode()


class Hostile(BaseHTTPRequestHandler):
    """Behaviour chosen by the requested model name; `sent` and `tries` record what each one cost."""

    sent: dict = {}
    tries: dict = {}

    def log_message(self, *args):
        pass

    def _flood(self, model: str, ctype: str, chunk: bytes, pause: float = 0.0, length: bool = False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(HUGE))
        self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        try:
            while sent < HUGE:
                self.wfile.write(chunk)
                sent += len(chunk)
                Hostile.sent[model] = sent
                if pause:
                    time.sleep(pause)
        except OSError:  # the client stopped reading and closed
            pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body["model"]
        Hostile.tries[model] = Hostile.tries.get(model, 0) + 1
        if model == "huge-json":      # 200 OK and 200 MB, no length given
            return self._flood(model, "application/json", b" " * 65536)
        if model == "huge-declared":  # says so up front
            return self._flood(model, "application/json", b" " * 65536, length=True)
        if model == "huge-line":      # a stream whose one line never ends
            return self._flood(model, "text/event-stream", b"data: " + b"x" * 65530)
        if model == "trickle":        # a byte now and then, forever: no read ever times out
            return self._flood(model, "application/json", b" ", pause=0.05)
        if model.startswith("busy"):  # 503 "come back in N s" the first time, then an answer
            wait = model.split("-")[1]
            if Hostile.tries[model] == 1:
                self.send_response(503)
                self.send_header("Retry-After", wait)
                self.send_header("Content-Length", "4")
                self.end_headers()
                return self.wfile.write(b"busy")
        if model == "down":
            self.send_response(503)
            self.send_header("Content-Length", "4")
            self.end_headers()
            return self.wfile.write(b"down")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)


@pytest.fixture(scope="module")
def url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def backend(url, model, **extra):
    config = {"backend": "openai", "base_url": url, "model": model, "timeout": 30, "retries": 2, **extra}
    return get_backend(config)


@pytest.mark.parametrize("model", ["huge-json", "huge-declared"])
def test_a_huge_reply_is_given_up_at_the_size_cap(url, model):
    started = time.perf_counter()
    with pytest.raises(LLMError, match="bytes"):
        backend(url, model).complete("hi")
    time.sleep(0.2)  # let the server notice the closed connection
    assert Hostile.tries[model] == 1  # too large is not transient: no retry
    assert Hostile.sent[model] < MAX_BODY_BYTES + 16 * 1024 * 1024  # the cap plus socket buffers, not 200 MB
    assert time.perf_counter() - started < 10


def test_a_stream_line_that_never_ends_is_given_up_at_the_size_cap(url):
    with pytest.raises(LLMError, match="bytes"):
        list(backend(url, "huge-line").generate("hi"))
    time.sleep(0.2)
    assert Hostile.sent["huge-line"] < MAX_BODY_BYTES + 16 * 1024 * 1024


def test_a_reply_trickling_past_the_budget_ends_at_the_budget(url):
    # Every read gets a byte well within the 30 s timeout; only the call's budget can end it.
    started = time.perf_counter()
    with pytest.raises(LLMError, match="budget"):
        backend(url, "trickle", call_budget=0.5).complete("hi")
    assert time.perf_counter() - started < 1.5


def test_retries_stop_at_the_calls_budget(url):
    started = time.perf_counter()
    with pytest.raises(LLMError, match="HTTP 503"):
        backend(url, "down", retries=50, backoff=0.1, call_budget=0.6).complete("hi")
    assert time.perf_counter() - started < 1.2
    assert 2 <= Hostile.tries["down"] < 51


def test_retry_after_is_waited_for_within_the_budget(url):
    started = time.perf_counter()
    assert backend(url, "busy-1", call_budget=5).complete("hi") == "ok"
    assert time.perf_counter() - started >= 1.0 and Hostile.tries["busy-1"] == 2


def test_a_retry_after_past_the_budget_ends_the_call_at_once(url):
    started = time.perf_counter()
    with pytest.raises(LLMError, match="HTTP 503"):
        backend(url, "busy-30", call_budget=2).complete("hi")
    assert time.perf_counter() - started < 0.5 and Hostile.tries["busy-30"] == 1


def test_retry_after_reads_seconds_and_dates():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_backoff_is_jittered():
    from recommender.engine.llm.openai_compat import _RetryAfterOrJitter

    class State:
        outcome = None
        attempt_number = 3

    wait = _RetryAfterOrJitter(backoff=0.2, longest=30)
    waits = {round(wait(State()), 6) for _ in range(20)}
    assert len(waits) > 10 and all(0 <= w <= 0.2 * 2 ** 3 for w in waits)
