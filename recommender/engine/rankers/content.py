"""Content: cosine similarity of item text embeddings to the user's items and to the query text."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData
from ..embedding import Embedder, make_embedder
from ..types import Evidence
from .base import Ranker, load_arrays, save_arrays


class ContentRanker(Ranker):
    """score(i) = e_i . (sum_j x_j e_j / sum_j |x_j|) + e_i . embed(query); linear in history and query."""

    name = "content"
    uses_text = True

    def __init__(self, embedder: dict[str, Any] | None = None, embedder_obj: Embedder | None = None, **params) -> None:
        super().__init__(embedder=embedder or (embedder_obj.config() if embedder_obj else {"kind": "sentence"}), **params)
        self._embedder = embedder_obj
        self.E: np.ndarray | None = None
        self._embedded_ids: list[str] | None = None

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.params["embedder"])
        return self._embedder

    def _fit(self, data: InteractionData) -> None:
        # Refits on the same catalog reuse the embeddings: item text does not change with interactions.
        if self.E is None or self._embedded_ids != self.catalog.item_ids:
            self.E = self.embedder.encode([r.text() for r in self.catalog.records])
            self._embedded_ids = list(self.catalog.item_ids)

    def extend(self, new_indices: list[int]) -> None:
        if not new_indices:
            return
        texts = [self.catalog.records[i].text() for i in new_indices]
        self.E = np.vstack([self.E, self.embedder.encode(texts)])
        self._embedded_ids = list(self.catalog.item_ids)

    def history_rows(self, X: sp.csr_matrix) -> np.ndarray:
        """Return similarity of every item to each row's weighted mean item embedding."""
        n = self.E.shape[0]
        X = X if X.shape[1] == n else X[:, :n]
        if X.shape[0] == 1:
            vals = X.data.astype(np.float32)
            prof = (vals @ self.E[X.indices]) / max(float(np.abs(vals).sum()), 1e-12)
            return (self.E @ prof)[None, :]
        mass = np.asarray(abs(X).sum(axis=1)).ravel()
        prof = np.asarray(X @ self.E) / np.maximum(mass, 1e-12)[:, None]
        return prof @ self.E.T

    def query_rows(self, queries: list[str] | None, n_rows: int) -> np.ndarray:
        """Return similarity of every item to each query text (zeros for empty queries)."""
        out = np.zeros((n_rows, self.E.shape[0]), dtype=np.float32)
        if not queries:
            return out
        live = [i for i, q in enumerate(queries) if q and q.strip()]
        if live:
            Q = self.embedder.encode([queries[i] for i in live])
            out[live] = Q @ self.E.T
        return out

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        return self.history_rows(X) + self.query_rows(queries, X.shape[0])

    def contributions(self, x: np.ndarray, idx: int, query_text: str = "") -> list[Evidence]:
        x = self.read_vector(x)  # idempotent: callers may pass the graded vector
        n = self.E.shape[0]
        if idx >= n:
            return []
        xs = x[:n]
        mass = max(float(np.abs(xs).sum()), 1e-12)
        nz = np.flatnonzero(xs)
        sims = np.zeros(n, dtype=np.float32)
        sims[nz] = self.E[nz] @ self.E[idx]
        parts = []
        for j in nz:
            rec = self.catalog.records[j]
            parts.append(Evidence(kind="content_similarity", weight=float(xs[j] * sims[j] / mass), item_id=rec.item_id,
                                  title=rec.title, value=float(sims[j]),
                                  detail="similar text to an item you liked" if xs[j] > 0 else "similar text to an item you disliked"))
        if query_text and query_text.strip():
            sim = float(self.query_rows([query_text], 1)[0, idx])
            parts.append(Evidence(kind="content_similarity", weight=sim, value=query_text,
                                  detail="similar text to your request"))
            parts += attribute_matches(self.catalog.records[idx].attributes, query_text)
        return parts

    def item_parts(self, x: np.ndarray, nz: np.ndarray, idx: int) -> tuple[np.ndarray, float]:
        x = self.read_vector(x)  # idempotent: callers may pass the graded vector
        n = self.E.shape[0]
        out = np.zeros(len(nz), dtype=np.float32)
        if idx >= n:
            return out, 0.0
        keep = nz < n
        rows = nz[keep]
        mass = max(float(np.abs(x[:n]).sum()), 1e-12)
        out[keep] = x[rows] * (self.E[rows] @ self.E[idx]) / mass
        return out, 0.0

    def item_parts_many(self, x: np.ndarray, nz: np.ndarray, idxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self.read_vector(x)  # idempotent: callers may pass the graded vector
        n = self.E.shape[0]
        idxs = np.asarray(idxs, dtype=np.int64)
        out = np.zeros((len(nz), len(idxs)), dtype=np.float32)
        keep, cols = nz < n, idxs < n
        if keep.any() and cols.any():
            rows = nz[keep]
            mass = max(float(np.abs(x[:n]).sum()), 1e-12)
            sub = np.zeros((len(rows), len(idxs)), dtype=np.float32)
            sub[:, cols] = self.E[rows] @ self.E[idxs[cols]].T
            out[keep] = x[rows][:, None] * sub / mass
        return out, np.zeros(len(idxs))

    def _save_state(self, path: Path) -> None:
        save_arrays(path, E=self.E)
        (path / "embedded_ids.json").write_text(json.dumps(self._embedded_ids))

    def _load_state(self, path: Path) -> None:
        self.E = load_arrays(path)["E"]
        self._embedded_ids = json.loads((path / "embedded_ids.json").read_text())


def attribute_matches(attributes: dict[str, Any], text: str) -> list[Evidence]:
    """Return zero-weight evidence for the item's attribute values that the text mentions."""
    low, out = text.casefold(), []
    for key, raw in attributes.items():
        values = raw if isinstance(raw, (list, tuple)) else [raw]
        for value in values:
            token = str(value).casefold()
            if len(token) >= 3 and token in low:
                out.append(Evidence(kind="attribute_match", weight=0.0, attribute=key, value=value,
                                    detail=f"{key} matches your request"))
    return out
