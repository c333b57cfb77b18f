"""A circuit breaker around a remote LLM backend, so a slow or hung server never holds a turn.

- Each call runs on a daemon thread and is waited for at most `call_budget` seconds (the whole call, not per
  chunk); past that it counts as a failure and the caller gets LLMError. The OpenAI-compatible backend is given
  the same budget (`get_backend`'s `call_budget`), so the abandoned request stops retrying and reading by
  itself at about that time; being a daemon thread it never delays shutdown.
- After `failure_threshold` consecutive failures the circuit opens: calls fail at once and `enabled` is
  False, so callers take their rule-based path without trying.
- While open, a background thread probes the backend (`check()`) every `probe_interval` seconds and closes
  the circuit when it answers. A breaker starts open and probes at once, so start-up never waits for the
  server either: the LLM joins in as soon as it answers, and again after every outage.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from .base import LLMBackend, LLMError

log = logging.getLogger(__name__)

CLOSED, OPEN = "closed", "open"
_DONE = object()


class CircuitBreaker(LLMBackend):
    """Wraps a backend: bounded calls, fail-fast while the backend is down, recovery found in the background."""

    def __init__(self, backend: LLMBackend, *, call_budget: float = 5.0, failure_threshold: int = 2,
                 probe_interval: float = 15.0, start_closed: bool = False):
        self.backend = backend
        self.name = backend.name
        self.call_budget = float(call_budget)
        self.failure_threshold = max(1, int(failure_threshold))
        self.probe_interval = float(probe_interval)
        self._lock = threading.Lock()
        self._state = CLOSED if start_closed else OPEN
        self._failures = 0
        self._last_error: str | None = None if start_closed else "not checked yet"
        self._stop = threading.Event()
        self._prober: threading.Thread | None = None
        if not start_closed:
            self._start_probing()

    # ------------------------------------------------------------ state

    @property
    def state(self) -> str:
        return self._state

    @property
    def enabled(self) -> bool:  # type: ignore[override]
        """Return whether callers should use the LLM now (the circuit is closed)."""
        return self._state == CLOSED and self.backend.enabled

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def _succeeded(self) -> None:
        with self._lock:
            self._failures = 0
            if self._state != CLOSED:
                log.info("LLM backend %s answers again; using it", self.backend.describe())
            self._state, self._last_error = CLOSED, None

    def _failed(self, error: str) -> None:
        with self._lock:
            self._failures += 1
            self._last_error = error
            opening = self._state == CLOSED and self._failures >= self.failure_threshold
            if opening:
                self._state = OPEN
        if opening:
            log.warning("LLM backend %s failed %d times (%s); continuing without it and probing every %.0f s",
                        self.backend.describe(), self._failures, error, self.probe_interval)
            self._start_probing()

    def _start_probing(self) -> None:
        with self._lock:
            if self._prober is not None and self._prober.is_alive():
                return
            self._prober = threading.Thread(target=self._probe_loop, name="llm-breaker-probe", daemon=True)
            self._prober.start()

    def _probe_loop(self) -> None:
        """Check the backend until it answers (then the circuit closes), or until close()."""
        while not self._stop.is_set() and self._state == OPEN:
            try:
                self._bounded(self.backend.check)
            except LLMError as exc:
                with self._lock:
                    self._last_error = str(exc)
            else:
                self._succeeded()
                return
            self._stop.wait(self.probe_interval)

    def close(self) -> None:
        """Stop probing (tests; shutdown)."""
        self._stop.set()

    # ------------------------------------------------------------ bounded calls

    def _bounded(self, call: Callable[[], Any], budget: float | None = None) -> Any:
        """Return call()'s result, run on a daemon thread and waited for at most the budget; else LLMError."""
        budget = self.call_budget if budget is None else budget
        box: queue.Queue = queue.Queue(maxsize=1)

        def run():
            try:
                box.put((True, call()))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                box.put((False, exc))

        threading.Thread(target=run, name="llm-call", daemon=True).start()
        try:
            ok, value = box.get(timeout=budget)
        except queue.Empty:
            raise LLMError(f"{self.name} backend gave no answer within {budget:.1f} s") from None
        if ok:
            return value
        if isinstance(value, LLMError):
            raise value
        raise LLMError(f"{self.name} backend failed: {value}") from value

    def _guarded(self, call: Callable[[], Any]) -> Any:
        if self._state != CLOSED:
            raise LLMError(f"{self.name} backend is unavailable ({self._last_error}); retrying in the background")
        try:
            result = self._bounded(call)
        except LLMError as exc:
            self._failed(str(exc))
            raise
        self._succeeded()
        return result

    def _stream(self, prompt: str, max_tokens: int, stop: list[str], temperature: float) -> Iterator[str]:
        """Yield the backend's chunks as they come; the whole stream ends within call_budget."""
        if self._state != CLOSED:
            raise LLMError(f"{self.name} backend is unavailable ({self._last_error}); retrying in the background")
        chunks: queue.Queue = queue.Queue()
        abandoned = threading.Event()

        def pump():
            try:
                for chunk in self.backend.generate(prompt, max_tokens=max_tokens, stop=stop or None,
                                                   temperature=temperature):
                    if abandoned.is_set():
                        return
                    chunks.put(chunk)
                chunks.put(_DONE)
            except BaseException as exc:  # noqa: BLE001 - handed to the reading caller
                chunks.put(exc)

        threading.Thread(target=pump, name="llm-stream", daemon=True).start()
        deadline = time.monotonic() + self.call_budget
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    item = chunks.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    self._failed(f"no complete answer within {self.call_budget:.1f} s")
                    raise LLMError(f"{self.name} backend gave no answer within {self.call_budget:.1f} s") from None
                if item is _DONE:
                    self._succeeded()
                    return
                if isinstance(item, BaseException):
                    self._failed(str(item))
                    raise item if isinstance(item, LLMError) else LLMError(f"{self.name} backend failed: {item}")
                yield item
        finally:
            abandoned.set()  # a caller that stops reading (or gave up) lets the pump thread end

    def complete(self, prompt: str, *, max_tokens: int = 64, stop: Sequence[str] | None = None,
                 temperature: float = 0.0, schema: Mapping[str, Any] | None = None) -> str:
        """Return the backend's whole text (schema passed on), within call_budget like every call."""
        return self._guarded(lambda: self.backend.complete(prompt, max_tokens=max_tokens, stop=stop,
                                                           temperature=temperature, schema=schema))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self._guarded(lambda: self.backend.embed(texts))

    def check(self) -> None:
        """Raise LLMError unless the backend answers within the budget (also closes the circuit when it does)."""
        try:
            self._bounded(self.backend.check)
        except LLMError as exc:
            self._failed(str(exc))
            raise
        self._succeeded()

    def describe(self) -> str:
        return f"{self.backend.describe()} [circuit {self._state}]"
