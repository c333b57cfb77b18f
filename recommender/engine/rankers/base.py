"""The ranker contract: fit, score, recommend, similar_items, explain, save/load (npz + json).

Every ranker decomposes its scores through one method, `item_parts`: for a user's graded item vector
and several candidate items it returns each item's score split exactly into per-history-item parts,
the item's own term and the request-text term. Explanations (`explain`) and the evidence served with
recommendations (`evidence`) are both built from it here, so they cannot drift apart.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from ..arrays import load_csr, load_npz, save_csr, save_npz
from ..catalog import Catalog, read_rows, read_values
from ..data import InteractionData
from ..metrics import topk_indices
from ..types import Constraints, Evidence, Profile, ScoredItem

FORMAT_VERSION = 1
HISTORY = "history"  # the score term driven by the user's items
QUERY = "query"  # the score term driven by the request text (text models only)

DETAILS = {
    "liked_item": "you liked this item; items liked together with it score higher",
    "history_item": "you interacted with this item; items picked together with it score higher",
    "disliked_item": "you disliked this item; items liked together with it score lower",
    "popularity": "popular with many users",
}
POPULARITY_PENALTY = "popularity penalty: very popular items are down-weighted"


@dataclass
class ItemParts:
    """Exact additive parts of several items' scores for one graded item vector x.

    Rows follow the history items np.flatnonzero(x); columns follow the candidate items.
    history: collaborative part each history item adds; content: text-similarity part each history item
    adds (similarity: the cosine behind it); bias: each item's own term; query: each item's
    request-text term, None where the model read no request text; counts: interaction counts behind a
    popularity term, where the model knows them. The parts of a column sum to that item's score.
    """

    history: np.ndarray
    content: np.ndarray
    bias: np.ndarray
    query: np.ndarray | None = None
    similarity: np.ndarray | None = None
    counts: np.ndarray | None = None

    @classmethod
    def zeros(cls, n_history: int, n_items: int) -> ItemParts:
        """Return parts that are zero everywhere (float32 item parts, float64 terms)."""
        return cls(history=np.zeros((n_history, n_items), dtype=np.float32),
                   content=np.zeros((n_history, n_items), dtype=np.float32), bias=np.zeros(n_items))

    def totals(self) -> np.ndarray:
        """Return each item's score: the sum of its parts."""
        total = self.history.sum(axis=0, dtype=np.float64) + self.content.sum(axis=0, dtype=np.float64) + self.bias
        return total + self.query if self.query is not None else total


@dataclass
class ScoredVector:
    """One graded item vector scored over the catalog: what serving computes once and explains from.

    sources: named additive parts of scores, reported per recommended item; terms: the model's raw
    score terms (see Ranker.score_terms); state: whatever else the model reuses in item_parts.
    """

    scores: np.ndarray
    sources: dict[str, np.ndarray]
    terms: dict[str, np.ndarray]
    state: dict[str, Any] = field(default_factory=dict)


_last_history = threading.local()


def history_indices(x: np.ndarray) -> np.ndarray:
    """Return np.flatnonzero(x): the positions of a graded item vector's history items.

    One request reads its profile vector's history about ten times (every component scores and explains
    from it), a full pass over the catalog each time; serving makes that vector read-only, so for such a
    vector the positions are found once per thread and reused.
    """
    if x.flags.writeable:
        return np.flatnonzero(x)
    last = getattr(_last_history, "pair", None)
    if last is not None and last[0] is x:
        return last[1]
    nz = np.flatnonzero(x)
    _last_history.pair = (x, nz)
    return nz


def one_row(x: np.ndarray) -> sp.csr_matrix:
    """Return the dense item vector x as a one-row CSR matrix of its nonzero entries."""
    nz = history_indices(x)
    return sp.csr_matrix((np.asarray(x)[nz].astype(np.float32), nz, np.array([0, len(nz)])), shape=(1, len(x)))


