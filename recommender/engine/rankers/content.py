"""Content: cosine similarity of item text embeddings to the user's items and to the query text."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData
from ..embedding import Embedder, make_embedder
from .base import HISTORY, QUERY, ItemParts, Ranker, ScoredVector, load_arrays, save_arrays


class ContentRanker(Ranker):
    """score(i) = e_i . (sum_j x_j e_j / sum_j |x_j|) + e_i . embed(query); linear in history and query."""

    name = "content"
    uses_text = True

    def __init__(self, embedder: dict[str, Any] | None = None, embedder_obj: Embedder | None = None, **params) -> None:
        super().__init__(embedder=embedder or (embedder_obj.config() if embedder_obj else {"kind": "sentence"}), **params)
        self._embedder = embedder_obj
        self.E: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self._embedded_ids: list[str] | None = None  # the catalog's item ids when E was computed

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = make_embedder(self.params["embedder"])
        return self._embedder

    def _fit(self, data: InteractionData) -> None:
        # Refits on the same catalog reuse the embeddings: item text does not change with interactions.
        if self._embedded_ids != self.catalog.item_ids:
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

    def score_terms(self, X: sp.csr_matrix, queries: list[str] | None = None) -> dict[str, np.ndarray]:
        """Return the history term and, when any row has request text, the query term (both padded)."""
        terms = {HISTORY: self._pad(self.history_rows(self.read_signal(sp.csr_matrix(X, dtype=np.float32))))}
        if queries and any(q and q.strip() for q in queries):
            terms[QUERY] = self._pad(self.query_rows(queries, X.shape[0]))
        return terms

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        nz = np.flatnonzero(x)
        x = self.read_vector(x)
        n = self.E.shape[0]
        items = np.asarray(items, dtype=np.int64)
        parts = ItemParts.zeros(len(nz), len(items))
        parts.similarity = np.zeros((len(nz), len(items)), dtype=np.float32)
        keep, cols = nz < n, items < n
        if keep.any() and cols.any():
            rows = nz[keep]
            mass = max(float(np.abs(x[:n]).sum()), 1e-12)
            sub = np.zeros((len(rows), len(items)), dtype=np.float32)
            sub[:, cols] = self.E[rows] @ self.E[items[cols]].T
            parts.similarity[keep] = sub
            parts.content[keep] = x[rows][:, None] * sub / mass
        if query_text and query_text.strip():
            row = scored.terms[QUERY] if scored is not None and QUERY in scored.terms else \
                self._pad(self.query_rows([query_text], 1))[0]
            parts.query = row[items]
        return parts

    def _save_state(self, path: Path) -> None:
        save_arrays(path, E=self.E)
        (path / "embedded_ids.json").write_text(json.dumps(self._embedded_ids))

    def _load_state(self, path: Path) -> None:
        self.E = load_arrays(path)["E"]
        self._embedded_ids = json.loads((path / "embedded_ids.json").read_text())
