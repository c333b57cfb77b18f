"""Popularity: items ranked by how many users interacted with them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData
from .base import ItemParts, Ranker, ScoredVector, history_indices, load_arrays, save_arrays


class PopularityRanker(Ranker):
    """Score = interaction count / the largest count; the same for every user."""

    name = "popularity"

    def _fit(self, data: InteractionData) -> None:
        counts = np.asarray(self.catalog.interactions.getnnz(axis=0), dtype=np.float32)
        self.counts = counts
        self.pop = counts / max(float(counts.max(initial=0.0)), 1.0)

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        return np.broadcast_to(self.pop, (X.shape[0], self.pop.shape[0])).copy()

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        items = np.asarray(items, dtype=np.int64)
        parts = ItemParts.zeros(len(history_indices(x)), len(items))
        known = items < self.pop.shape[0]
        parts.bias[known] = self.pop[items[known]]
        parts.counts = self.popularity_counts(items)
        return parts

    def popularity_counts(self, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items, dtype=np.int64)
        counts = np.full(len(items), -1, dtype=np.int64)
        known = items < self.counts.shape[0]
        counts[known] = self.counts[items[known]]
        return counts

    def _save_state(self, path: Path) -> None:
        save_arrays(path, counts=self.counts, pop=self.pop)

    def _load_state(self, path: Path) -> None:
        state = load_arrays(path)
        self.counts, self.pop = state["counts"], state["pop"]