class Ranker:
    """Base class: subclasses implement _fit, _score_rows, item_parts and state persistence.

    Scores are linear in the user's graded item vector wherever the model allows, so `item_parts`
    decomposes an item's score exactly into per-history-item (and bias and request-text) parts.
    """

    name: ClassVar[str] = "base"
    uses_text: ClassVar[bool] = False
    # Which part of a user's graded item vector the model reads: "interactions" (every positive entry
    # as 1), "likes" (liked entries only) or "raw" (the values as given, for models that pass them on).
    signal: ClassVar[str] = "interactions"
    progress: bool = False  # per-epoch console bars, for models that train in epochs
    catalog: Catalog  # set by fit() or load_model()

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    # ------------------------------------------------------------ to implement

    def _fit(self, data: InteractionData) -> None:
        raise NotImplementedError

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        """Return dense scores (rows of X) over the catalog (or the items known at fit time)."""
        raise NotImplementedError

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        """Return the exact parts of the scores of `items` (catalog indices) for the graded vector x.

        x keeps the grades (implementations read their signal from it with read_vector); scored, when
        given, is score_vector(x, query_text), whose work an implementation may reuse.
        """
        raise NotImplementedError

    def _save_state(self, path: Path) -> None:
        raise NotImplementedError

    def _load_state(self, path: Path) -> None:
        raise NotImplementedError

    def extend(self, new_indices: list[int]) -> None:
        """Hook for catalog growth: models that can score new items from text update here."""

    def popularity_counts(self, items: np.ndarray) -> np.ndarray | None:
        """Return the interaction counts of items where the model keeps them (None otherwise)."""
        return None

    # ------------------------------------------------------------ signals

    def read_signal(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """Return the part of the graded user-item rows X this model reads (see `signal`)."""
        if self.signal == "raw":
            return sp.csr_matrix(X, dtype=np.float32)
        return read_rows(X, self.signal)

    def read_vector(self, x: np.ndarray) -> np.ndarray:
        """Return read_signal for one dense item vector."""
        return read_values(np.asarray(x, dtype=np.float32).copy(), self.signal)

    @property
    def fit_matrix(self) -> sp.csr_matrix:
        """The catalog's training matrix as this model reads it."""
        return self.catalog.liked if self.signal == "likes" else self.catalog.interactions

    # ------------------------------------------------------------ contract

    def fit(self, data: InteractionData, catalog: Catalog | None = None) -> Ranker:
        """Fit on the data's interactions (implicit matrix); returns self."""
        self.catalog = catalog if catalog is not None else Catalog.from_data(data)
        self._fit(data)
        return self

    def _pad(self, scores: np.ndarray) -> np.ndarray:
        n = self.catalog.n_items
        if scores.shape[-1] < n:
            pad = np.zeros(scores.shape[:-1] + (n - scores.shape[-1],), dtype=scores.dtype)
            scores = np.concatenate([scores, pad], axis=-1)
        return scores

    def score_matrix(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        """Return scores over all catalog items for each row of a signed user-item matrix."""
        rows = self.read_signal(sp.csr_matrix(X, dtype=np.float32))
        return self._pad(np.asarray(self._score_rows(rows, queries), dtype=np.float32))

    def score_terms(self, X: sp.csr_matrix, queries: list[str] | None = None) -> dict[str, np.ndarray]:
        """Return the additive terms of score_matrix(X, queries) by name (HISTORY; QUERY for text models)."""
        return {HISTORY: self.score_matrix(X, queries)}

    def score_vector(self, x: np.ndarray, query_text: str = "") -> ScoredVector:
        """Return the scores of one graded item vector (and request text), kept for explaining them."""
        terms = {name: S[0] for name, S in self.score_terms(one_row(x), [query_text]).items()}
        scores = terms[HISTORY] + terms[QUERY] if QUERY in terms else terms[HISTORY]
        return ScoredVector(scores=scores, sources={self.name: scores}, terms=terms)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """Return scores for known user indices from their training rows (used by evaluation)."""
        return self.score_matrix(self.catalog.train[np.asarray(users)])

    def scores(self, user_key: str | None = None, profile: Profile | None = None) -> np.ndarray:
        """Return scores over all catalog items for a known user, an ad-hoc profile, or both."""
        x = self.catalog.profile_vector(user_key, profile)
        query = profile.query_text if profile is not None else ""
        return self.score_matrix(sp.csr_matrix(x[None, :]), [query])[0]

    def recommend(
        self,
        user_key: str | None = None,
        profile: Profile | None = None,
        n: int = 10,
        constraints: Constraints | None = None,
        filter_seen: bool = True,
    ) -> list[ScoredItem]:
        """Return the top-n items, never a seen one (when filtering) nor one violating constraints."""
        scores = self.scores(user_key, profile).astype(np.float64)
        if filter_seen:
            scores[self.catalog.profile_vector(user_key, profile) != 0] = -np.inf
        mask = self.catalog.constraint_mask(constraints)
        if mask is not None:
            scores[~mask] = -np.inf
        top = [i for i in topk_indices(scores, n) if np.isfinite(scores[i])]
        return [ScoredItem(item_id=self.catalog.item_ids[i], score=float(scores[i]), sources={self.name: float(scores[i])})
                for i in top]

    def similar_items(self, item_id: str, n: int = 10) -> list[ScoredItem]:
        """Return the n items scoring highest for a profile that liked only item_id."""
        if item_id not in self.catalog.item_index:
            return []
        return self.recommend(profile=Profile(liked=[item_id]), n=n)

    def evidence(self, x: np.ndarray, items: np.ndarray, query_text: str = "", limit: int = 5,
                 scored: ScoredVector | None = None) -> list[list[Evidence]]:
        """Return the largest score parts of each of `items` as evidence, weights as shares of its score.

        The serving path: pass scored = score_vector(x, query_text) to reuse the scoring already done.
        """
        items = np.asarray(items, dtype=np.int64)
        if not len(items):
            return []
        parts = self.item_parts(x, items, query_text, scored)
        return parts_evidence(self.catalog, x, items, parts, query_text, limit)

    def explain(self, item_id: str, user_key: str | None = None, profile: Profile | None = None,
                limit: int = 5) -> list[Evidence]:
        """Return the largest score contributions for item_id, weights as shares of the item's score."""
        idx = self.catalog.item_index.get(item_id)
        if idx is None:
            return []
        x = self.catalog.profile_vector(user_key, profile)
        query = profile.query_text if profile is not None else ""
        return self.evidence(x, np.array([idx]), query, limit)[0]

    # ------------------------------------------------------------ persistence

    def save(self, path: Path | str) -> Path:
        """Write the catalog, meta.json and the model arrays under path; return path."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.catalog.save(path)
        self.save_model(path)
        return path

    def save_model(self, path: Path) -> None:
        """Write meta.json and model state only (no catalog)."""
        path.mkdir(parents=True, exist_ok=True)
        meta = {"ranker": self.name, "params": self.params, "format": FORMAT_VERSION}
        (path / "meta.json").write_text(json.dumps(meta))
        self._save_state(path)

    @classmethod
    def load(cls, path: Path | str) -> Ranker:
        """Return the ranker saved under path (the subclass is read from meta.json)."""
        path = Path(path)
        return load_model(path, Catalog.load(path))


# Ranker name -> class, for loading a saved model; the package (rankers/__init__.py) fills it with every ranker.
RANKERS: dict[str, type[Ranker]] = {}


def load_model(path: Path, catalog: Catalog) -> Ranker:
    """Return a ranker from save_model() output, attached to catalog."""
    meta = json.loads((path / "meta.json").read_text())
    ranker = RANKERS[meta["ranker"]](**meta["params"])
    ranker.catalog = catalog
    ranker._load_state(path)
    return ranker


def history_kind(signal: float) -> str:
    """Return the evidence kind of a history item from its graded signal (see catalog.py)."""
    if signal >= 1.0:
        return "liked_item"
    return "history_item" if signal > 0 else "disliked_item"


def _top_nonzero(values: np.ndarray, limit: int) -> list[int]:
    """Return the positions of the `limit` largest values (stable order), skipping zeros."""
    return [int(k) for k in np.argsort(-values, kind="stable")[:limit] if values[k] != 0]


def _content_detail(signal: float) -> str:
    if signal >= 1.0:
        return "similar text to an item you liked"
    return "similar text to an item in your history" if signal > 0 else "similar text to an item you disliked"


def parts_evidence(catalog: Catalog, x: np.ndarray, items: np.ndarray, parts: ItemParts, query_text: str,
                   limit: int) -> list[list[Evidence]]:
    """Return each item's `limit` largest parts as evidence, weights as shares of the item's score.

    History items are labelled from their grade in x (liked, merely seen, disliked); the share's
    denominator is the item's score, or the sum of absolute parts where the score is zero.
    """
    nz = history_indices(x)
    m = len(items)
    collab, content, pop = parts.history, parts.content, parts.bias
    query = parts.query if parts.query is not None else np.zeros(m)
    total = collab.sum(axis=0) + content.sum(axis=0) + pop + query
    scale = np.abs(collab).sum(axis=0) + np.abs(content).sum(axis=0) + np.abs(pop) + np.abs(query)
    denom = np.where(np.abs(total) > 1e-12, total, np.where(scale > 0, scale, 1.0))
    records = catalog.records
    result = []
    for c, idx in enumerate(items):
        d = denom[c]
        out: list[Evidence] = []
        col = collab[:, c]
        for k in _top_nonzero(col, limit):
            j = int(nz[k])
            kind = history_kind(float(x[j]))
            out.append(Evidence(kind=kind, weight=float(col[k] / d), item_id=records[j].item_id,
                                title=records[j].title, detail=DETAILS[kind]))
        col = content[:, c]
        for k in _top_nonzero(col, limit):
            j = int(nz[k])
            sim = float(parts.similarity[k, c]) if parts.similarity is not None else None
            out.append(Evidence(kind="content_similarity", weight=float(col[k] / d), item_id=records[j].item_id,
                                title=records[j].title, value=sim, detail=_content_detail(float(x[j]))))
        if pop[c] != 0:
            count = int(parts.counts[c]) if parts.counts is not None and parts.counts[c] >= 0 else None
            out.append(Evidence(kind="popularity", weight=float(pop[c] / d), value=count,
                                detail=DETAILS["popularity"] if pop[c] > 0 else POPULARITY_PENALTY))
        if parts.query is not None:
            out.append(Evidence(kind="content_similarity", weight=float(query[c] / d), value=query_text,
                                detail="similar text to your request"))
            out += attribute_matches(records[int(idx)].attributes, query_text)
        out.sort(key=lambda e: -e.weight)
        result.append(out[:limit])
    return result


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


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays to path/state.npz (uncompressed: loaded memory-mapped, see arrays.py)."""
    save_npz(path / "state.npz", **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Return arrays from path/state.npz, memory-mapped read-only (no pickle)."""
    return load_npz(path / "state.npz")


def save_sparse(path: Path, name: str, m: sp.csr_matrix) -> None:
    """Write a CSR matrix as plain arrays."""
    save_csr(path / f"{name}.npz", m)


def load_sparse(path: Path, name: str) -> sp.csr_matrix:
    """Return a CSR matrix written by save_sparse, its arrays memory-mapped read-only."""
    return load_csr(path / f"{name}.npz")
