"""Hybrid: a weighted sum of per-user standardised component scores, weights learned on validation.

hybrid(u, i) = sum_k w_k * s_k(u, i) / sd_k(u) + w_query * q(u, i) / sd_q(u), where sd is the spread of a
component's scores over the catalog for that user. Each term stays linear in its component's score,
so every component's exact contributions carry over into the hybrid's explanation.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData, liked_holdout_split, random_split
from ..metrics import batch_topk_metrics, relevance_matrix, topk_indices
from ..types import Evidence
from .base import Ranker, history_kind, load_model
from .content import attribute_matches

QUERY = "query"
_DETAILS = {
    "liked_item": "you liked this item; items liked together with it score higher",
    "history_item": "you interacted with this item; items picked together with it score higher",
    "disliked_item": "you disliked this item; items liked together with it score lower",
    "popularity": "popular with many users",
}


def _top_nonzero(values: np.ndarray, limit: int) -> list[int]:
    """Return the positions of the `limit` largest values (stable order), skipping zeros."""
    return [int(k) for k in np.argsort(-values, kind="stable")[:limit] if values[k] != 0]


def _spread(S: np.ndarray) -> np.ndarray:
    sd = S.std(axis=1, keepdims=True)
    return np.where(sd > 1e-9, sd, 1.0).astype(np.float32)


class HybridRanker(Ranker):
    """Fuses component rankers; `query` weights the content model's similarity to the query text."""

    name = "hybrid"
    uses_text = True
    signal = "raw"  # each component reads its own part of the graded vector

    def __init__(self, weights: dict[str, float] | None = None, query_weight: float = 1.0, **params) -> None:
        super().__init__(weights=dict(weights or {}), query_weight=query_weight, **params)
        self.components: dict[str, Ranker] = {}

    def with_components(self, components: dict[str, Ranker]) -> "HybridRanker":
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

    def component_scores(self, X: sp.csr_matrix, queries: list[str] | None = None,
                         weighted_only: bool = False) -> dict[str, np.ndarray]:
        """Return each component's raw scores, plus the query similarity when a content model is present.

        weighted_only skips components whose weight is zero (they add nothing to the hybrid's score).
        """
        out = {}
        for name, ranker in self.components.items():
            if ranker.name == "content":
                if not weighted_only or self._weight(name):
                    out[name] = ranker._pad(ranker.history_rows(ranker.read_signal(X)))
                if queries and any(q and q.strip() for q in queries) and (not weighted_only or self._weight(QUERY)):
                    out[QUERY] = ranker._pad(ranker.query_rows(queries, X.shape[0]))
            elif not weighted_only or self._weight(name):
                out[name] = ranker.score_matrix(X)
        return out

    def _weight(self, name: str) -> float:
        return float(self.params["query_weight"]) if name == QUERY else float(self.weights.get(name, 0.0))

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        total = np.zeros((X.shape[0], self.catalog.n_items), dtype=np.float32)
        for name, S in self.component_scores(X, queries, weighted_only=True).items():
            w = self._weight(name)
            if w:
                total += w * S / _spread(S)
        return total

    def scored_sources(self, x: np.ndarray, query_text: str = "") -> tuple[np.ndarray, dict[str, np.ndarray], dict]:
        """Return (hybrid scores, each component's weighted term, raw component scores) for one item vector."""
        parts = self.component_scores(sp.csr_matrix(x[None, :]), [query_text])
        sources = {}
        for name, S in parts.items():
            w = self._weight(name)
            if w:
                sources[name] = (w * S / _spread(S))[0]
        total = np.sum(list(sources.values()), axis=0) if sources else np.zeros(self.catalog.n_items, np.float32)
        return total, sources, parts

    def score_parts(self, x: np.ndarray, query_text: str = "") -> tuple[np.ndarray, dict, dict, dict[str, float]]:
        """Return (hybrid scores, weighted terms, raw scores, spreads) for one item vector: the serving path.

        Zero-weight components are skipped and each spread is computed once, so evidence reuses them.
        """
        n = len(x)
        nz = np.flatnonzero(x)
        X = sp.csr_matrix((x[nz].astype(np.float32), nz, np.array([0, len(nz)])), shape=(1, n))
        parts = self.component_scores(X, [query_text], weighted_only=True)
        sources, spreads = {}, {}
        total = np.zeros(self.catalog.n_items, dtype=np.float32)
        for name, S in parts.items():
            spreads[name] = float(_spread(S)[0, 0])
            term = (self._weight(name) / spreads[name]) * S[0]
            sources[name] = term
            total += term
        return total, sources, parts, spreads

    def spreads(self, parts: dict[str, np.ndarray]) -> dict[str, float]:
        """Return each component's score spread for a single-row `parts` (the per-user normaliser)."""
        return {name: float(_spread(S)[0, 0]) for name, S in parts.items()}

    def contributions(self, x: np.ndarray, idx: int, query_text: str = "",
                      parts: dict[str, np.ndarray] | None = None,
                      spreads: dict[str, float] | None = None) -> list[Evidence]:
        """Return raw contributions; pass `parts`/`spreads` of this x to skip recomputing them."""
        if parts is None:
            parts = self.component_scores(sp.csr_matrix(x[None, :]), [query_text])
        if spreads is None:
            spreads = self.spreads(parts)
        merged: dict[tuple, Evidence] = {}
        for name, S in parts.items():
            w = self._weight(name)
            if not w:
                continue
            factor = w / spreads[name]
            if name == QUERY:
                evidence = [Evidence(kind="content_similarity", weight=float(S[0, idx]), value=query_text,
                                     detail="similar text to your request")]
                evidence += attribute_matches(self.catalog.records[idx].attributes, query_text)
            else:
                evidence = self.components[name].contributions(x, idx, "")
            for e in evidence:
                key = (e.kind, e.item_id, e.attribute, str(e.value) if e.kind == "attribute_match" else None)
                if key in merged:
                    merged[key].weight += factor * e.weight
                    if merged[key].value is None:
                        merged[key].value = e.value
                else:
                    merged[key] = Evidence(kind=e.kind, weight=factor * e.weight, item_id=e.item_id, title=e.title,
                                           attribute=e.attribute, value=e.value, detail=_DETAILS.get(e.kind, e.detail))
        for e in merged.values():
            if e.kind == "popularity" and e.weight < 0:
                e.detail = "popularity penalty: very popular items are down-weighted"
        return list(merged.values())

    def fast_evidence(self, x: np.ndarray, nz: np.ndarray, idx: int, query_text: str,
                      parts: dict[str, np.ndarray], spreads: dict[str, float], limit: int = 5) -> list[Evidence]:
        """Return shares(contributions(...), limit) computed with arrays: the serving path."""
        return self.evidence_many(x, nz, np.array([idx]), query_text, parts, spreads, limit)[0]

    def evidence_many(self, x: np.ndarray, nz: np.ndarray, idxs: np.ndarray, query_text: str,
                      parts: dict[str, np.ndarray], spreads: dict[str, float], limit: int = 5) -> list[list[Evidence]]:
        """Return fast_evidence for several items, each component's parts computed for all of them at once."""
        idxs = np.asarray(idxs, dtype=np.int64)
        m = len(idxs)
        collab = np.zeros((len(nz), m))
        content = np.zeros((len(nz), m))
        pop = np.zeros(m)
        query = np.zeros(m)
        content_ranker = None
        for name, S in parts.items():
            w = self._weight(name)
            if not w:
                continue
            f = w / spreads[name]
            if name == QUERY:
                query += f * S[0, idxs]
                continue
            ranker = self.components[name]
            item_part, bias = ranker.item_parts_many(x, nz, idxs)
            if ranker.name == "content":
                content += f * item_part
                content_ranker = ranker
            else:
                collab += f * item_part
            pop += f * bias
        total = collab.sum(axis=0) + content.sum(axis=0) + pop + query
        scale = np.abs(collab).sum(axis=0) + np.abs(content).sum(axis=0) + np.abs(pop) + np.abs(query)
        denom = np.where(np.abs(total) > 1e-12, total, np.where(scale > 0, scale, 1.0))
        records = self.catalog.records
        pop_ranker = next((r for r in self.components.values() if r.name == "popularity"), None)
        with_query = QUERY in parts and bool(self._weight(QUERY))
        sims = None
        if content_ranker is not None and len(nz):
            live = nz[nz < content_ranker.E.shape[0]]
            sims = np.zeros((len(nz), m), dtype=np.float32)
            ok = idxs < content_ranker.E.shape[0]
            sims[np.ix_(nz < content_ranker.E.shape[0], ok)] = content_ranker.E[live] @ content_ranker.E[idxs[ok]].T
        result = []
        for c, idx in enumerate(idxs):
            d = denom[c]
            out: list[Evidence] = []
            col = collab[:, c]
            for k in _top_nonzero(col, limit):
                j = int(nz[k])
                kind = history_kind(float(x[j]))
                out.append(Evidence(kind=kind, weight=float(col[k] / d), item_id=records[j].item_id,
                                    title=records[j].title, detail=_DETAILS[kind]))
            col = content[:, c]
            for k in _top_nonzero(col, limit):
                j = int(nz[k])
                out.append(Evidence(kind="content_similarity", weight=float(col[k] / d),
                                    item_id=records[j].item_id, title=records[j].title, value=float(sims[k, c]),
                                    detail="similar text to an item you liked" if x[j] >= 1.0
                                    else "similar text to an item in your history" if x[j] > 0
                                    else "similar text to an item you disliked"))
            if pop[c] != 0:
                count = int(pop_ranker.counts[idx]) if pop_ranker is not None and idx < len(pop_ranker.counts) else None
                out.append(Evidence(kind="popularity", weight=float(pop[c] / d), value=count,
                                    detail=_DETAILS["popularity"] if pop[c] > 0 else
                                    "popularity penalty: very popular items are down-weighted"))
            if with_query:
                out.append(Evidence(kind="content_similarity", weight=float(query[c] / d), value=query_text,
                                    detail="similar text to your request"))
                out += attribute_matches(records[idx].attributes, query_text)
            out.sort(key=lambda e: -e.weight)
            result.append(out[:limit])
        return result

    # ------------------------------------------------------------ weight learning

    def learn_weights(self, val_scores: dict[str, np.ndarray], train_rows: sp.csr_matrix,
                      test_items: dict[int, np.ndarray], users: np.ndarray, grid: list[float] | None = None,
                      rounds: int = 2, metrics: tuple[str, ...] = ("NDCG@10",)) -> dict[str, float]:
        """Set weights by coordinate ascent on the mean of validation `metrics` (the strongest component at 1).

        NDCG@10 on a coarse grid is the default: on ML-100K, optimising NDCG@5/P@5 directly or on a finer
        grid fitted the validation users' noise and ranked worse on held-out data.
        """
        grid = grid or [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
        ks = sorted({int(m.split("@")[1]) for m in metrics})
        normed = {n: (S / _spread(S)).astype(np.float32) for n, S in val_scores.items()}
        seen = train_rows.nonzero()
        rel = relevance_matrix(users, test_items, train_rows.shape[1])

        def quality(weights: dict[str, float]) -> float:
            total = np.zeros_like(next(iter(normed.values())))
            for n, w in weights.items():
                if w:
                    total += w * normed[n]
            total[seen] = -np.inf
            found = batch_topk_metrics(topk_indices(total, ks[-1]), rel, ks)
            return float(np.mean([found[m].mean() for m in metrics]))

        single = {n: quality({n: 1.0}) for n in normed}
        anchor = max(single, key=single.get)
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
                            max_users: int | None = None) -> "HybridRanker":
        """Fit components on a carved train split, learn weights on its validation part, refit on all data.

        max_users: learn the weights on at most this many validation users (a seeded sample), since each
        component's validation scores are users x items.
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
        self.learn_weights(val_scores, rows, split.test_items, users)
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
