"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama) over HTTP, with timeouts, retries and limits.

- Every call (all its tries together) ends within `call_budget` seconds when one is given: each try's read
  timeout is cut to what is left, and no retry starts that could not finish in time. The circuit breaker
  gives the same budget, so a call it stops waiting for ends by itself instead of downloading on.
- Retries (tenacity) are for transient failures only: connection errors, timeouts and 408/425/429/5xx. They
  wait a random, growing time (full jitter, so many processes do not retry in step), or what the server's
  `Retry-After` asks when it says; a wait past the budget ends the call instead.
- Every body is read in pieces and given up past `max_body_bytes`: a server answering 200 with hundreds of
  megabytes costs this process at most that much, not the whole body per abandoned thread.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from .base import LLMBackend, LLMError

# Server-side failures worth another try; 4xx replies are the caller's mistake and fail at once.
RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}
CONNECT_TIMEOUT = 2.0
# A completion of a few hundred tokens is a few kilobytes (a stream of them some tens); far past that is a
# broken or hostile server.
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_BACKOFF_S = 5.0
T = TypeVar("T")


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
        call_budget: float | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ):
        if not base_url or not model:
            raise LLMError("the openai backend needs 'base_url' and 'model'")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.chat = chat
        self.backoff = backoff
        self.call_budget = None if call_budget is None else float(call_budget)
        self.max_body_bytes = int(max_body_bytes)
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

    def _deadline(self) -> float | None:
        """Return when a call starting now must be over (monotonic), or None without a budget."""
        return None if self.call_budget is None else time.monotonic() + self.call_budget

    def _timeout(self, deadline: float | None) -> httpx.Timeout:
        """Return one try's timeouts: the read timeout, cut to what is left of the call's budget."""
        read = self.timeout if deadline is None else max(0.01, min(self.timeout, deadline - time.monotonic()))
        return httpx.Timeout(read, connect=min(read, CONNECT_TIMEOUT))

    def _with_retries(self, call: Callable[[], T], deadline: float | None) -> T:
        """Run call() and retry transient failures within the deadline; return its result or raise LLMError."""
        stop: stop_base = stop_after_attempt(self.retries + 1)
        if deadline is not None:
            stop = stop | stop_before_delay(max(0.0, deadline - time.monotonic()))
        retrying = Retrying(stop=stop, wait=_RetryAfterOrJitter(self.backoff, self.timeout), reraise=True,
                            retry=retry_if_exception_type((_Retryable, httpx.TimeoutException, httpx.TransportError)))
        try:
            return retrying(call)
        except _Retryable as exc:
            last: BaseException = exc.__cause__ or exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last = exc
        tries = retrying.statistics.get("attempt_number", 1)
        raise LLMError(f"openai backend at {self.base_url} failed after {tries} {'try' if tries == 1 else 'tries'}: "
                       f"{last}")

    def _send(self, method: str, path: str, body: Any, deadline: float | None) -> httpx.Response:
        """Return the response to one try, its headers read and its body not yet (raises on an error status)."""
        request = self._client.build_request(method, path, json=body, timeout=self._timeout(deadline))
        response = self._client.send(request, stream=True)
        _raise_for_status(response)
        return response

    def _post_json(self, path: str, body: Any, deadline: float | None) -> Any:
        """Return one try's JSON reply, its body read within the size cap and the deadline."""
        response = self._send("POST", path, body, deadline)
        try:
            return _json_of(read_capped(response, self.max_body_bytes, deadline))
        finally:
            response.close()

    def _stream(self, prompt, max_tokens, stop, temperature) -> Iterable[str]:
        path = "/chat/completions" if self.chat else "/completions"
        body = self._payload(prompt, max_tokens, stop, temperature, stream=True)
        deadline = self._deadline()
        response = self._with_retries(lambda: self._send("POST", path, body, deadline), deadline)
        try:
            yield from self._sse_texts(response, deadline)
        except httpx.TimeoutException as exc:
            # Once tokens flowed a retry would repeat them, so a mid-stream timeout is final.
            raise LLMError(f"openai backend timed out mid-stream: {exc}") from exc
        except httpx.TransportError as exc:
            raise LLMError(f"openai backend connection failed mid-stream: {exc}") from exc
        finally:
            response.close()

    def _sse_texts(self, response: httpx.Response, deadline: float | None) -> Iterator[str]:
        ctype = response.headers.get("content-type", "")
        if "text/event-stream" not in ctype:
            # Some servers ignore stream=true and answer with one JSON body.
            yield self._text_of(_json_of(read_capped(response, self.max_body_bytes, deadline)))
            return
        for line in capped_lines(response, self.max_body_bytes, deadline):
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
        deadline = self._deadline()  # shared by the structured try and the plain one after a 400

        if schema is not None:
            structured = {**body, **structured_output(schema)}
            try:
                return self._text_of(self._with_retries(lambda: self._post_json(path, structured, deadline), deadline))
            except LLMError as exc:
                if "HTTP 400" not in str(exc):
                    raise
        return self._text_of(self._with_retries(lambda: self._post_json(path, body, deadline), deadline))

    def embed(self, texts):
        """Return vectors from `{base_url}/embeddings`."""
        body = {"model": self.model, "input": list(texts)}
        deadline = self._deadline()
        data = self._with_retries(lambda: self._post_json("/embeddings", body, deadline), deadline)
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
    """A transient HTTP status, retried by _with_retries; `retry_after` is the server's wish in seconds."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _RetryAfterOrJitter:
    """Tenacity wait: the server's Retry-After when it gave one (at most `longest`), else full jitter from `backoff`."""

    def __init__(self, backoff: float, longest: float):
        self.jitter = wait_random_exponential(multiplier=backoff, max=MAX_BACKOFF_S)
        self.longest = longest

    def __call__(self, retry_state) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            # Past the call's budget the stop ends the call at once rather than waiting for nothing.
            return min(error.retry_after, self.longest)
        return self.jitter(retry_state)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Return the seconds a Retry-After header asks for (a number or an HTTP date), or None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def capped_pieces(response: httpx.Response, limit: int, deadline: float | None = None,
                  streaming: bool = False) -> Iterator[bytes]:
    """Yield the body's pieces as they come; raise LLMError past `limit` bytes or past the deadline."""
    did, doing = ("streamed", "streaming") if streaming else ("sent", "sending")
    size = 0
    for piece in response.iter_bytes():
        size += len(piece)
        if size > limit:
            raise LLMError(f"openai backend {did} more than {limit:,} bytes; stopped reading")
        if deadline is not None and time.monotonic() > deadline:
            raise LLMError(f"openai backend is still {doing} past the call's budget; stopped reading")
        yield piece


