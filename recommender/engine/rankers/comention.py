"""Co-mention: which items people suggest in a dialogue after which items were named.

Fitted from recorded dialogues, not from ratings: every recommender turn that names new items adds, for
each item named earlier in the dialogue (by either side, weighted by how the seeker felt about it), a count
to (earlier item -> suggested item). Rows are normalised with shrinkage, so a rare earlier item says less:

    S[i, j] = C[i, j] / (sum_j C[i, j] + shrink)      prior[j] = suggestions of j / the most-suggested item's

    score(j) = sum_i x_i * S[i, j] + prior_weight * prior[j]

The score is linear in x, so an explanation is an exact sum of per-item parts plus the prior.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..catalog import Catalog
from ..data import InteractionData
from .base import (
    FORMAT_VERSION,
    ItemParts,
    Ranker,
    ScoredVector,
    load_arrays,
    load_sparse,
    save_arrays,
    save_sparse,
)

# One fitting example: ({earlier item id: weight}, [item ids suggested next]).
SuggestionPair = tuple[dict[str, float], list[str]]


class CoMentionRanker(Ranker):
    """Items suggested after the items a dialogue names, plus how often each item is suggested at all."""

    name = "comention"
    # Weights pass through as given: a disliked earlier item (negative) pushes its usual follow-ups down.
    signal = "raw"

    def __init__(self, shrink: float = 20.0, prior_weight: float = 0.05, window: int = 5, **params) -> None:
        super().__init__(shrink=shrink, prior_weight=prior_weight, window=window, **params)
        self.S = sp.csr_matrix((0, 0), dtype=np.float32)
        self.prior = np.zeros(0, dtype=np.float32)
        self.counts = np.zeros(0, dtype=np.float32)
        self.n_pairs = 0

    # ------------------------------------------------------------ fitting

    def fit_pairs(self, pairs: Iterable[SuggestionPair], catalog: Catalog) -> CoMentionRanker:
        """Fit from (earlier items with weights, items suggested next) pairs; unknown ids are skipped."""
        self.catalog = catalog
        index, n = catalog.item_index, catalog.n_items
        rows, cols, vals = [], [], []
        counts = np.zeros(n, dtype=np.float64)
        n_pairs = 0
        for context, suggested in pairs:
            targets = [index[s] for s in dict.fromkeys(suggested) if s in index]
            if not targets:
                continue
            n_pairs += 1
            counts[targets] += 1.0
            for item_id, weight in context.items():
                i = index.get(item_id)
                if i is None or weight == 0:
                    continue
                for j in targets:
                    if j != i:
                        rows.append(i)
                        cols.append(j)
                        vals.append(float(weight))
        C = sp.csr_matrix((vals, (rows, cols)), shape=(n, n), dtype=np.float64)
        C.sum_duplicates()
        row_sums = np.asarray(C.sum(axis=1)).ravel()
        scale = 1.0 / (row_sums + float(self.params["shrink"]))
        self.S = sp.csr_matrix(sp.diags(scale) @ C, dtype=np.float32)
        self.counts = counts.astype(np.float32)
        self.prior = (counts / max(counts.max(initial=0.0), 1.0)).astype(np.float32)
        self.n_pairs = n_pairs
        return self

    def _fit(self, data: InteractionData) -> None:
        """Fit from interaction histories in time order: each item counts as suggested after the `window` before it."""
        rows, cols = np.asarray(data.rows), np.asarray(data.cols)
        times = data.timestamps if data.timestamps is not None else np.arange(len(rows), dtype=np.float64)
        order = np.lexsort((times, rows))
        window = int(self.params["window"])
        ids = self.catalog.item_ids
        pairs: list[SuggestionPair] = []
        start = 0
        for end in range(1, len(order) + 1):
            if end < len(order) and rows[order[end]] == rows[order[start]]:
                continue
            history = [ids[cols[k]] for k in order[start:end]]
            for k in range(1, len(history)):
                pairs.append(({p: 1.0 for p in history[max(0, k - window):k]}, [history[k]]))
            start = end
        self.fit_pairs(pairs, self.catalog)

    # ------------------------------------------------------------ scoring and explanations

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        base = np.asarray((X @ self.S).todense(), dtype=np.float32)
        return base + float(self.params["prior_weight"]) * self.prior[None, :]

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        nz = np.flatnonzero(x)
        items = np.asarray(items, dtype=np.int64)
        v = self.read_vector(x)
        parts = ItemParts.zeros(len(nz), len(items))
        if len(nz) and len(items):
            parts.history[:] = v[nz][:, None] * self.S[nz][:, items].toarray()
        parts.bias = float(self.params["prior_weight"]) * self.prior[items].astype(np.float64)
        # The prior is how often an item was suggested at all: evidence of popularity, with its count.
        parts.counts = self.counts[items].astype(np.float64)
        return parts

    # ------------------------------------------------------------ persistence

    def _save_state(self, path: Path) -> None:
        save_sparse(path, "comention", self.S)
        save_arrays(path, prior=self.prior, counts=self.counts, n_pairs=np.array([self.n_pairs]))

    def _load_state(self, path: Path) -> None:
        self.S = load_sparse(path, "comention")
        state = load_arrays(path)
        self.prior, self.counts, self.n_pairs = state["prior"], state["counts"], int(state["n_pairs"][0])

    @classmethod
    def load(cls, path: Path | str) -> CoMentionRanker:
        """Return the model saved under path (with its catalog)."""
        return cls.load_model(Path(path), Catalog.load(Path(path)))

    @classmethod
    def load_model(cls, path: Path, catalog: Catalog) -> CoMentionRanker:
        """Return the model written by save_model under path, attached to a catalog loaded elsewhere."""
        meta = json.loads((Path(path) / "meta.json").read_text())
        if meta.get("ranker") != cls.name or meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path} does not hold a {cls.name} model")
        ranker = cls(**meta["params"])
        ranker.catalog = catalog
        ranker._load_state(Path(path))
        return ranker


def fit_and_save(pairs: Iterable[SuggestionPair], catalog: Catalog, path: Path, **params) -> dict:
    """Fit a co-mention model on pairs over catalog, write its model state (not the catalog) to path; return facts."""
    ranker = CoMentionRanker(**params).fit_pairs(pairs, catalog)
    ranker.save_model(Path(path))
    return {"pairs": ranker.n_pairs, "links": int(ranker.S.nnz), "items_suggested": int((ranker.counts > 0).sum())}
