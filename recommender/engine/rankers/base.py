"""The ranker contract: fit, score, recommend, similar_items, explain, save/load (npz + json)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from ..catalog import Catalog, read_rows, read_values
from ..data import InteractionData
from ..metrics import topk_indices
from ..types import Constraints, Evidence, Profile, ScoredItem

FORMAT_VERSION = 1


class Ranker:
    """Base class: subclasses implement _fit, _score_rows, contributions and state persistence.

    Scores are linear in the user's signed item vector wherever the model allows, so
    `contributions` decomposes an item's score exactly into per-item (and bias) parts.
    """

    name: ClassVar[str] = "base"
    uses_text: ClassVar[bool] = False
    # Which part of a user's graded item vector the model reads: "interactions" (every positive entry
    # as 1), "likes" (liked entries only) or "raw" (the values as given, for models that pass them on).
    signal: ClassVar[str] = "interactions"

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self.catalog: Catalog | None = None

    # ------------------------------------------------------------ to implement

    def _fit(self, data: InteractionData) -> None:
        raise NotImplementedError

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        """Return dense scores (rows of X) over the catalog (or the items known at fit time)."""
        raise NotImplementedError

    def contributions(self, x: np.ndarray, idx: int, query_text: str = "") -> list[Evidence]:
        """Return evidence whose weights are raw score parts summing to the item's score.

        x is the graded item vector; implementations read their part of it with read_vector.
        """
        raise NotImplementedError

    def item_parts(self, x: np.ndarray, nz: np.ndarray, idx: int) -> tuple[np.ndarray, float]:
        """Return (raw contribution of each history item x[nz], the item's own bias term) for item idx."""
        raise NotImplementedError

    def item_parts_many(self, x: np.ndarray, nz: np.ndarray, idxs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return item_parts for several items at once: (len(nz) x len(idxs) contributions, biases)."""
        found = [self.item_parts(x, nz, int(i)) for i in idxs]
        parts = np.stack([f[0] for f in found], axis=1) if found else np.zeros((len(nz), 0), np.float32)
        return parts, np.array([f[1] for f in found], dtype=np.float64)

    def _save_state(self, path: Path) -> None:
        raise NotImplementedError

    def _load_state(self, path: Path) -> None:
        raise NotImplementedError

    def extend(self, new_indices: list[int]) -> None:
        """Hook for catalog growth: models that can score new items from text update here."""

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

    def fit(self, data: InteractionData, catalog: Catalog | None = None) -> "Ranker":
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

    def explain(self, item_id: str, user_key: str | None = None, profile: Profile | None = None,
                limit: int = 5) -> list[Evidence]:
        """Return the largest score contributions for item_id, weights as shares of the item's score."""
        idx = self.catalog.item_index.get(item_id)
        if idx is None:
            return []
        x = self.catalog.profile_vector(user_key, profile)
        query = profile.query_text if profile is not None else ""
        parts = self.contributions(x, idx, query)
        return shares(parts, limit)

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
    def load(cls, path: Path | str) -> "Ranker":
        """Return the ranker saved under path (the subclass is read from meta.json)."""
        path = Path(path)
        return load_model(path, Catalog.load(path))


def load_model(path: Path, catalog: Catalog) -> Ranker:
    """Return a ranker from save_model() output, attached to catalog."""
    from . import RANKERS

    meta = json.loads((path / "meta.json").read_text())
    ranker = RANKERS[meta["ranker"]](**meta["params"])
    ranker.catalog = catalog
    ranker._load_state(path)
    return ranker


def shares(parts: list[Evidence], limit: int = 5) -> list[Evidence]:
    """Return evidence with raw contributions turned into shares of their total, largest first."""
    total = float(sum(e.weight for e in parts))
    denom = total if abs(total) > 1e-12 else (sum(abs(e.weight) for e in parts) or 1.0)
    out = [Evidence(kind=e.kind, weight=float(e.weight) / denom, item_id=e.item_id, title=e.title,
                    attribute=e.attribute, value=e.value, detail=e.detail) for e in parts]
    out.sort(key=lambda e: -e.weight)
    return out[:limit]


def history_kind(signal: float) -> str:
    """Return the evidence kind of a history item from its graded signal (see catalog.py)."""
    if signal >= 1.0:
        return "liked_item"
    return "history_item" if signal > 0 else "disliked_item"


def item_evidence(catalog: Catalog, x: np.ndarray, weights: np.ndarray, detail: str) -> list[Evidence]:
    """Return liked/history/disliked-item evidence for the nonzero entries of the graded vector x.

    weights are the raw contributions, computed from the signal the model reads; x keeps the grades, so
    an interaction model that counts a merely seen item as 1 still labels it history, not liked.
    """
    out = []
    for j in np.flatnonzero(x):
        c = float(weights[j])
        if c == 0.0:
            continue
        rec = catalog.records[j]
        kind = history_kind(float(x[j]))
        out.append(Evidence(kind=kind, weight=c, item_id=rec.item_id, title=rec.title, detail=detail))
    return out


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """Write arrays to path/state.npz."""
    np.savez(path / "state.npz", **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """Return arrays from path/state.npz (no pickle)."""
    with np.load(path / "state.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def save_sparse(path: Path, name: str, m: sp.csr_matrix) -> None:
    """Write a CSR matrix as plain arrays."""
    m = sp.csr_matrix(m)
    np.savez(path / f"{name}.npz", data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape))


def load_sparse(path: Path, name: str) -> sp.csr_matrix:
    """Return a CSR matrix written by save_sparse."""
    with np.load(path / f"{name}.npz", allow_pickle=False) as z:
        return sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
