"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) over HTTP, with timeouts and retries."""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator

import httpx

from .base import LLMBackend, LLMError

# Server-side failures worth another try; 4xx replies are the caller's mistake and fail at once.
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
CONNECT_TIMEOUT = 2.0


class OpenAICompatBackend(LLMBackend):
    """Streams completions from `{base_url}/chat/completions` (or `/completions` when chat=False)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        chat: bool = True,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ):
        if not base_url or not model:
            raise LLMError("the openai backend needs 'base_url' and 'model'")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.chat = chat
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # A server that is down should be noticed in a second or two, whatever the read timeout.
        timeouts = httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT))
        self._client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeouts, transport=transport)

    def _payload(self, prompt, max_tokens, stop, temperature, stream):
        body = {"model": self.model, "max_tokens": max_tokens, "temperature": temperature, "stream": stream}
        if stop:
            body["stop"] = stop
        if self.chat:
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        return body

    def _with_retries(self, call):
        """Run call() and retry transient failures; return its result or raise LLMError."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                return call()
            except _Retryable as exc:
                last = exc.__cause__ or exc
            except httpx.TimeoutException as exc:
                last = exc
            except httpx.TransportError as exc:
                last = exc
            if attempt < self.retries:
                time.sleep(self.backoff * (2**attempt))
        raise LLMError(f"openai backend at {self.base_url} failed after {self.retries + 1} tries: {last}")

    def _stream(self, prompt, max_tokens, stop, temperature) -> Iterable[str]:
        path = "/chat/completions" if self.chat else "/completions"
        body = self._payload(prompt, max_tokens, stop, temperature, stream=True)

        def open_stream():
            request = self._client.build_request("POST", path, json=body)
            response = self._client.send(request, stream=True)
            _raise_for_status(response)
            return response

        response = self._with_retries(open_stream)
        try:
            yield from self._sse_texts(response)
        except httpx.TimeoutException as exc:
            # Once tokens flowed a retry would repeat them, so a mid-stream timeout is final.
            raise LLMError(f"openai backend timed out mid-stream: {exc}") from exc
        except httpx.TransportError as exc:
            raise LLMError(f"openai backend connection failed mid-stream: {exc}") from exc
        finally:
            response.close()

    def _sse_texts(self, response: httpx.Response) -> Iterator[str]:
        ctype = response.headers.get("content-type", "")
        if "text/event-stream" not in ctype:
            # Some servers ignore stream=true and answer with one JSON body.
            response.read()
            yield self._text_of(_json_of(response))
            return
        for line in response.iter_lines():
            if not line or line.startswith(":") or not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError as exc:
                raise LLMError(f"openai backend sent a malformed event: {data[:80]!r}") from exc
            if isinstance(event, dict) and event.get("error"):
                raise LLMError(f"openai backend reported an error: {event['error']}")
            text = self._text_of(event, delta=True)
            if text:
                yield text

    def _text_of(self, event, delta: bool = False) -> str:
        try:
            choice = event["choices"][0]
            if self.chat:
                part = choice.get("delta") if delta else choice.get("message")
                if part is None and not delta:
                    part = choice.get("delta")
                return (part or {}).get("content") or ""
            return choice.get("text") or ""
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise LLMError(f"openai backend reply has no choices: {str(event)[:80]!r}") from exc

    def complete(self, prompt, *, max_tokens=64, stop=None, temperature=0.0, schema=None) -> str:
        """Return the whole reply from one non-streaming request, constrained to `schema` when given.

        The schema goes out both as OpenAI's `response_format` and as vLLM's `guided_json`; a server that
        refuses them (HTTP 400) is asked once more without, and the caller validates the reply either way.
        """
        path = "/chat/completions" if self.chat else "/completions"
        body = self._payload(prompt, max_tokens, list(stop or []), temperature, stream=False)

        def call(payload):
            response = self._client.post(path, json=payload)
            _raise_for_status(response)
            return _json_of(response)

        if schema is not None:
            try:
                return self._text_of(self._with_retries(lambda: call({**body, **structured_output(schema)})))
            except LLMError as exc:
                if "HTTP 400" not in str(exc):
                    raise
        return self._text_of(self._with_retries(lambda: call(body)))

    def embed(self, texts):
        """Return vectors from `{base_url}/embeddings`."""
        def call():
            response = self._client.post("/embeddings", json={"model": self.model, "input": list(texts)})
            _raise_for_status(response)
            return _json_of(response)

        data = self._with_retries(call)
        try:
            rows = sorted(data["data"], key=lambda row: row.get("index", 0))
            return [list(map(float, row["embedding"])) for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise LLMError("openai backend sent malformed embeddings") from exc

    def check(self) -> None:
        """Raise LLMError unless the server answers a one-token completion."""
        self.complete("Hello", max_tokens=1)

    def describe(self) -> str:
        return f"openai-compatible ({self.base_url}, model {self.model})"


def structured_output(schema) -> dict:
    """Return the request fields that ask OpenAI-compatible servers for JSON matching a schema."""
    return {"response_format": {"type": "json_schema",
                                "json_schema": {"name": "reply", "schema": dict(schema), "strict": True}},
            "guided_json": dict(schema)}


class _Retryable(Exception):
    """A transient HTTP status, retried by _with_retries."""


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.read().decode("utf-8", "replace")[:200]
    except httpx.HTTPError:
        detail = ""
    response.close()
    error = LLMError(f"openai backend answered HTTP {response.status_code}: {detail}")
    if response.status_code in RETRY_STATUS:
        raise _Retryable(str(error)) from error
    raise error


def _json_of(response: httpx.Response):
    try:
        return response.json()
    except ValueError as exc:
        raise LLMError(f"openai backend sent malformed JSON: {response.text[:80]!r}") from exc
