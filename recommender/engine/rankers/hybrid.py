"""Hybrid: a weighted sum of per-user standardised component scores, weights learned on validation.

hybrid(u, i) = sum_k w_k * s_k(u, i) / sd_k(u) + w_query * q(u, i) / sd_q(u), where sd is the spread of a
component's scores over the catalog for that user. Each term stays linear in its component's score,
so every component's exact item parts (Ranker.item_parts) carry over into the hybrid's explanation.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData, liked_holdout_split, random_split
from ..metrics import batch_topk_metrics, relevance_matrix, topk_indices
from .base import HISTORY, QUERY, ItemParts, Ranker, ScoredVector, history_indices, load_model


def _spread(S: np.ndarray) -> np.ndarray:
    sd = S.std(axis=1, keepdims=True)
    return np.where(sd > 1e-9, sd, 1.0).astype(np.float32)


# How many of each component's best unseen items per validation user weight learning ranks the fused
# scores over (FusedTopK): a few hundred cells per user per trial instead of the whole catalog.
SHORTLIST_DEPTH = 100


class FusedTopK:
    """The top-k unseen items of weighted sums of component scores, for many weightings of the same scores.

    Weight learning ranks ~150 weightings of the same validation scores. Each user's candidates are the
    union of every component's `depth` best unseen items and the user's held-out items. An item outside
    them scores at most sum_n w_n * (component n's depth-th best score) for positive w_n (its lowest score
    for negative w_n); where the k-th candidate reaches that bound the candidates' top-k is the catalog's
    (up to ties), and the other users are ranked over the whole catalog. depth None: always the catalog.
    """

    def __init__(self, normed: dict[str, np.ndarray], seen: sp.csr_matrix, rel: np.ndarray, k: int,
                 depth: int | None) -> None:
        self.normed, self.seen, self.rel, self.k = normed, sp.csr_matrix(seen), rel, k
        self.depth = depth if depth is not None and depth < rel.shape[1] else None
        if self.depth is None:
            return
        best, self.kth, self.lowest = [], {}, {}
        rows, cols = self.seen.nonzero()
        for name, S in normed.items():
            M = S.copy()
            M[rows, cols] = -np.inf
            top = topk_indices(M, self.depth)
            best.append(top)
            self.kth[name] = np.take_along_axis(M, top[:, -1:], axis=1)[:, 0]
            M[rows, cols] = np.inf
            self.lowest[name] = M.min(axis=1)
        held = [np.flatnonzero(r) for r in rel]
        width = len(best) * self.depth + max((len(h) for h in held), default=0)
        self.candidates = np.zeros((rel.shape[0], width), dtype=np.int64)
        self.valid = np.zeros((rel.shape[0], width), dtype=bool)
        stacked = np.concatenate(best, axis=1)
        for u in range(rel.shape[0]):
            items = np.unique(np.concatenate([stacked[u], held[u]]))
            self.candidates[u, :len(items)] = items
            self.valid[u, :len(items)] = True
        self.scores = {n: np.take_along_axis(S, self.candidates, axis=1) for n, S in normed.items()}

    def _catalog_top(self, weights: dict[str, float], users: np.ndarray) -> np.ndarray:
        total = np.zeros((len(users), self.rel.shape[1]), dtype=np.float32)
        for n, w in weights.items():
            if w:
                total += w * self.normed[n][users]
        rows, cols = self.seen[users].nonzero()
        total[rows, cols] = -np.inf
        return topk_indices(total, self.k)

    def top(self, weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Return (each user's top-k item indices, the relevance matrix those indices point into)."""
        everyone = np.arange(self.rel.shape[0])
        if self.depth is None:
            return self._catalog_top(weights, everyone), self.rel
        total = np.zeros(self.candidates.shape, dtype=np.float32)
        bound = np.zeros(len(everyone), dtype=np.float64)
        for n, w in weights.items():
            if w:
                total += w * self.scores[n]
                bound += w * (self.kth[n] if w > 0 else self.lowest[n])
        total[~self.valid] = -np.inf
        positions = topk_indices(total, self.k)
        kth = np.take_along_axis(total, positions[:, -1:], axis=1)[:, 0]
        top = np.take_along_axis(self.candidates, positions, axis=1)
        unproven = np.flatnonzero(~(kth >= bound))  # an item outside the candidates might rank higher
        if len(unproven):
            top[unproven] = self._catalog_top(weights, unproven)
        return top, self.rel


def named_rows(rows: sp.csr_matrix, named: int, seed: int) -> sp.csr_matrix:
    """Return each graded row reduced to `named` of its liked items (fewer where it has fewer; a seeded draw), as
    a person naming a few favourites reads to the components."""
    rng = np.random.default_rng(seed)
    out_rows, out_cols = [], []
    for u in range(rows.shape[0]):
        start, end = rows.indptr[u], rows.indptr[u + 1]
        liked = rows.indices[start:end][rows.data[start:end] >= 1.0]
        chosen = rng.choice(liked, size=min(named, len(liked)), replace=False) if len(liked) else liked
        out_rows += [u] * len(chosen)
        out_cols += [int(c) for c in chosen]
    return sp.csr_matrix((np.ones(len(out_rows), dtype=np.float32), (out_rows, out_cols)), shape=rows.shape)


