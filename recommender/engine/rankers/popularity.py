"""Popularity: items ranked by how many users interacted with them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData
from ..types import Evidence
from .base import Ranker, load_arrays, save_arrays


class PopularityRanker(Ranker):
    """Score = interaction count / the largest count; the same for every user."""

    name = "popularity"

    def _fit(self, data: InteractionData) -> None:
        counts = np.asarray(self.catalog.interactions.getnnz(axis=0), dtype=np.float32)
        self.counts = counts
        self.pop = counts / max(float(counts.max(initial=0.0)), 1.0)

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        return np.broadcast_to(self.pop, (X.shape[0], self.pop.shape[0])).copy()

    def contributions(self, x: np.ndarray, idx: int, query_text: str = "") -> list[Evidence]:
        value = float(self.pop[idx]) if idx < self.pop.shape[0] else 0.0
        count = int(self.counts[idx]) if idx < self.counts.shape[0] else 0
        return [Evidence(kind="popularity", weight=value, value=count,
                         detail=f"popular: {count} users interacted with it")]

    def item_parts(self, x: np.ndarray, nz: np.ndarray, idx: int) -> tuple[np.ndarray, float]:
        return np.zeros(len(nz), dtype=np.float32), float(self.pop[idx]) if idx < self.pop.shape[0] else 0.0

    def item_parts_many(self, x: np.ndarray, nz: np.ndarray, idxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idxs = np.asarray(idxs, dtype=np.int64)
        bias = np.zeros(len(idxs))
        cols = idxs < self.pop.shape[0]
        bias[cols] = self.pop[idxs[cols]]
        return np.zeros((len(nz), len(idxs)), dtype=np.float32), bias

    def _save_state(self, path: Path) -> None:
        save_arrays(path, counts=self.counts, pop=self.pop)

    def _load_state(self, path: Path) -> None:
        state = load_arrays(path)
        self.counts, self.pop = state["counts"], state["pop"]