def read_capped(response: httpx.Response, limit: int, deadline: float | None = None) -> bytes:
    """Return the body, read in pieces; raise LLMError past `limit` bytes or past the deadline."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise LLMError(f"openai backend announced {int(declared):,} bytes; the limit is {limit:,}")
    return b"".join(capped_pieces(response, limit, deadline))


def capped_lines(response: httpx.Response, limit: int, deadline: float | None = None) -> Iterator[str]:
    """Yield a streamed body's lines as they come; raise LLMError past `limit` bytes or past the deadline."""
    pending = b""
    for piece in capped_pieces(response, limit, deadline, streaming=True):
        pending += piece
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.rstrip(b"\r").decode("utf-8", "replace")
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", "replace")


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    head = b""
    try:
        for piece in response.iter_bytes():  # the start of the error text is enough; the rest is never read
            head += piece
            if len(head) >= 200:
                break
    except httpx.HTTPError:
        pass
    detail = head[:200].decode("utf-8", "replace")
    response.close()
    error = LLMError(f"openai backend answered HTTP {response.status_code}: {detail}")
    if response.status_code in RETRY_STATUS:
        raise _Retryable(str(error), retry_after_seconds(response.headers.get("retry-after"))) from error
    raise error


def _json_of(body: bytes):
    try:
        return json.loads(body)
    except ValueError as exc:
        raise LLMError(f"openai backend sent malformed JSON: {body[:80]!r}") from exc
