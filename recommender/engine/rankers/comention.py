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
    history_indices,
    load_arrays,
    load_sparse,
    save_arrays,
    save_sparse,
)
from .scalable import head_items, pruned_ease

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
        # Optional: EASE over the catalog's interactions plus each recorded conversation as a row of the items
        # it names (which items come up together in the same conversation), pruned and sparse.
        self.E: sp.csr_matrix | None = None

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

    def fit_conversation_ease(self, pairs: Iterable[SuggestionPair], interactions: sp.csr_matrix, *,
                              l2: float = 300.0, row_weight: float = 3.0, min_count: int = 3, head: int = 3000,
                              k: int = 200) -> CoMentionRanker:
        """Fit E: EASE over interactions (binary) plus one row per suggestion turn (the items named before it
        and the items it suggested, at row_weight), on the at most `head` items seen min_count times or more,
        keeping each column's k largest weights. Call after fit_pairs (same catalog)."""
        index, n = self.catalog.item_index, self.catalog.n_items
        rows, cols = [], []
        for r, (context, suggested) in enumerate(pairs):
            for item_id in {*context, *suggested}:
                if item_id in index:
                    rows.append(r)
                    cols.append(index[item_id])
        bags = sp.csr_matrix((np.full(len(rows), row_weight, dtype=np.float32), (rows, cols)),
                             shape=(max(rows, default=-1) + 1, n))
        X = sp.vstack([(sp.csr_matrix(interactions) != 0).astype(np.float32), bags]).tocsr()
        counts = np.asarray((X != 0).sum(axis=0)).ravel()
        keep = head_items(X, head)
        keep = keep[counts[keep] >= min_count]
        self.E = pruned_ease(X, keep, float(l2), int(k), by_magnitude=False)
        return self

    def conversation_ease(self, X: sp.csr_matrix) -> np.ndarray | None:
        """Return the E scores for rows of X, or None when E was not fitted."""
        if self.E is None:
            return None
        return np.asarray((sp.csr_matrix(X, dtype=np.float32) @ self.E).todense(), dtype=np.float32)

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
        nz = history_indices(x)
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
        if self.E is not None:
            save_sparse(path, "conversation_ease", self.E)
        save_arrays(path, prior=self.prior, counts=self.counts, n_pairs=np.array([self.n_pairs]))

    def _load_state(self, path: Path) -> None:
        self.S = load_sparse(path, "comention")
        self.E = load_sparse(path, "conversation_ease") if (path / "conversation_ease.npz").exists() else None
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
    """Fit a co-mention model on pairs over catalog (and, from the catalog's interactions plus the pairs, its
    conversation EASE), write its model state (not the catalog) to path; return facts."""
    pairs = list(pairs)
    ranker = CoMentionRanker(**params).fit_pairs(pairs, catalog)
    ranker.fit_conversation_ease(pairs, catalog.interactions)
    ranker.save_model(Path(path))
    return {"pairs": ranker.n_pairs, "links": int(ranker.S.nnz), "items_suggested": int((ranker.counts > 0).sum()),
            "conversation_ease_weights": int(ranker.E.nnz) if ranker.E is not None else 0}
