"""Components for large catalogs: fit time and memory grow with interactions, not with items squared.

The dense item-item models (linear.py) build an n x n matrix, and EASE inverts it: n^2 memory, n^3 time.
Above the training config's `dense_item_limit` these take their place:

- `itemknn_sparse` / `rp3beta_sparse`: the same similarities computed from the sparse co-occurrence X^T X,
  one block of columns at a time (never densified), pruned to each column's k best neighbours;
- `ease_head` / `ease_liked_head`: EASE over the catalog's head (the most-interacted items, up to `head`),
  its weights pruned to each column's k largest magnitudes; the tail is left to the neighbourhood models;
- `als`: implicit's ALS, its users folded in linearly from their items so every history scores the same way.

All store float32 CSR (or n x factors) state, so a serving process holds megabytes, not gigabytes.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..data import InteractionData
from .base import Ranker
from .linear import ItemItemRanker, rp3_transitions
from .mf import MFRanker

# Cells (items x block columns) of one block of the item-item similarity: bounds its transient memory.
BLOCK_CELLS = 1 << 23
# Co-occurring pairs (sum over users of items^2) above this share of items^2: the blocks are built dense.
# Sparse blocks won even on ml-latest-small (pairs 0.64 x items^2: item-kNN fit 0.95 s sparse, 1.7 s dense;
# a 10k-item synthetic catalog at 0.10: 0.46 s against 5.6 s), so dense blocks are left to near-full co-occurrence.
DENSE_SHARE = 1.0


def top_k_sparse_columns(S: sp.spmatrix, k: int, by_magnitude: bool = False) -> sp.csc_matrix:
    """Return S keeping each column's k largest entries (by value, positives only; or by |value|, nonzero)."""
    S = sp.csc_matrix(S)
    S.sum_duplicates()
    key = np.abs(S.data) if by_magnitude else S.data
    keep = key > 0 if by_magnitude else S.data > 0
    counts = np.diff(S.indptr)
    for c in np.flatnonzero(counts > k):  # only crowded columns need a partition
        lo, hi = S.indptr[c], S.indptr[c + 1]
        drop = np.argpartition(-key[lo:hi], k - 1)[k:]
        keep[lo + drop] = False
    cols = np.repeat(np.arange(S.shape[1]), counts)
    return sp.csc_matrix((S.data[keep], (S.indices[keep], cols[keep])), shape=S.shape)


def top_k_dense_columns(S: np.ndarray, k: int, first_item: int) -> sp.csc_matrix:
    """Return a dense block (columns first_item...) as CSC keeping each column's k largest positive entries."""
    n, width = S.shape
    S[first_item + np.arange(width), np.arange(width)] = 0.0  # no item is its own neighbour
    k = min(k, n)
    rows = np.argpartition(-S, k - 1, axis=0)[:k]
    cols = np.broadcast_to(np.arange(width), rows.shape)
    vals = S[rows, cols]
    keep = vals > 0
    return sp.csc_matrix((vals[keep], (rows[keep], cols[keep])), shape=S.shape)


def dense_cooccurrence(X: sp.csr_matrix) -> bool:
    """Return whether X^T X is dense enough that dense blocks beat sparse products (few, heavy users)."""
    per_user = np.diff(sp.csr_matrix(X).indptr).astype(np.float64)
    return float((per_user ** 2).sum()) > DENSE_SHARE * float(X.shape[1]) ** 2


