"""The circuit breaker against real sockets: a server that accepts and never answers, then one that answers."""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from recommender.engine.llm import CircuitBreaker, LLMError, start_backend
from recommender.engine.llm.openai_compat import OpenAICompatBackend

REPLY = {"choices": [{"message": {"content": "pong"}}]}


class FlakyServer:
    """A TCP server on 127.0.0.1 that either holds every connection silently or answers one JSON reply."""

    def __init__(self):
        self.hang = True
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.hang:
                self.held.append(conn)  # accepted, never answered
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length")), 0)
            while len(body) < length:
                body += conn.recv(65536)
            payload = json.dumps(REPLY).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)

    def close(self):
        self.stopped = True
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def server():
    srv = FlakyServer()
    yield srv
    srv.close()


def remote(server, timeout=30.0):
    return OpenAICompatBackend(base_url=server.url, model="m", timeout=timeout, retries=1, backoff=0.01)


def test_a_hung_server_never_holds_a_call_past_its_budget(server):
    breaker = CircuitBreaker(remote(server), call_budget=0.3, failure_threshold=2, probe_interval=60,
                             start_closed=True)
    try:
        for _ in range(2):
            started = time.perf_counter()
            with pytest.raises(LLMError):
                breaker.complete("hello", max_tokens=4)
            assert time.perf_counter() - started < 1.0
        assert breaker.state == "open" and not breaker.enabled
        started = time.perf_counter()
        with pytest.raises(LLMError, match="unavailable"):
            list(breaker.generate("hello"))
        assert time.perf_counter() - started < 0.05  # open: fails at once, no new connection
    finally:
        breaker.close()


def test_start_up_does_not_wait_and_recovery_is_found_in_the_background(server):
    config = {"backend": "openai", "base_url": server.url, "model": "m", "timeout": 30, "retries": 0,
              "call_budget": 0.3, "probe_interval": 0.2}
    started = time.perf_counter()
    backend, error = start_backend(config)
    try:
        assert time.perf_counter() - started < 0.2 and error is None
        assert isinstance(backend, CircuitBreaker) and not backend.enabled
        time.sleep(0.8)
        assert not backend.enabled and "0.3 s" in (backend.last_error or "")
        server.hang = False  # the server comes back
        deadline = time.monotonic() + 5
        while not backend.enabled and time.monotonic() < deadline:
            time.sleep(0.05)
        assert backend.enabled and backend.state == "closed"
        assert backend.complete("ping", max_tokens=4) == "pong"
    finally:
        backend.close()


def test_streams_are_bounded_as_a_whole_not_per_chunk():
    from recommender.engine.llm.base import LLMBackend

    class Trickle(LLMBackend):
        name = "trickle"

        def _stream(self, prompt, max_tokens, stop, temperature):
            for _ in range(100):
                time.sleep(0.05)
                yield "x"

    breaker = CircuitBreaker(Trickle(), call_budget=0.4, failure_threshold=5, start_closed=True)
    got = []
    started = time.perf_counter()
    with pytest.raises(LLMError):
        for chunk in breaker.generate("p", max_tokens=100):
            got.append(chunk)
    assert time.perf_counter() - started < 0.8 and 0 < len(got) < 100
    assert breaker.state == "closed"  # one slow answer is not an outage


def test_a_process_with_a_hung_call_still_exits_promptly(server, tmp_path):
    """What SIGTERM waits for: turn threads are free after the budget, and the hung request is on a daemon."""
    import subprocess
    import sys

    script = tmp_path / "hung.py"
    script.write_text(
        "import sys, time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from recommender.engine.llm import CircuitBreaker, LLMError\n"
        "from recommender.engine.llm.openai_compat import OpenAICompatBackend\n"
        f"b = CircuitBreaker(OpenAICompatBackend(base_url={server.url!r}, model='m', timeout=60, retries=2),\n"
        "                   call_budget=0.3, start_closed=True)\n"
        "def turn():\n"
        "    try:\n"
        "        b.complete('hi')\n"
        "    except LLMError:\n"
        "        return 'no llm'\n"
        "with ThreadPoolExecutor(2) as pool:\n"
        "    print(pool.submit(turn).result())\n"
        "sys.exit(0)\n")
    started = time.perf_counter()
    root = str(Path(__file__).resolve().parents[3])
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, cwd=root,
                          env={**os.environ, "PYTHONPATH": root})
    assert done.returncode == 0 and done.stdout.strip() == "no llm", done.stderr
    assert time.perf_counter() - started < 15  # not the 60 s read timeout times three tries