class HybridRanker(Ranker):
    """Fuses component rankers; `query` weights the content model's similarity to the query text."""

    name = "hybrid"
    uses_text = True
    signal = "raw"  # each component reads its own part of the graded vector

    def __init__(self, weights: dict[str, float] | None = None, query_weight: float = 1.0, **params) -> None:
        super().__init__(weights=dict(weights or {}), query_weight=query_weight, **params)
        self.components: dict[str, Ranker] = {}

    def with_components(self, components: dict[str, Ranker]) -> HybridRanker:
        """Set the component rankers (unfitted or fitted); returns self."""
        self.components = dict(components)
        for name in components:
            self.params["weights"].setdefault(name, 1.0)
        return self

    @property
    def weights(self) -> dict[str, float]:
        return self.params["weights"]

    def _fit(self, data: InteractionData) -> None:
        for ranker in self.components.values():
            ranker.fit(data, self.catalog)

    def extend(self, new_indices: list[int]) -> None:
        for ranker in self.components.values():
            ranker.extend(new_indices)

    # ------------------------------------------------------------ scoring

    def _weight(self, name: str) -> float:
        return float(self.params["query_weight"]) if name == QUERY else float(self.weights.get(name, 0.0))

    def component_scores(self, X: sp.csr_matrix, queries: list[str] | None = None,
                         weighted_only: bool = False) -> dict[str, np.ndarray]:
        """Return each component's history-term scores, plus the query term when a text model is present.

        weighted_only skips terms whose weight is zero (they add nothing to the hybrid's score).
        """
        with_query = any(q and q.strip() for q in queries or []) and \
            (not weighted_only or bool(self._weight(QUERY)))
        out = {}
        for name, ranker in self.components.items():
            if weighted_only and not self._weight(name) and not (with_query and ranker.uses_text):
                continue
            terms = ranker.score_terms(X, queries if with_query else None)
            if not weighted_only or self._weight(name):
                out[name] = terms[HISTORY]
            if QUERY in terms:
                out[QUERY] = terms[QUERY]
        return out

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        total = np.zeros((X.shape[0], self.catalog.n_items), dtype=np.float32)
        for name, S in self.component_scores(X, queries, weighted_only=True).items():
            w = self._weight(name)
            if w:
                total += w * S / _spread(S)
        return total

    def score_vector(self, x: np.ndarray, query_text: str = "") -> ScoredVector:
        """Return the hybrid scores of one vector; sources are the weighted terms (component names, `query`).

        Zero-weight components are skipped; the components' own scored vectors and each term's spread
        (the per-user normaliser) are kept in state, so item_parts reuses them.
        """
        with_query = bool(query_text and query_text.strip()) and bool(self._weight(QUERY))
        components = {}
        for name, ranker in self.components.items():
            if self._weight(name) or (with_query and ranker.uses_text):
                components[name] = ranker.score_vector(x, query_text if with_query else "")
        terms, sources, spreads = {}, {}, {}
        total = np.zeros(self.catalog.n_items, dtype=np.float32)
        for name, scored in components.items():
            for term, row in scored.terms.items():
                key = QUERY if term == QUERY else name
                if not self._weight(key):
                    continue
                spreads[key] = float(_spread(row[None, :])[0, 0])
                terms[key] = row
                sources[key] = (self._weight(key) / spreads[key]) * row
                total += sources[key]
        return ScoredVector(scores=total, sources=sources, terms=terms,
                            state={"components": components, "spreads": spreads})

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        """Return the weighted sum of the components' item parts (each scaled as its term is in the score)."""
        if scored is None:
            scored = self.score_vector(x, query_text)
        components, spreads = scored.state["components"], scored.state["spreads"]
        items = np.asarray(items, dtype=np.int64)
        n_history, m = len(history_indices(x)), len(items)
        history, content = np.zeros((n_history, m)), np.zeros((n_history, m))
        bias, query = np.zeros(m), np.zeros(m)
        similarity = None
        with_query = QUERY in spreads
        for name, component_scored in components.items():
            parts = self.components[name].item_parts(x, items, query_text if with_query else "", component_scored)
            if name in spreads:
                f = self._weight(name) / spreads[name]
                history += f * parts.history
                content += f * parts.content
                bias += f * parts.bias
            if with_query and parts.query is not None:
                query += (self._weight(QUERY) / spreads[QUERY]) * parts.query
            if similarity is None and parts.similarity is not None:
                similarity = parts.similarity
        return ItemParts(history=history, content=content, bias=bias, query=query if with_query else None,
                         similarity=similarity, counts=self.popularity_counts(items))

    def popularity_counts(self, items: np.ndarray) -> np.ndarray | None:
        for ranker in self.components.values():
            counts = ranker.popularity_counts(items)
            if counts is not None:
                return counts
        return None

    # ------------------------------------------------------------ weight learning

    def learn_weights(self, val_scores: dict[str, np.ndarray], train_rows: sp.csr_matrix,
                      test_items: dict[int, np.ndarray], users: np.ndarray, grid: list[float] | None = None,
                      rounds: int = 2, metrics: tuple[str, ...] = ("NDCG@10",),
                      shortlist: int | None = SHORTLIST_DEPTH,
                      named_scores: dict[str, np.ndarray] | None = None) -> dict[str, float]:
        """Set weights by coordinate ascent on the mean of validation `metrics` (the strongest component at 1).

        Each trial's top-k comes from FusedTopK (candidates: each component's `shortlist` best items; None:
        the whole catalog every time); both give the same lists.

        named_scores: the same users' component scores from only a few of their liked items (what a conversation
        names); the quality is then the mean over both readings, so the weights serve a person with a history
        and one who names a few favourites alike.

        NDCG@10 on a coarse grid is the default: on ML-100K, optimising NDCG@5/P@5 directly or on a finer
        grid fitted the validation users' noise and ranked worse on held-out data.
        """
        grid = grid or [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
        ks = sorted({int(m.split("@")[1]) for m in metrics})
        rel = relevance_matrix(users, test_items, train_rows.shape[1])
        readings = [FusedTopK({n: (S / _spread(S)).astype(np.float32) for n, S in scores.items()}, train_rows, rel,
                              ks[-1], shortlist)
                    for scores in [val_scores] + ([named_scores] if named_scores is not None else [])]
        normed = readings[0].normed

        def quality(weights: dict[str, float]) -> float:
            means = []
            for ranked in readings:
                found = batch_topk_metrics(*ranked.top(weights), ks)
                # No validation users (a tiny catalog): every weighting scores 0, and the anchor's weights stay.
                means += [found[m].mean() if len(found[m]) else 0.0 for m in metrics]
            return float(np.mean(means))

        single = {n: quality({n: 1.0}) for n in normed}
        anchor = max(single, key=lambda name: single[name])
        weights = {n: (1.0 if n == anchor else 0.0) for n in normed}
        best = single[anchor]
        for _ in range(rounds):
            improved = False
            for name in normed:
                if name == anchor:
                    continue
                for g in grid + ([-0.1, -0.2, -0.3] if name == "popularity" else []):
                    trial = dict(weights, **{name: g})
                    q = quality(trial)
                    if q > best + 1e-6:
                        best, weights, improved = q, trial, True
            if not improved:
                break
        self.params["weights"] = weights
        objective = "+".join(metrics)
        self.validation = {"objective": objective, objective.lower(): best, "single": single}
        return weights

    def fit_with_validation(self, data: InteractionData, protocol: str = "random", seed: int = 0,
                            fraction: float = 0.2, progress: Callable[[str, float], None] | None = None,
                            tune: Callable[[InteractionData, Any], None] | None = None,
                            max_users: int | None = None, named: int = 0) -> HybridRanker:
        """Fit components on a carved train split, learn weights on its validation part, refit on all data.

        max_users: learn the weights on at most this many validation users (a seeded sample), since each
        component's validation scores are users x items.
        named: also read each validation user from only this many of their liked items (a conversation's named
        favourites) and learn the weights on both readings (0: the whole history only).
        """
        from ..catalog import Catalog

        split = (liked_holdout_split if protocol == "liked_holdout" else random_split)(data, fraction, seed)
        sub_catalog = Catalog.from_data(split.train)
        if tune is not None:
            tune(split.train, split)
        for i, (name, ranker) in enumerate(self.components.items()):
            if progress:
                progress(f"validation fit: {name}", i / max(len(self.components), 1) * 0.5)
            ranker.fit(split.train, sub_catalog)
        self.catalog = sub_catalog
        users = np.array(sorted(split.test_items), dtype=np.int64)
        if max_users is not None and len(users) > max_users:
            users = np.sort(np.random.default_rng(seed).choice(users, size=int(max_users), replace=False))
        rows = sub_catalog.train[users]
        val_scores = self.component_scores(rows)
        named_scores = self.component_scores(named_rows(rows, named, seed)) if named else None
        self.learn_weights(val_scores, rows, split.test_items, users, named_scores=named_scores)
        if progress:
            progress("refit on all data", 0.5)
        self.fit(data)
        return self

    # ------------------------------------------------------------ persistence

    def _save_state(self, path: Path) -> None:
        (path / "components.json").write_text(json.dumps(list(self.components)))
        for name, ranker in self.components.items():
            ranker.save_model(path / name)

    def _load_state(self, path: Path) -> None:
        names = json.loads((path / "components.json").read_text())
        self.components = {n: load_model(path / n, self.catalog) for n in names}
