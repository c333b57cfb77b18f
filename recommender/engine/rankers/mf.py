"""Low-rank factorisation trained in torch; user vectors are folded in from the user's items.

score(u, i) = b_i + p_i . (sum_j x_uj q_j) / ||x_u||, trained with a multinomial likelihood over
all items and input dropout (a linear Mult-DAE). Because the user vector is a weighted sum of item
factors, any history (stored or from a conversation) is scored the same way, and an item's score
splits exactly into per-history-item parts plus the item bias (reported as popularity).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from ..data import InteractionData
from .base import ItemParts, Ranker, ScoredVector, history_indices, load_arrays, save_arrays

# The torch device asked for ("" = CUDA when available, else CPU); set by the caller with use_device, so the
# same process can train on both devices for comparison.
_DEVICE: ContextVar[str] = ContextVar("torch_device", default="")


@contextmanager
def use_device(name: str | None) -> Iterator[torch.device]:
    """Train on the named torch device (e.g. "cpu", "cuda:1"; None or "" = automatic) inside the block."""
    token = _DEVICE.set((name or "").strip())
    try:
        yield torch_device()
    finally:
        _DEVICE.reset(token)


def torch_device(requested: str | None = None) -> torch.device:
    """Return the requested device (default: the one set by use_device), else CUDA when available, else CPU.

    A name torch does not know, or CUDA asked for where there is none, raises rather than quietly
    training elsewhere.
    """
    requested = (_DEVICE.get() if requested is None else requested).strip()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as exc:
        raise RuntimeError(f"device {requested!r} is not a torch device: {exc}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {requested!r} asked for, but CUDA is not available")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise RuntimeError(f"device {requested!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) exist")
    return device


def _row_norms(X: sp.csr_matrix) -> np.ndarray:
    sq = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.sqrt(np.maximum(sq, 1e-12)).astype(np.float32)


class MFRanker(Ranker):
    """Torch matrix factorisation with folded-in user vectors (CUDA when present)."""

    name = "mf"

    def __init__(self, factors: int = 128, epochs: int = 60, lr: float = 3e-3, dropout: float = 0.5,
                 weight_decay: float = 1e-5, batch_size: int = 128, seed: int = 0, ensemble: int = 1,
                 progress: bool = False, **params) -> None:
        super().__init__(factors=factors, epochs=epochs, lr=lr, dropout=dropout, weight_decay=weight_decay,
                         batch_size=batch_size, seed=seed, ensemble=ensemble, **params)
        self.progress = progress

    def _fit(self, data: InteractionData) -> None:
        # An ensemble of independently seeded factorisations, averaged, is still one linear model:
        # its factors are the members' side by side (P scaled by 1/n), so scoring and exact
        # contributions stay unchanged while the seed-to-seed noise of a single run averages out.
        members = max(1, int(self.params.get("ensemble", 1)))
        fitted = [self._fit_member(int(self.params["seed"]) + m) for m in range(members)]
        self.Q = np.concatenate([Q for Q, _, _ in fitted], axis=1)
        self.P = np.concatenate([P for _, P, _ in fitted], axis=1) / members
        self.b = np.mean([b for _, _, b in fitted], axis=0)

    def _fit_member(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.params
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        device = torch_device()
        X = self.fit_matrix
        n_users, n_items = X.shape
        dense = torch.tensor(X.toarray(), dtype=torch.float32, device=device)
        k = int(p["factors"])
        Q = torch.nn.Parameter(torch.randn(n_items, k, device=device) * 0.01)
        P = torch.nn.Parameter(torch.randn(n_items, k, device=device) * 0.01)
        b = torch.nn.Parameter(torch.zeros(n_items, device=device))
        opt = torch.optim.Adam([Q, P, b], lr=float(p["lr"]), weight_decay=float(p["weight_decay"]))
        drop = torch.nn.Dropout(float(p["dropout"]))
        bs = int(p["batch_size"])
        for _ in tqdm(range(int(p["epochs"])), desc="mf", disable=not self.progress, leave=False):
            order = rng.permutation(n_users)
            for start in range(0, n_users, bs):
                rows = torch.as_tensor(order[start:start + bs], device=device)
                target = dense[rows]
                inp = drop(target)
                inp = inp / inp.norm(dim=1, keepdim=True).clamp_min(1e-6)
                logits = (inp @ Q) @ P.T + b
                loss = -(torch.log_softmax(logits, dim=1) * target).sum(dim=1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        return Q.detach().cpu().numpy(), P.detach().cpu().numpy(), b.detach().cpu().numpy()

    def _score_rows(self, X: sp.csr_matrix, queries: list[str] | None = None) -> np.ndarray:
        n = self.Q.shape[0]
        X = X if X.shape[1] == n else X[:, :n]
        norms = _row_norms(X)
        U = np.asarray(X @ self.Q) / norms[:, None]
        return U @ self.P.T + self.b[None, :]

    def item_parts(self, x: np.ndarray, items: np.ndarray, query_text: str = "",
                   scored: ScoredVector | None = None) -> ItemParts:
        nz = history_indices(x)
        x = self.read_vector(x)  # the model's signal for the math; evidence labels come from the grades
        n = self.Q.shape[0]
        items = np.asarray(items, dtype=np.int64)
        parts = ItemParts.zeros(len(nz), len(items))
        keep, cols = nz < n, items < n
        if keep.any() and cols.any():
            rows = nz[keep]
            xs = x[:n]
            norm = float(np.sqrt(max(float(xs @ xs), 1e-12)))
            sub = np.zeros((len(rows), len(items)), dtype=np.float32)
            sub[:, cols] = self.Q[rows] @ self.P[items[cols]].T
            parts.history[keep] = x[rows][:, None] * sub / norm
        parts.bias[cols] = self.b[items[cols]]
        return parts

    def _save_state(self, path: Path) -> None:
        save_arrays(path, Q=self.Q, P=self.P, b=self.b)

    def _load_state(self, path: Path) -> None:
        s = load_arrays(path)
        self.Q, self.P, self.b = s["Q"], s["P"], s["b"]
