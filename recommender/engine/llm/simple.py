"""Backends without a model: "none" (LLM switched off) and "fake" (scripted replies for tests and demos)."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from .base import LLMBackend, LLMError


class NoneBackend(LLMBackend):
    """No LLM: callers check `enabled` and fall back to rules; generating raises LLMError."""

    name = "none"
    enabled = False

    def _stream(self, prompt, max_tokens, stop, temperature) -> Iterable[str]:
        raise LLMError("no LLM backend is configured")

    def check(self) -> None:
        return None


class FakeBackend(LLMBackend):
    """Replies from a script: a callable, a {prompt substring: reply} map, or a fixed default."""

    name = "fake"

    def __init__(
        self,
        replies: Mapping[str, str] | Callable[[str], str] | None = None,
        default: str = "",
        chunk_size: int = 4,
        fail: bool = False,
    ):
        self.replies = replies or {}
        self.default = default
        self.chunk_size = max(1, chunk_size)
        self.fail = fail
        self.calls: list[str] = []

    def _reply(self, prompt: str) -> str:
        if callable(self.replies):
            return self.replies(prompt)
        # The longest matching key wins so specific scripts beat generic ones.
        for key in sorted(self.replies, key=len, reverse=True):
            if key in prompt:
                return self.replies[key]
        return self.default

    def _stream(self, prompt, max_tokens, stop, temperature) -> Iterable[str]:
        self.calls.append(prompt)
        if self.fail:
            raise LLMError("fake backend set to fail")
        # Words stand in for tokens so max_tokens bounds the reply as it would with a model.
        words = self._reply(prompt).split(" ")
        text = " ".join(words[:max_tokens])
        for i in range(0, len(text), self.chunk_size):
            yield text[i : i + self.chunk_size]

    def embed(self, texts):
        # A deterministic bag-of-characters vector: enough to test code paths that need vectors.
        out = []
        for text in texts:
            vec = [0.0] * 16
            for ch in text:
                vec[ord(ch) % 16] += 1.0
            out.append(vec)
        return out
