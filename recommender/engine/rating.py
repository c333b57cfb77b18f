"""Explicit rating prediction: biased MF (torch), optionally blended with item-based AutoRec.

With more than one model, blend weights are fitted on a held-out slice of the training ratings and the
models are then refitted on all ratings. Predictions are clipped to the rating scale.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .rankers.mf import torch_device


class BiasedMF:
    """r_ui = mu + b_u + b_i + p_u . q_i, trained full-batch with Adam on squared error + L2."""

    def __init__(self, factors: int = 64, epochs: int = 300, lr: float = 0.02, reg: float = 0.1,
                 seed: int = 0) -> None:
        self.cfg = dict(factors=factors, epochs=epochs, lr=lr, reg=reg, seed=seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> "BiasedMF":
        c = self.cfg
        torch.manual_seed(c["seed"])
        dev = torch_device()
        u = torch.as_tensor(users, dtype=torch.long, device=dev)
        i = torch.as_tensor(items, dtype=torch.long, device=dev)
        r = torch.as_tensor(ratings, dtype=torch.float32, device=dev)
        self.mu = float(ratings.mean())
        P = torch.nn.Parameter(torch.randn(n_users, c["factors"], device=dev) * 0.05)
        Q = torch.nn.Parameter(torch.randn(n_items, c["factors"], device=dev) * 0.05)
        bu = torch.nn.Parameter(torch.zeros(n_users, device=dev))
        bi = torch.nn.Parameter(torch.zeros(n_items, device=dev))
        opt = torch.optim.Adam([P, Q, bu, bi], lr=c["lr"])
        for _ in tqdm(range(c["epochs"]), desc="rating mf", disable=not progress, leave=False):
            pred = self.mu + bu[u] + bi[i] + (P[u] * Q[i]).sum(1)
            loss = ((pred - r) ** 2).mean() + c["reg"] * (
                (P[u] ** 2).sum(1).mean() + (Q[i] ** 2).sum(1).mean() + (bu[u] ** 2).mean() + (bi[i] ** 2).mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
        self.P, self.Q = P.detach().cpu().numpy(), Q.detach().cpu().numpy()
        self.bu, self.bi = bu.detach().cpu().numpy(), bi.detach().cpu().numpy()
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return predicted ratings (users/items may be -1 for unknown: only the known terms apply)."""
        users, items = np.asarray(users), np.asarray(items)
        ku = (users >= 0) & (users < len(self.bu))
        ki = (items >= 0) & (items < len(self.bi))
        out = np.full(len(users), self.mu, dtype=np.float64)
        out[ku] += self.bu[users[ku]]
        out[ki] += self.bi[items[ki]]
        both = ku & ki
        out[both] += np.sum(self.P[users[both]] * self.Q[items[both]], axis=1)
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mf_P": self.P, "mf_Q": self.Q, "mf_bu": self.bu, "mf_bi": self.bi, "mf_mu": np.array(self.mu)}

    def set_arrays(self, a: dict[str, np.ndarray]) -> None:
        self.P, self.Q, self.bu, self.bi, self.mu = a["mf_P"], a["mf_Q"], a["mf_bu"], a["mf_bi"], float(a["mf_mu"])


