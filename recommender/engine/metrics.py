"""Ranking and rating metrics, plus an evaluator over a Split."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .rules import LIKE_THRESHOLD


def precision_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """Return |top-k ∩ relevant| / k."""
    rel = set(relevant)
    return sum(1 for x in list(ranked)[:k] if x in rel) / k


def recall_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """Return |top-k ∩ relevant| / |relevant| (0 when nothing is relevant)."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return sum(1 for x in list(ranked)[:k] if x in rel) / len(rel)


def ndcg_at_k(ranked: Sequence, relevant: Iterable, k: int) -> float:
    """Return binary NDCG@k: DCG of the top-k over the DCG of an ideal ranking."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / np.log2(i + 2) for i, x in enumerate(list(ranked)[:k]) if x in rel)
    idcg = sum(1.0 / np.log2(i + 2) for i in range(min(k, len(rel))))
    return float(dcg / idcg)


def rmse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Return the root mean squared error."""
    t, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Return the mean absolute error."""
    t, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return float(np.mean(np.abs(t - p)))


def like_accuracy_f1(y_true: Sequence[float], y_pred: Sequence[float], threshold: float = LIKE_THRESHOLD
                     ) -> tuple[float, float]:
    """Return (accuracy, F1) of predicting a like (rating >= threshold) from predicted ratings."""
    t = np.asarray(y_true, float) >= threshold
    p = np.asarray(y_pred, float) >= threshold
    acc = float(np.mean(t == p))
    tp = float(np.sum(t & p))
    fp = float(np.sum(~t & p))
    fn = float(np.sum(t & ~p))
    f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return acc, f1


def topk_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Return indices of the k largest scores in descending order (rows handled independently)."""
    k = min(k, scores.shape[-1])
    if scores.ndim == 2 and scores.size > 100_000:
        import torch  # much faster than argpartition on large batches

        t = torch.from_numpy(np.ascontiguousarray(scores))
        return torch.topk(t, k, dim=1, largest=True, sorted=True).indices.numpy()
    part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    vals = np.take_along_axis(scores, part, axis=-1)
    order = np.argsort(-vals, axis=-1, kind="stable")
    return np.take_along_axis(part, order, axis=-1)


def relevance_matrix(users: np.ndarray, test_items: dict[int, np.ndarray], n_items: int) -> np.ndarray:
    """Return a boolean users x items matrix marking each user's held-out items."""
    rel = np.zeros((len(users), n_items), dtype=bool)
    for row, u in enumerate(users):
        rel[row, test_items[int(u)]] = True
    return rel


def batch_topk_metrics(top: np.ndarray, rel: np.ndarray, ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Return per-user P@k, R@k, NDCG@k arrays for ranked indices `top` against a relevance matrix."""
    hits = np.take_along_axis(rel, top, axis=1).astype(np.float64)
    n_rel = rel.sum(axis=1).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    out = {}
    for k in ks:
        h = hits[:, :k]
        ideal = np.array([disc[: int(min(k, r))].sum() for r in n_rel])
        out[f"P@{k}"] = h.sum(axis=1) / k
        out[f"R@{k}"] = np.where(n_rel > 0, h.sum(axis=1) / np.maximum(n_rel, 1), 0.0)
        out[f"NDCG@{k}"] = np.where(ideal > 0, (h * disc[:k]).sum(axis=1) / np.maximum(ideal, 1e-12), 0.0)
    return out


def evaluate_topk(
    score_users: Callable[[np.ndarray], np.ndarray],
    train_matrix,
    test_items: dict[int, np.ndarray],
    ks: Sequence[int] = (5, 10),
    batch: int = 512,
) -> dict[str, float]:
    """Return mean P@k, R@k, NDCG@k over test users; items seen in train are never ranked."""
    users = np.array(sorted(test_items), dtype=np.int64)
    kmax = max(ks)
    # Every metric is present even with no test users (a catalog too small to hold any out): 0, not missing.
    sums: dict[str, float] = {f"{name}@{k}": 0.0 for k in ks for name in ("P", "R", "NDCG")}
    for start in range(0, len(users), batch):
        chunk = users[start:start + batch]
        scores = np.array(score_users(chunk), dtype=np.float64, copy=True)
        scores[train_matrix[chunk].nonzero()] = -np.inf
        top = topk_indices(scores, kmax)
        rel = relevance_matrix(chunk, test_items, scores.shape[1])
        for key, values in batch_topk_metrics(top, rel, ks).items():
            sums[key] = sums.get(key, 0.0) + float(values.sum())
    return {key: value / max(len(users), 1) for key, value in sums.items()}
