"""LLM-written replies reach the websocket token by token as the server writes them, and REST gets them whole.

A tiny OpenAI-compatible server, started by the test, streams its reply as server-sent events with a pause
between chunks; the backend talks to it through the circuit breaker, as a configured `openai` backend does.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework.test import APIClient

from recommender import selectors
from recommender.engine.llm import CircuitBreaker
from recommender.engine.llm.openai_compat import OpenAICompatBackend
from tests.chat.test_consumers import _release_turn_threads  # noqa: F401 - the turn threads' connections go

CHUNKS = ["Hello", " there", "! Glad", " you", " stopped", " by.", " Shall I", " recommend", " something?"]
NAMES_A_TITLE = ["Fargo", " is", " a great", " film", " for", " tonight."]
PAUSE_S = 0.08


class SSEServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, chunks):
        super().__init__(("127.0.0.1", 0), SSEHandler)
        self.chunks = chunks
        self.last_chunk_sent_at = 0.0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class SSEHandler(BaseHTTPRequestHandler):
    server: SSEServer

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not body.get("stream"):
            data = json.dumps({"choices": [{"message": {"content": "ok"}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for chunk in self.server.chunks:
            event = {"choices": [{"delta": {"content": chunk}}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            self.server.last_chunk_sent_at = time.monotonic()
            time.sleep(PAUSE_S)
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


@pytest.fixture
def llm_server(request, monkeypatch, settings):
    server = SSEServer(getattr(request, "param", CHUNKS))
    breaker = CircuitBreaker(OpenAICompatBackend(server.url, "m", retries=0), call_budget=10.0, start_closed=True)
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: breaker)
    settings.CHATREC_LLM_REPLY = True
    yield server
    breaker.close()
    server.shutdown()
    server.server_close()


def ask_rest(text):
    body = json.dumps({"messages": [{"role": "user", "content": text}]})
    response = APIClient().post("/api/v1/recommend", data=body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_rest_gets_the_written_reply_whole(catalog, llm_server):
    answer = ask_rest("hello there")
    assert answer["intent"] == "chitchat" and answer["reply"] == "".join(CHUNKS)


@pytest.mark.django_db
@pytest.mark.parametrize("llm_server", [NAMES_A_TITLE], indirect=True)
def test_a_written_reply_that_fails_its_check_is_replaced_by_the_template(catalog, llm_server):
    answer = ask_rest("hello there")
    assert answer["reply"] != "".join(NAMES_A_TITLE) and answer["reply"].startswith("Hi!")


@pytest.mark.django_db
def test_without_the_setting_the_template_reply_is_sent(catalog, llm_server, settings):
    settings.CHATREC_LLM_REPLY = False
    assert ask_rest("hello there")["reply"].startswith("Hi!")


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.parametrize("llm_server", [CHUNKS, NAMES_A_TITLE], indirect=True)
async def test_the_websocket_streams_the_written_reply_as_it_is_produced(catalog, guest, llm_server):
    from chatrec_site.asgi import application

    comm = WebsocketCommunicator(application, "/ws/chat/", headers=[
        (b"origin", b"http://testserver"), (b"cookie", f"sessionid={guest[1]}".encode())])
    assert (await comm.connect())[0]
    try:
        await comm.send_json_to({"type": "message", "text": "hello there"})
        frames, arrived = [], []
        while not frames or frames[-1]["type"] != "chat.done":
            frames.append(await comm.receive_json_from(timeout=15))
            arrived.append(time.monotonic())
    finally:
        await comm.disconnect()
    tokens = [(f, at) for f, at in zip(frames, arrived) if f["type"] == "chat.token"]
    assert len(tokens) >= 5 and "".join(f["text"] for f, _ in tokens) == "".join(llm_server.chunks)
    # The first piece was on screen while the server was still writing the rest.
    assert tokens[0][1] < llm_server.last_chunk_sent_at
    replaced = [f for f in frames if f["type"] == "chat.replace"]
    if llm_server.chunks is NAMES_A_TITLE:
        assert len(replaced) == 1 and replaced[0]["text"].startswith("Hi!") and "Fargo" in replaced[0]["reason"]
        assert [f["type"] for f in frames].index("chat.replace") > [f["type"] for f in frames].index("chat.token")
    else:
        assert not replaced
