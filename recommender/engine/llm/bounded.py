"""Run one LLM call within a deadline, so a slow or hung backend never holds a turn past its budget.

Each call runs on a daemon thread; the caller waits at most until the deadline and then goes on without it.
An abandoned call ends at the backend's own read timeout. While MAX_PENDING abandoned calls are still
running, new ones are refused at once rather than piling up behind a server that does not answer.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from .base import LLMError

MAX_PENDING = 4
T = TypeVar("T")
_pending = 0
_lock = threading.Lock()


class BoundedCall(Generic[T]):
    """A call started now on its own thread; `result(deadline)` waits for it no later than the deadline."""

    def __init__(self, call: Callable[[], T]):
        global _pending
        with _lock:
            if _pending >= MAX_PENDING:
                raise LLMError(f"{_pending} earlier LLM calls are still running; not starting another")
            _pending += 1
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(call,), name="llm-bounded", daemon=True).start()

    def _run(self, call: Callable[[], T]) -> None:
        global _pending
        try:
            self._value = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            self._error = exc
        finally:
            with _lock:
                _pending -= 1
            self._done.set()

    def result(self, deadline: float) -> T:
        """Return the call's value, or raise LLMError when it failed or is not done by `deadline` (monotonic)."""
        if not self._done.wait(timeout=max(deadline - time.monotonic(), 0.0)):
            raise LLMError("the LLM gave no answer within the turn's budget")
        if self._error is not None:
            if isinstance(self._error, LLMError):
                raise self._error
            raise LLMError(f"LLM call failed: {self._error}") from self._error
        return self._value  # type: ignore[return-value]


def pending_calls() -> int:
    """Return how many bounded calls are still running (tests, health pages)."""
    return _pending