class ItemAutoRec:
    """I-AutoRec (Sedhain et al. 2015): reconstruct each item's rating vector over users.

    The encoder reads the sparse rating matrix and the loss touches only observed ratings, so an epoch
    costs O(ratings x hidden) rather than O(items x users x hidden).
    """

    def __init__(self, hidden: int = 500, epochs: int = 300, lr: float = 0.01, reg: float = 30.0,
                 seed: int = 0) -> None:
        self.cfg = dict(hidden=hidden, epochs=epochs, lr=lr, reg=reg, seed=seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> "ItemAutoRec":
        c = self.cfg
        torch.manual_seed(c["seed"])
        dev = torch_device()
        it = torch.as_tensor(items, dtype=torch.long, device=dev)
        us = torch.as_tensor(users, dtype=torch.long, device=dev)
        r = torch.as_tensor(ratings, dtype=torch.float32, device=dev)
        R = torch.sparse_coo_tensor(torch.stack([it, us]), r, (n_items, n_users), check_invariants=False).coalesce()
        h = c["hidden"]
        W_enc = torch.nn.Parameter(torch.randn(n_users, h, device=dev) * 0.03)
        b_enc = torch.nn.Parameter(torch.zeros(h, device=dev))
        W_dec = torch.nn.Parameter(torch.randn(n_users, h, device=dev) * 0.03)
        b_dec = torch.nn.Parameter(torch.zeros(n_users, device=dev))
        opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=c["lr"])
        n_obs = float(len(ratings))
        for _ in tqdm(range(c["epochs"]), desc="rating autorec", disable=not progress, leave=False):
            H = torch.sigmoid(torch.sparse.mm(R, W_enc) + b_enc)
            pred = (H[it] * W_dec[us]).sum(1) + b_dec[us]
            loss = ((pred - r) ** 2).sum() / n_obs + c["reg"] / 2 * ((W_enc ** 2).sum() + (W_dec ** 2).sum()) / n_obs
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            H = torch.sigmoid(torch.sparse.mm(R, W_enc) + b_enc)
            self.H = H.cpu().numpy().astype(np.float32)
        self.W_dec = W_dec.detach().cpu().numpy()
        self.b_dec = b_dec.detach().cpu().numpy()
        self.mu = float(ratings.mean())
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return reconstructed ratings; the global mean where the user or item is unknown."""
        users, items = np.asarray(users), np.asarray(items)
        out = np.full(len(users), self.mu, dtype=np.float64)
        ok = (users >= 0) & (items >= 0) & (items < self.H.shape[0]) & (users < self.W_dec.shape[0])
        out[ok] = np.sum(self.H[items[ok]] * self.W_dec[users[ok]], axis=1) + self.b_dec[users[ok]]
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"ar_H": self.H, "ar_W": self.W_dec, "ar_b": self.b_dec, "ar_mu": np.array(self.mu)}

    def set_arrays(self, a: dict[str, np.ndarray]) -> None:
        self.H, self.W_dec, self.b_dec, self.mu = a["ar_H"], a["ar_W"], a["ar_b"], float(a["ar_mu"])


class RatingModel:
    """Biased MF alone, or a least-squares blend of the listed models (fitted on a held-out slice)."""

    def __init__(self, low: float = 1.0, high: float = 5.0, holdout: float = 0.1, seed: int = 0,
                 models: tuple[str, ...] | list[str] = ("mf",), mf: dict[str, Any] | None = None,
                 autorec: dict[str, Any] | None = None) -> None:
        self.cfg = dict(low=low, high=high, holdout=holdout, seed=seed, models=list(models), mf=mf or {},
                        autorec=autorec or {})
        self.blend = np.array([0.0] + [1.0 / len(models)] * len(models))
        self.holdout_metrics: dict[str, float] = {}

    def _models(self) -> list:
        make = {"mf": lambda: BiasedMF(**self.cfg["mf"]), "autorec": lambda: ItemAutoRec(**self.cfg["autorec"])}
        return [make[name]() for name in self.cfg["models"]]

    def _features(self, models, users, items) -> np.ndarray:
        cols = [np.ones(len(users))] + [m.predict(users, items) for m in models]
        return np.stack(cols, axis=1)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> "RatingModel":
        """Fit (blend weights on a held-out slice first when several models are listed); returns self."""
        users, items, ratings = np.asarray(users), np.asarray(items), np.asarray(ratings, dtype=np.float32)
        rng = np.random.default_rng(self.cfg["seed"])
        held = rng.random(len(ratings)) < self.cfg["holdout"]
        if len(self.cfg["models"]) > 1:
            models = [m.fit(users[~held], items[~held], ratings[~held], n_users, n_items, progress)
                      for m in self._models()]
            F = self._features(models, users[held], items[held])
            self.blend = np.linalg.lstsq(F, ratings[held], rcond=None)[0]
        self.models = [m.fit(users, items, ratings, n_users, n_items, progress) for m in self._models()]
        pred = self.predict(users[held], items[held])
        # With one model the slice is part of training, so this is a training-fit figure, not validation.
        self.holdout_metrics = {"rmse": float(np.sqrt(np.mean((pred - ratings[held]) ** 2))),
                                "mae": float(np.mean(np.abs(pred - ratings[held]))), "n": int(held.sum()),
                                "in_training": len(self.cfg["models"]) == 1}
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return blended, clipped predictions for index arrays (-1 marks unknown)."""
        pred = self._features(self.models, np.asarray(users), np.asarray(items)) @ self.blend
        return np.clip(pred, self.cfg["low"], self.cfg["high"])

    def save(self, path: Path) -> None:
        """Write rating.json and rating.npz under path."""
        path.mkdir(parents=True, exist_ok=True)
        (path / "rating.json").write_text(json.dumps({"cfg": self.cfg, "blend": self.blend.tolist()}))
        arrays = {}
        for m in self.models:
            arrays.update(m.arrays())
        np.savez(path / "rating.npz", **arrays)

    @classmethod
    def load(cls, path: Path) -> "RatingModel":
        """Return a model written by save()."""
        meta = json.loads((path / "rating.json").read_text())
        model = cls(**meta["cfg"])
        model.blend = np.array(meta["blend"])
        with np.load(path / "rating.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        model.models = model._models()
        for m in model.models:
            m.set_arrays(arrays)
        return model
