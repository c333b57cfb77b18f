"""The contract every LLM backend follows, and the one error type it raises."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any


class LLMError(RuntimeError):
    """Raised for any backend failure: missing model, timeout, bad reply, unsupported call."""


class LLMBackend:
    """A text generator; subclasses implement `_stream` and optionally `embed`."""

    name = "base"
    # False for the "none" backend: callers skip the LLM instead of calling it.
    enabled = True

    def generate(
        self,
        prompt: str,
        *,
        max_tokens: int = 64,
        stop: Sequence[str] | None = None,
        temperature: float = 0.0,
    ) -> Iterator[str]:
        """Return an iterator over text chunks; every failure surfaces as LLMError."""
        if max_tokens < 1:
            raise LLMError("max_tokens must be at least 1")
        try:
            yield from _cut_at_stop(self._stream(prompt, max_tokens, list(stop or []), temperature), stop)
        except LLMError:
            raise
        except Exception as exc:  # a backend library's own errors become the single error type
            raise LLMError(f"{self.name} backend failed: {exc}") from exc

    def complete(
        self,
        prompt: str,
        *,
        max_tokens: int = 64,
        stop: Sequence[str] | None = None,
        temperature: float = 0.0,
        schema: Mapping[str, Any] | None = None,
    ) -> str:
        """Return the whole generated text.

        `schema` (a JSON schema) asks for output constrained to it where the backend can enforce one
        (OpenAI-compatible servers, llama.cpp); others ignore it, so callers always validate the reply.
        """
        del schema  # this backend cannot constrain its output
        return "".join(self.generate(prompt, max_tokens=max_tokens, stop=stop, temperature=temperature))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text; backends that cannot embed raise LLMError."""
        raise LLMError(f"the {self.name} backend cannot embed text")

    def check(self) -> None:
        """Raise LLMError unless the backend can generate one token now."""
        self.complete("Hello", max_tokens=1)

    def _stream(self, prompt: str, max_tokens: int, stop: list[str], temperature: float) -> Iterable[str]:
        raise NotImplementedError

    def describe(self) -> str:
        """Return a short human-readable description for logs and health pages."""
        return self.name


def _cut_at_stop(chunks: Iterable[str], stop: Sequence[str] | None) -> Iterator[str]:
    """Yield chunks until a stop string appears (backends that honour stops natively pass through)."""
    if not stop:
        yield from chunks
        return
    longest = max(len(s) for s in stop)
    pending = ""
    for chunk in chunks:
        pending += chunk
        cut = min((i for i in (pending.find(s) for s in stop) if i >= 0), default=-1)
        if cut >= 0:
            if pending[:cut]:
                yield pending[:cut]
            return
        # Hold back a tail that could be the start of a stop string split across chunks.
        safe = len(pending) - (longest - 1)
        if safe > 0:
            yield pending[:safe]
            pending = pending[safe:]
    if pending:
        yield pending
