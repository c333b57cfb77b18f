"""Item-item linear models: score = x @ W, so item i's part from history item j is x_j * W[j, i] exactly."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData
from .base import ItemParts, Ranker, ScoredVector, history_indices, load_arrays, load_sparse, save_arrays, save_sparse


def _top_k_columns(W: np.ndarray, k: int) -> sp.csr_matrix:
    """Return W keeping only the k largest entries of every column (as CSR)."""
    n = W.shape[0]
    k = min(k, n)
    rows = np.argpartition(-W, k - 1, axis=0)[:k]
    cols = np.broadcast_to(np.arange(n), rows.shape)
    vals = W[rows, cols]
    keep = vals > 0
    return sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=W.shape, dtype=np.float32)


def rp3_transitions(X: sp.csr_matrix, alpha: float) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Return RP3beta's user->item and item->user transition matrices (rows normalised, entries raised to
    alpha, CSR) and each item's degree, from the user-item matrix X."""
    user_deg = np.asarray(X.sum(axis=1)).ravel()
    item_deg = np.asarray(X.sum(axis=0)).ravel()
    Pui = sp.csr_matrix(sp.diags(1.0 / np.maximum(user_deg, 1.0)) @ X)
    Piu = sp.csr_matrix(sp.diags(1.0 / np.maximum(item_deg, 1.0)) @ X.T)
    Pui.data **= alpha
    Piu.data **= alpha
    return Pui, Piu, item_deg


class ItemItemRanker(Ranker):
    """Shared scoring, explanation and persistence for a fitted item-item weight matrix W."""

    W: np.ndarray | sp.csr_matrix

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        n = self.W.shape[0]
        X = X if X.shape[1] == n else X[:, :n]
        if X.shape[0] == 1 and not sp.issparse(self.W):
            # One user: sum the few rows of W that the user touched (fast for dense W).
            idx, vals = X.indices, X.data
            return (vals @ self.W[idx])[None, :]
        out = X @ self.W
        return out.toarray() if sp.issparse(out) else np.asarray(out)

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        nz = history_indices(x)
        x = self.read_vector(x)  # the model's signal for the math; evidence labels come from the grades
        n = self.W.shape[0]
        items = np.asarray(items, dtype=np.int64)
        parts = ItemParts.zeros(len(nz), len(items))
        keep, cols = nz < n, items < n
        if keep.any() and cols.any():
            rows, live = nz[keep], items[cols]
            block = self.W[rows][:, live].toarray() if sp.issparse(self.W) else self.W[np.ix_(rows, live)]
            sub = np.zeros((len(rows), len(items)), dtype=np.float32)
            sub[:, cols] = block
            parts.history[keep] = x[rows][:, None] * sub
        return parts

    def _save_state(self, path: Path) -> None:
        if sp.issparse(self.W):
            save_sparse(path, "W", self.W)
        else:
            save_arrays(path, W=self.W)

    def _load_state(self, path: Path) -> None:
        if (path / "W.npz").exists():
            self.W = load_sparse(path, "W")
        else:
            self.W = load_arrays(path)["W"]


class EASERanker(ItemItemRanker):
    """EASE (Steck 2019): closed-form ridge item-item regression with a zero diagonal."""

    name = "ease"

    def __init__(self, l2: float = 300.0, **params) -> None:
        super().__init__(l2=l2, **params)

    def _fit(self, data: InteractionData) -> None:
        X = self.fit_matrix
        G = (X.T @ X).toarray().astype(np.float64)
        G[np.diag_indices_from(G)] += float(self.params["l2"])
        P = np.linalg.inv(G)
        B = P / (-np.diag(P))
        B[np.diag_indices_from(B)] = 0.0
        self.W = B.astype(np.float32)


class LikedEASERanker(EASERanker):
    """EASE fitted on, and scoring from, liked items only: what people like together, not just pick.

    Beside interaction EASE it separates taste from exposure (a watched-and-disliked film is not
    evidence for its neighbours), and its explanations cite only items the person liked.
    """

    name = "ease_liked"
    signal = "likes"

    def __init__(self, l2: float = 200.0, **params) -> None:
        super().__init__(l2=l2, **params)


class ItemKNNRanker(ItemItemRanker):
    """Item-kNN: shrunk cosine similarity, k nearest neighbours per item."""

    name = "itemknn"

    def __init__(self, k: int = 100, shrink: float = 10.0, **params) -> None:
        super().__init__(k=k, shrink=shrink, **params)

    def _fit(self, data: InteractionData) -> None:
        X = self.fit_matrix
        G = (X.T @ X).toarray().astype(np.float32)
        norms = np.sqrt(np.diag(G)).astype(np.float32)
        S = G / (np.outer(norms, norms) + float(self.params["shrink"]) + 1e-8)
        np.fill_diagonal(S, 0.0)
        self.W = _top_k_columns(S, int(self.params["k"]))


class RP3betaRanker(ItemItemRanker):
    """RP3beta (Paudel et al. 2017): 3-step random-walk item similarity, popularity-penalised by beta."""

    name = "rp3beta"

    def __init__(self, alpha: float = 0.8, beta: float = 0.3, k: int = 150, **params) -> None:
        super().__init__(alpha=alpha, beta=beta, k=k, **params)

    def _fit(self, data: InteractionData) -> None:
        X = sp.csr_matrix(self.fit_matrix, dtype=np.float64)
        Pui, Piu, item_deg = rp3_transitions(X, float(self.params["alpha"]))
        beta = float(self.params["beta"])
        W = (Piu @ Pui).toarray()
        W /= np.power(np.maximum(item_deg, 1.0), beta)[None, :]
        np.fill_diagonal(W, 0.0)
        self.W = _top_k_columns(W.astype(np.float32), int(self.params["k"]))
