"""The OpenAI-compatible backend against a tiny local HTTP server started by the test."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from recommender.engine.llm import LLMError, get_backend


class Handler(BaseHTTPRequestHandler):
    # Behaviour is chosen by the requested model name so one server covers every case.
    counts: dict = {}

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        model = body.get("model", "")
        Handler.counts[model] = Handler.counts.get(model, 0) + 1
        if self.headers.get("Authorization") != "Bearer secret":
            return self._send(401, '{"error": "no key"}')
        if self.path.endswith("/embeddings"):
            data = [{"index": i, "embedding": [float(len(t)), 1.0]} for i, t in enumerate(body["input"])]
            return self._send(200, json.dumps({"data": data}))
        if model == "slow":
            time.sleep(1.0)
            return self._send(200, json.dumps({"choices": [{"message": {"content": "late"}}]}))
        if model == "malformed":
            return self._send(200, "{not json")
        if model == "bad-event" and body.get("stream"):
            return self._send(200, "data: {oops\n\n", "text/event-stream")
        if model == "always500":
            return self._send(500, "boom")
        if model == "bad-request":
            return self._send(400, "bad")
        if model == "flaky" and Handler.counts[model] == 1:
            return self._send(500, "try again")
        words = ["Hello", " from", " the", " server"][: body["max_tokens"]]
        if body.get("stream"):
            events = []
            for w in words:
                delta = {"delta": {"content": w}} if "messages" in body else {"text": w}
                events.append("data: " + json.dumps({"choices": [delta]}) + "\n\n")
            events.append(": keep-alive comment\n\ndata: [DONE]\n\n")
            return self._send(200, "".join(events), "text/event-stream")
        key = {"message": {"content": "".join(words)}} if "messages" in body else {"text": "".join(words)}
        return self._send(200, json.dumps({"choices": [key]}))


@pytest.fixture(scope="module")
def server_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def make(url, model="ok", **extra):
    config = {"backend": "openai", "base_url": url, "model": model, "api_key": "secret", "timeout": 0.3, "retries": 1}
    config.update(extra)
    return get_backend(config)


def test_streams_sse_chunks_from_chat_endpoint(server_url):
    chunks = list(make(server_url).generate("hi", max_tokens=8))
    assert chunks == ["Hello", " from", " the", " server"]


def test_streams_from_plain_completions_endpoint(server_url):
    backend = make(server_url, chat=False)
    assert backend.complete("hi", max_tokens=2) == "Hello from"
    assert "".join(backend.generate("hi", max_tokens=3)) == "Hello from the"


def test_check_passes_against_a_live_server(server_url):
    make(server_url).check()


def test_timeout_becomes_llm_error_after_retries(server_url):
    before = Handler.counts.get("slow", 0)
    with pytest.raises(LLMError, match="failed after 2 tries"):
        make(server_url, model="slow").complete("hi")
    assert Handler.counts["slow"] - before == 2


def test_malformed_json_is_an_llm_error(server_url):
    with pytest.raises(LLMError, match="malformed"):
        make(server_url, model="malformed").complete("hi")


def test_malformed_stream_event_is_an_llm_error(server_url):
    with pytest.raises(LLMError, match="malformed event"):
        list(make(server_url, model="bad-event").generate("hi"))


def test_500_is_retried_and_then_succeeds(server_url):
    assert make(server_url, model="flaky").complete("hi", max_tokens=1) == "Hello"
    assert Handler.counts["flaky"] == 2


def test_persistent_500_fails_with_status(server_url):
    with pytest.raises(LLMError, match="HTTP 500"):
        list(make(server_url, model="always500").generate("hi"))


def test_client_errors_are_not_retried(server_url):
    with pytest.raises(LLMError, match="HTTP 400"):
        make(server_url, model="bad-request", retries=3).complete("hi")
    assert Handler.counts["bad-request"] == 1


def test_wrong_key_is_reported(server_url):
    with pytest.raises(LLMError, match="HTTP 401"):
        make(server_url, api_key="wrong").complete("hi")


def test_unreachable_server_fails_fast():
    with pytest.raises(LLMError):
        make("http://127.0.0.1:9/v1", retries=0).complete("hi")


def test_embeddings(server_url):
    assert make(server_url).embed(["ab", "abcd"]) == [[2.0, 1.0], [4.0, 1.0]]
