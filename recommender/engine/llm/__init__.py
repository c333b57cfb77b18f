"""Pluggable LLM backends: the embedded llama.cpp default, transformers, OpenAI-compatible servers, fake, none."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import LLMBackend, LLMError
from .breaker import CircuitBreaker
from .simple import FakeBackend, NoneBackend

DEFAULT_BACKEND = "llamacpp"


def _llamacpp(config: dict[str, Any]) -> LLMBackend:
    from .llamacpp import LlamaCppBackend

    return LlamaCppBackend(
        model_path=config.get("model_path") or config.get("model"),
        n_ctx=int(config.get("n_ctx", 1024)),
        n_threads=config.get("n_threads") or config.get("threads"),
    )


def _transformers(config: dict[str, Any]) -> LLMBackend:
    from .transformers_backend import TransformersBackend

    return TransformersBackend(
        model_dir=config.get("model_path") or config.get("model") or config.get("model_dir") or "",
        gguf_file=config.get("gguf_file"),
        device=config.get("device"),
        dtype=config.get("dtype"),
    )


def _openai(config: dict[str, Any]) -> LLMBackend:
    from .openai_compat import OpenAICompatBackend

    return OpenAICompatBackend(
        base_url=config.get("base_url", ""),
        model=config.get("model", ""),
        api_key=config.get("api_key"),
        timeout=float(config.get("timeout", 10.0)),
        retries=int(config.get("retries", 2)),
        chat=bool(config.get("chat", True)),
        # The breaker's budget, so a call it stops waiting for also stops retrying and reading.
        call_budget=float(config["call_budget"]) if config.get("call_budget") else None,
    )


@dataclass(frozen=True)
class BackendKind:
    """One kind of backend: how to build it from a config, and the config keys it cannot start without."""

    build: Callable[[dict[str, Any]], LLMBackend]
    requires: tuple[str, ...] = ()
    remote: bool = False  # served elsewhere: started behind a CircuitBreaker, checked in the background


# The backend registry: settings accept exactly these names (and check `requires` at start-up). A new backend is
# a module here with an LLMBackend class and one entry below.
BACKENDS: dict[str, BackendKind] = {
    "llamacpp": BackendKind(_llamacpp),
    "transformers": BackendKind(_transformers, requires=("model_path",)),
    "openai": BackendKind(_openai, requires=("base_url",), remote=True),
    "fake": BackendKind(lambda config: FakeBackend(replies=config.get("replies"), default=config.get("default", ""))),
    "none": BackendKind(lambda config: NoneBackend()),
}


def get_backend(config: Mapping[str, Any] | None = None) -> LLMBackend:
    """Return the backend that `config["backend"]` names, built from the other keys; raise LLMError if unusable."""
    config = dict(config or {})
    kind = (config.pop("backend", None) or DEFAULT_BACKEND).lower()
    if kind not in BACKENDS:
        raise LLMError(f"unknown LLM backend {kind!r}; choose one of {', '.join(BACKENDS)}")
    return BACKENDS[kind].build(config)


def start_backend(config: Mapping[str, Any] | None = None, *, fallback: bool = True) -> tuple[LLMBackend, str | None]:
    """Return (backend, error): a checked backend, or the "none" backend plus the start-up error when fallback is on.

    A remote ("openai") backend with fallback on is returned at once behind a CircuitBreaker, which checks it
    in the background: start-up never waits for the server, and the LLM joins in whenever it answers.
    """
    kind = (dict(config or {}).get("backend") or DEFAULT_BACKEND).lower()
    if kind in BACKENDS and BACKENDS[kind].remote and fallback:
        try:
            remote = get_backend(config)
        except LLMError as exc:
            return NoneBackend(), str(exc)
        return CircuitBreaker(remote, call_budget=float((config or {}).get("call_budget", 5.0)),
                              probe_interval=float((config or {}).get("probe_interval", 15.0))), None
    try:
        backend = get_backend(config)
        if hasattr(backend, "load"):
            backend.load()
        backend.check()
        return backend, None
    except LLMError as exc:
        if not fallback:
            raise
        return NoneBackend(), str(exc)


__all__ = ["BACKENDS", "BackendKind", "CircuitBreaker", "FakeBackend", "LLMBackend", "LLMError", "NoneBackend", "get_backend", "start_backend"]