def blockwise_top_k(left: sp.csr_matrix, right: sp.csc_matrix, k: int,
                    transform: Callable[[Any, np.ndarray], Any], dense: bool) -> sp.csr_matrix:
    """Return top-k-per-column of transform(left @ right[:, block], block), one block of columns at a time.

    left is items x users and right users x items, so each block is items x block; the diagonal is
    excluded. Dense blocks (sparse @ dense) suit heavy co-occurrence; sparse products suit light.
    Memory stays near items * k plus one block, however dense the full co-occurrence would be.
    """
    n = right.shape[1]
    width = max(1, min(n, BLOCK_CELLS // max(n, 1)))
    parts = []
    for start in range(0, n, width):
        cols = np.arange(start, min(start + width, n))
        if dense:
            block = transform(np.asarray(left @ right[:, cols].toarray()), cols)
            parts.append(top_k_dense_columns(block, k, start))
        else:
            block = transform(sp.coo_matrix(left @ right[:, cols]), cols)
            off = block.row != block.col + start
            block = sp.csc_matrix((block.data[off], (block.row[off], block.col[off])), shape=block.shape)
            parts.append(top_k_sparse_columns(block, k))
    W = sp.hstack(parts, format="csr") if parts else sp.csr_matrix((n, n))
    return sp.csr_matrix(W, dtype=np.float32)


class SparseItemKNNRanker(ItemItemRanker):
    """Item-kNN (shrunk cosine, k neighbours per item) computed from the sparse co-occurrence."""

    name = "itemknn_sparse"

    def __init__(self, k: int = 100, shrink: float = 10.0, **params) -> None:
        super().__init__(k=k, shrink=shrink, **params)

    def _fit(self, data: InteractionData) -> None:
        X = sp.csr_matrix(self.fit_matrix, dtype=np.float64)
        norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
        shrink = float(self.params["shrink"])

        def similarity(G, cols: np.ndarray):
            if sp.issparse(G):
                G.data = G.data / (norms[G.row] * norms[cols[G.col]] + shrink + 1e-8)
                return G
            return G / (np.outer(norms, norms[cols]) + shrink + 1e-8)

        self.W = blockwise_top_k(X.T.tocsr(), X.tocsc(), int(self.params["k"]), similarity, dense_cooccurrence(X))


class SparseRP3betaRanker(ItemItemRanker):
    """RP3beta (3-step random walk, popularity-penalised by beta) from sparse transition products."""

    name = "rp3beta_sparse"

    def __init__(self, alpha: float = 0.8, beta: float = 0.3, k: int = 150, **params) -> None:
        super().__init__(alpha=alpha, beta=beta, k=k, **params)

    def _fit(self, data: InteractionData) -> None:
        X = sp.csr_matrix(self.fit_matrix, dtype=np.float64)
        Pui, Piu, item_deg = rp3_transitions(X, float(self.params["alpha"]))
        penalty = np.power(np.maximum(item_deg, 1.0), float(self.params["beta"]))

        def penalised(W, cols: np.ndarray):
            if sp.issparse(W):
                W.data = W.data / penalty[cols[W.col]]
                return W
            return W / penalty[cols][None, :]

        self.W = blockwise_top_k(Piu, Pui.tocsc(), int(self.params["k"]), penalised, dense_cooccurrence(X))


def head_items(X: sp.spmatrix, head: int) -> np.ndarray:
    """Return the indices of the `head` most-interacted columns of X (ties: lower index first), ascending."""
    counts = np.asarray((X != 0).sum(axis=0)).ravel()
    order = np.argsort(-counts, kind="stable")[:min(int(head), X.shape[1])]
    return np.sort(order)


def ease_weights(G: np.ndarray, l2: float) -> np.ndarray:
    """Return EASE's B = I - P diag(1/diag P) with P = (G + l2 I)^-1 (zero diagonal), in G's precision."""
    A = G.copy()
    A[np.diag_indices_from(A)] += l2
    P = np.linalg.inv(A)
    B = P / (-np.diag(P))
    B[np.diag_indices_from(B)] = 0.0
    return B


def pruned_ease(X: sp.spmatrix, items: np.ndarray, l2: float, k: int, by_magnitude: bool) -> sp.csr_matrix:
    """Return EASE over the columns `items` of X, each column keeping its k largest weights (by |weight|, or
    positive ones only), as a catalog-sized float32 CSR matrix (zero outside items x items)."""
    n = X.shape[1]
    Xh = sp.csr_matrix(X[:, items], dtype=np.float32)
    # float32 halves the inverse's time and memory; its weights match float64 to ~1e-6 relative.
    B = ease_weights((Xh.T @ Xh).toarray().astype(np.float32), l2)
    pruned = top_k_sparse_columns(sp.csc_matrix(B), k, by_magnitude=by_magnitude).tocoo()
    return sp.csr_matrix((pruned.data.astype(np.float32), (items[pruned.row], items[pruned.col])), shape=(n, n))


class HeadEASERanker(ItemItemRanker):
    """EASE over the `head` most-interacted items, pruned to each column's k largest weights (float32 CSR).

    The head's Gram matrix is head x head whatever the catalog's size; tail items get no EASE score
    (the hybrid's neighbourhood and factor models cover them).
    """

    name = "ease_head"

    def __init__(self, l2: float = 300.0, head: int = 2000, k: int = 200, **params) -> None:
        super().__init__(l2=l2, head=head, k=k, **params)

    def _fit(self, data: InteractionData) -> None:
        X = self.fit_matrix
        items = head_items(X, int(self.params["head"]))
        self.W = pruned_ease(X, items, float(self.params["l2"]), int(self.params["k"]), by_magnitude=True)


class LikedHeadEASERanker(HeadEASERanker):
    """Head EASE fitted on, and scoring from, liked items only (see LikedEASERanker)."""

    name = "ease_liked_head"
    signal = "likes"

    def __init__(self, l2: float = 200.0, head: int = 2000, k: int = 200, **params) -> None:
        super().__init__(l2=l2, head=head, k=k, **params)


class ALSRanker(MFRanker):
    """implicit's ALS item factors Y; a history x is folded in as u = x Y (Y^T Y + l2 I)^-1.

    The fold-in is ALS's user update with unit confidence: linear in x, so a stored user and a
    conversation's profile score alike and MFRanker's exact contributions apply (no item bias).
    """

    name = "als"

    def __init__(self, factors: int = 64, iterations: int = 15, regularization: float = 0.05, alpha: float = 1.0,
                 seed: int = 0, progress: bool = False, **params) -> None:
        Ranker.__init__(self, factors=factors, iterations=iterations, regularization=regularization, alpha=alpha,
                        seed=seed, **params)
        self.progress = progress

    def _fit(self, data: InteractionData) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        try:  # implicit runs its own threads; a threaded BLAS under them oversubscribes the cores
            from threadpoolctl import threadpool_limits

            limiter = threadpool_limits(1, "blas")
        except ImportError:
            limiter = contextlib.nullcontext()
        with limiter:  # set before the model is built: implicit checks (and warns about) BLAS threads there
            model = AlternatingLeastSquares(factors=int(p["factors"]), regularization=float(p["regularization"]),
                                            alpha=float(p["alpha"]), iterations=int(p["iterations"]),
                                            random_state=int(p["seed"]))
            model.fit(sp.csr_matrix(self.fit_matrix, dtype=np.float32), show_progress=bool(self.progress))
        Y = np.asarray(model.item_factors, dtype=np.float64)
        gram = Y.T @ Y + float(p["regularization"]) * np.eye(Y.shape[1])
        self.P = Y.astype(np.float32)
        self.Q = np.linalg.solve(gram, Y.T).T.astype(np.float32)
        self.b = np.zeros(Y.shape[0], dtype=np.float32)
