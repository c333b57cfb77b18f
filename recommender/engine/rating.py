"""Explicit rating prediction: a least-squares blend of latent-factor and neighbourhood models.

Parts: ridge-ALS biased MF, item- and user-based kNN on baseline residuals (KNNBaseline-style), SVD++
(torch), item-based AutoRec (torch), and optionally Adam-trained biased MF. With more than one part, blend
weights are fitted on a held-out slice of the training ratings and the parts are then refitted on all
ratings. Predictions are clipped to the rating scale; unknown users or items fall back to baselines.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from .arrays import load_npz, save_npz
from .rankers.mf import torch_device


def _seeded_tensors(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, seed: int):
    """Seed torch and return (device, users, items, ratings) as tensors on the training device."""
    torch.manual_seed(seed)
    dev = torch_device()
    return (dev, torch.as_tensor(users, dtype=torch.long, device=dev),
            torch.as_tensor(items, dtype=torch.long, device=dev),
            torch.as_tensor(ratings, dtype=torch.float32, device=dev))


def _biased_parameters(n_users: int, n_items: int, factors: int, dev) -> tuple[torch.nn.Parameter, ...]:
    """Return (P, Q, b_u, b_i): small random factors and zero biases, as the biased factor models start."""
    return (torch.nn.Parameter(torch.randn(n_users, factors, device=dev) * 0.05),
            torch.nn.Parameter(torch.randn(n_items, factors, device=dev) * 0.05),
            torch.nn.Parameter(torch.zeros(n_users, device=dev)),
            torch.nn.Parameter(torch.zeros(n_items, device=dev)))


class BiasedFactors:
    """Prediction and storage shared by the biased factor models: mu + b_u + b_i + p_u . q_i."""

    prefix = ""  # names this model's arrays in the saved file

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
        p = self.prefix
        return {f"{p}_P": self.P, f"{p}_Q": self.Q, f"{p}_bu": self.bu, f"{p}_bi": self.bi, f"{p}_mu": np.array(self.mu)}

    def set_arrays(self, a: dict[str, np.ndarray]) -> None:
        p = self.prefix
        self.P, self.Q, self.bu, self.bi, self.mu = a[f"{p}_P"], a[f"{p}_Q"], a[f"{p}_bu"], a[f"{p}_bi"], float(a[f"{p}_mu"])


class BiasedMF(BiasedFactors):
    """r_ui = mu + b_u + b_i + p_u . q_i, trained full-batch with Adam on squared error + L2."""

    prefix = "mf"

    def __init__(self, factors: int = 64, epochs: int = 300, lr: float = 0.02, reg: float = 0.1,
                 seed: int = 0) -> None:
        self.cfg: dict[str, Any] = dict(factors=factors, epochs=epochs, lr=lr, reg=reg, seed=seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> BiasedMF:
        c = self.cfg
        dev, u, i, r = _seeded_tensors(users, items, ratings, c["seed"])
        self.mu = float(ratings.mean())
        P, Q, bu, bi = _biased_parameters(n_users, n_items, c["factors"], dev)
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



# Up to this many user x item cells SVD++ and AutoRec may train on dense matrices (200 MB of float32 each)...
DENSE_IMPLICIT_CELLS = 50_000_000
# ... when at least this share of the cells holds a rating. A dense epoch costs cells x factors, a sparse
# one ratings x factors plus gathers: ML-100K (6.3 % filled) trains faster dense; ml-latest-small (1.7 %)
# took 2.3 s per AutoRec epoch dense against 1.9 s sparse, and 0.94 s against 0.54 s per SVD++ epoch.
DENSE_MIN_FILL = 0.03


def trains_dense(n_users: int, n_items: int, n_ratings: int) -> bool:
    """Return whether the rating matrix is small and filled enough for dense matmuls over all cells."""
    cells = n_users * n_items
    return cells <= DENSE_IMPLICIT_CELLS and n_ratings >= DENSE_MIN_FILL * cells


class SVDPlusPlus(BiasedFactors):
    """SVD++ (Koren 2008): r_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j).

    N(u) is the set of items the user rated in training. Trained full-batch with Adam on squared error + L2.
    The implicit sum is folded into the stored user factors, so prediction is the biased-factor one.
    """

    prefix = "pp"

    def __init__(self, factors: int = 64, epochs: int = 150, lr: float = 0.03, reg: float = 0.25,
                 seed: int = 0) -> None:
        self.cfg: dict[str, Any] = dict(factors=factors, epochs=epochs, lr=lr, reg=reg, seed=seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> SVDPlusPlus:
        c = self.cfg
        dev, u, i, r = _seeded_tensors(users, items, ratings, c["seed"])
        counts = np.bincount(users, minlength=n_users)
        norm = torch.as_tensor(1.0 / np.sqrt(np.maximum(counts[users], 1)), dtype=torch.float32, device=dev)
        N = torch.sparse_coo_tensor(torch.stack([u, i]), norm, (n_users, n_items), check_invariants=False).coalesce()
        dense = trains_dense(n_users, n_items, len(ratings))
        mm = torch.mm if dense else torch.sparse.mm
        if dense:
            # Small, filled matrices: dense matmuls over all cells, masked to the observed ones, are far cheaper per
            # epoch than gathering and scattering one row per rating.
            N = N.to_dense()
            R = torch.zeros(n_users, n_items, device=dev).index_put_((u, i), r)
            M = torch.zeros(n_users, n_items, device=dev).index_put_((u, i), torch.ones_like(r))
        # Per-rating L2 (as with per-rating SGD) equals per-row L2 weighted by the row's rating count.
        wu = torch.as_tensor(counts, dtype=torch.float32, device=dev)
        wi = torch.as_tensor(np.bincount(items, minlength=n_items), dtype=torch.float32, device=dev)
        n = float(len(ratings))
        self.mu = float(ratings.mean())
        P, Q, bu, bi = _biased_parameters(n_users, n_items, c["factors"], dev)
        Y = torch.nn.Parameter(torch.zeros(n_items, c["factors"], device=dev))
        opt = torch.optim.Adam([P, Q, Y, bu, bi], lr=c["lr"])
        for _ in tqdm(range(c["epochs"]), desc="rating svd++", disable=not progress, leave=False):
            Pu = P + mm(N, Y)
            if dense:
                err = (self.mu + bu[:, None] + bi[None, :] + Pu @ Q.T - R) * M
            else:
                err = self.mu + bu[u] + bi[i] + (Pu[u] * Q[i]).sum(1) - r
            reg = (wu @ ((P ** 2).sum(1) + bu ** 2) + wi @ ((Q ** 2).sum(1) + (Y ** 2).sum(1) + bi ** 2)) / n
            loss = (err ** 2).sum() / n + c["reg"] * reg
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            # The implicit sum depends only on the training ratings, so it is folded into the user vector.
            self.P = (P + mm(N, Y)).cpu().numpy()
        self.Q = Q.detach().cpu().numpy()
        self.bu, self.bi = bu.detach().cpu().numpy(), bi.detach().cpu().numpy()
        return self


class BiasedALS(BiasedFactors):
    """r_ui = mu + b_u + b_i + p_u . q_i fitted by alternating ridge solves, reg scaled by each row's count."""

    prefix = "als"

    def __init__(self, factors: int = 32, iters: int = 12, reg: float = 0.08, seed: int = 0) -> None:
        self.cfg: dict[str, Any] = dict(factors=factors, iters=iters, reg=reg, seed=seed)

    @staticmethod
    def _solve(rows: np.ndarray, cols: np.ndarray, target: np.ndarray, n_rows: int, X: np.ndarray,
               reg: float) -> np.ndarray:
        """Return per-row ridge solutions of target ~ X[cols] . w, reg weighted by the row's count."""
        order = np.argsort(rows, kind="stable")
        rows, cols, target = rows[order], cols[order], target[order]
        starts = np.searchsorted(rows, np.arange(n_rows + 1))
        k = X.shape[1]
        W = np.zeros((n_rows, k))
        eye = np.eye(k)
        for r in range(n_rows):
            lo, hi = starts[r], starts[r + 1]
            if hi == lo:
                continue
            Xr = X[cols[lo:hi]]
            W[r] = np.linalg.solve(Xr.T @ Xr + reg * (hi - lo) * eye, Xr.T @ target[lo:hi])
        return W

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> BiasedALS:
        c = self.cfg
        rng = np.random.default_rng(c["seed"])
        self.mu = float(ratings.mean())
        r = ratings.astype(np.float64) - self.mu
        f = c["factors"]
        # Each side carries [factors, bias, 1]: the constant column on the other side picks up the bias.
        U = np.hstack([rng.normal(0, 0.1, (n_users, f)), np.zeros((n_users, 1)), np.ones((n_users, 1))])
        V = np.hstack([rng.normal(0, 0.1, (n_items, f)), np.ones((n_items, 1)), np.zeros((n_items, 1))])
        for _ in tqdm(range(c["iters"]), desc="rating als", disable=not progress, leave=False):
            sol = self._solve(users, items, r - V[items, f + 1], n_users, V[:, : f + 1], c["reg"])
            U[:, :f], U[:, f] = sol[:, :f], sol[:, f]
            sol = self._solve(items, users, r - U[users, f], n_items, np.hstack([U[:, :f], U[:, f + 1:]]), c["reg"])
            V[:, :f], V[:, f + 1] = sol[:, :f], sol[:, f]
        self.P, self.bu = U[:, :f].astype(np.float32), U[:, f]
        self.Q, self.bi = V[:, :f].astype(np.float32), V[:, f + 1]
        return self



def fit_baselines(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
                  reg_u: float = 15.0, reg_i: float = 10.0, iters: int = 10) -> tuple[float, np.ndarray, np.ndarray]:
    """Return (mu, b_u, b_i) fitted by alternating ridge steps on r - mu."""
    mu = float(ratings.mean())
    bu, bi = np.zeros(n_users), np.zeros(n_items)
    cnt_u = np.bincount(users, minlength=n_users)
    cnt_i = np.bincount(items, minlength=n_items)
    for _ in range(iters):
        bi = np.bincount(items, ratings - mu - bu[users], minlength=n_items) / (reg_i + cnt_i)
        bu = np.bincount(users, ratings - mu - bi[items], minlength=n_users) / (reg_u + cnt_u)
    return mu, bu, bi


class ItemKNNBaseline:
    """Item-based kNN on baseline residuals with shrunk Pearson-baseline similarities (Koren 2008, eq. 3).

    With user_based the roles swap: neighbours are similar users who rated the item. Internally the
    first index is always the one whose neighbours' ratings are read (the user for item-based).
    """

    def __init__(self, k: int = 40, shrinkage: float = 100.0, reg_u: float = 15.0, reg_i: float = 10.0,
                 user_based: bool = False) -> None:
        self.cfg: dict[str, Any] = dict(k=k, shrinkage=shrinkage, reg_u=reg_u, reg_i=reg_i, user_based=user_based)
        self.prefix = "uknn" if user_based else "knn"

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> ItemKNNBaseline:
        c = self.cfg
        reg_u, reg_i = c["reg_u"], c["reg_i"]
        if c["user_based"]:
            users, items, n_users, n_items, reg_u, reg_i = items, users, n_items, n_users, reg_i, reg_u
        self.mu, self.bu, self.bi = fit_baselines(users, items, ratings, n_users, n_items, reg_u, reg_i)
        resid = (ratings - self.mu - self.bu[users] - self.bi[items]).astype(np.float32)
        Z = sp.csr_matrix((resid, (users, items)), shape=(n_users, n_items))
        M = sp.csr_matrix((np.ones(len(users), np.float32), (users, items)), shape=(n_users, n_items))
        Z2 = Z.multiply(Z).tocsr()
        dot = (Z.T @ Z).toarray()
        # Squared residual norms restricted to the users both items share.
        norm = (Z2.T @ M).toarray()
        common = (M.T @ M).toarray()
        denom = np.sqrt(norm * norm.T)
        sim = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
        sim *= np.maximum(common - 1, 0) / (np.maximum(common - 1, 0) + c["shrinkage"])
        np.fill_diagonal(sim, 0.0)
        self.sim = sim.astype(np.float32)
        self.Z = Z
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return baseline plus the similarity-weighted residuals of the k most similar neighbours."""
        users, items = np.asarray(users), np.asarray(items)
        if self.cfg["user_based"]:
            users, items = items, users
        ku = (users >= 0) & (users < len(self.bu))
        ki = (items >= 0) & (items < len(self.bi))
        out = np.full(len(users), self.mu, dtype=np.float64)
        out[ku] += self.bu[users[ku]]
        out[ki] += self.bi[items[ki]]
        both = np.flatnonzero(ku & ki)
        order = both[np.argsort(users[both], kind="stable")]
        bounds = np.flatnonzero(np.diff(users[order])) + 1
        k = self.cfg["k"]
        for group in np.split(order, bounds):
            if len(group) == 0:
                continue
            u = users[group[0]]
            lo, hi = self.Z.indptr[u], self.Z.indptr[u + 1]
            rated, resid = self.Z.indices[lo:hi], self.Z.data[lo:hi]
            if len(rated) == 0:
                continue
            S = self.sim[np.ix_(items[group], rated)]
            if len(rated) > k:
                top = np.argpartition(-S, k - 1, axis=1)[:, :k]
                S = np.take_along_axis(S, top, axis=1)
                R = resid[top]
            else:
                R = np.broadcast_to(resid, S.shape)
            S = np.maximum(S, 0.0)
            wsum = S.sum(1)
            ok = wsum > 0
            out[group[ok]] += (S[ok] * R[ok]).sum(1) / wsum[ok]
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        a = {"sim": self.sim, "bu": self.bu, "bi": self.bi, "mu": np.array(self.mu), "indptr": self.Z.indptr,
             "indices": self.Z.indices, "resid": self.Z.data}
        return {f"{self.prefix}_{k}": v for k, v in a.items()}

    def set_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        a = {k[len(self.prefix) + 1:]: v for k, v in arrays.items() if k.startswith(self.prefix + "_")}
        self.sim, self.bu, self.bi, self.mu = a["sim"], a["bu"], a["bi"], float(a["mu"])
        self.Z = sp.csr_matrix((a["resid"], a["indices"], a["indptr"]), shape=(len(self.bu), len(self.bi)))


class ItemAutoRec:
    """I-AutoRec (Sedhain et al. 2015): reconstruct each item's rating vector over users.

    The encoder reads the sparse rating matrix and the loss touches only observed ratings, so an epoch
    costs O(ratings x hidden) rather than O(items x users x hidden).
    """

    def __init__(self, hidden: int = 200, epochs: int = 150, lr: float = 0.01, reg: float = 30.0,
                 seed: int = 0) -> None:
        self.cfg: dict[str, Any] = dict(hidden=hidden, epochs=epochs, lr=lr, reg=reg, seed=seed)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> ItemAutoRec:
        c = self.cfg
        dev, us, it, r = _seeded_tensors(users, items, ratings, c["seed"])
        R = torch.sparse_coo_tensor(torch.stack([it, us]), r, (n_items, n_users), check_invariants=False).coalesce()
        h = c["hidden"]
        W_enc = torch.nn.Parameter(torch.randn(n_users, h, device=dev) * 0.03)
        b_enc = torch.nn.Parameter(torch.zeros(h, device=dev))
        W_dec = torch.nn.Parameter(torch.randn(n_users, h, device=dev) * 0.03)
        b_dec = torch.nn.Parameter(torch.zeros(n_users, device=dev))
        opt = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=c["lr"])
        n_obs = float(len(ratings))
        dense = trains_dense(n_users, n_items, len(ratings))
        # Sparse input but every cell decoded: one matmul, then the observed cells picked out. Backward through
        # the matmul is 2-3x cheaper than through per-rating row gathers (ml-latest-small: 0.17 against
        # 0.41-0.60 CPU s per epoch), at cells x 4 bytes of memory, so only up to DENSE_IMPLICIT_CELLS.
        decode_all = not dense and n_items * n_users <= DENSE_IMPLICIT_CELLS
        observed = it * n_users + us
        if dense:
            # Small, filled matrices: dense matmuls masked to the observed cells beat sparse.mm plus gathers.
            R = R.to_dense()
            mask = torch.zeros(n_items, n_users, device=dev).index_put_((it, us), torch.ones_like(r))
        for _ in tqdm(range(c["epochs"]), desc="rating autorec", disable=not progress, leave=False):
            if dense:
                H = torch.sigmoid(R @ W_enc + b_enc)
                sq = (((H @ W_dec.T + b_dec) - R) * mask) ** 2
            elif decode_all:
                H = torch.sigmoid(torch.sparse.mm(R, W_enc) + b_enc)
                sq = ((H @ W_dec.T + b_dec).reshape(-1)[observed] - r) ** 2
            else:
                H = torch.sigmoid(torch.sparse.mm(R, W_enc) + b_enc)
                sq = ((H[it] * W_dec[us]).sum(1) + b_dec[us] - r) ** 2
            loss = sq.sum() / n_obs + c["reg"] / 2 * ((W_enc ** 2).sum() + (W_dec ** 2).sum()) / n_obs
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            H = torch.sigmoid((R @ W_enc if dense else torch.sparse.mm(R, W_enc)) + b_enc)
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
    """One rating model, or a least-squares blend of several (weights fitted on a held-out slice).

    Default blend: ridge-ALS biased MF, item- and user-based kNN on baseline residuals, SVD++, I-AutoRec. Each part is
    fitted on the training ratings minus the slice, the blend weights on the slice, then each part is
    refitted on all ratings and keeps those weights. Without `refit` the parts fitted without the slice are
    kept: half the time, for the few ratings of the slice left unseen.
    """

    def __init__(self, low: float = 1.0, high: float = 5.0, holdout: float = 0.1, seed: int = 0,
                 models: tuple[str, ...] | list[str] = ("als", "knn", "uknn", "svdpp", "autorec"), mf: dict[str, Any] | None = None,
                 autorec: dict[str, Any] | None = None, als: dict[str, Any] | None = None,
                 knn: dict[str, Any] | None = None, uknn: dict[str, Any] | None = None,
                 svdpp: dict[str, Any] | None = None, refit: bool = True) -> None:
        self.cfg: dict[str, Any] = dict(low=low, high=high, holdout=holdout, seed=seed, refit=refit,
                                        models=list(models), mf=mf or {}, autorec=autorec or {},
                                        als=als or {"factors": 32, "reg": 0.12}, knn=knn or {}, uknn=uknn or {},
                                        svdpp=svdpp or {})
        self.blend = np.array([0.0] + [1.0 / len(models)] * len(models))
        self.holdout_metrics: dict[str, Any] = {}

    def _models(self) -> list:
        c = self.cfg
        make = {"mf": lambda: BiasedMF(**c["mf"]), "autorec": lambda: ItemAutoRec(**c["autorec"]),
                "als": lambda: BiasedALS(**c.get("als", {})), "knn": lambda: ItemKNNBaseline(**c.get("knn", {})),
                "uknn": lambda: ItemKNNBaseline(user_based=True, **c.get("uknn", {})),
                "svdpp": lambda: SVDPlusPlus(**c.get("svdpp", {}))}
        return [make[name]() for name in c["models"]]

    def _features(self, models, users, items) -> np.ndarray:
        cols = [np.ones(len(users))] + [m.predict(users, items) for m in models]
        return np.stack(cols, axis=1)

    def fit(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, n_items: int,
            progress: bool = False) -> RatingModel:
        """Fit (blend weights on a held-out slice first when several models are listed); returns self."""
        users, items, ratings = np.asarray(users), np.asarray(items), np.asarray(ratings, dtype=np.float32)
        rng = np.random.default_rng(self.cfg["seed"])
        held = rng.random(len(ratings)) < self.cfg["holdout"]
        blended = len(self.cfg["models"]) > 1
        if blended:
            models = [m.fit(users[~held], items[~held], ratings[~held], n_users, n_items, progress)
                      for m in self._models()]
            F = self._features(models, users[held], items[held])
            self.blend = np.linalg.lstsq(F, ratings[held], rcond=None)[0]
            self.models = models
            self.holdout_metrics = self._scores(users[held], items[held], ratings[held])
            self.holdout_metrics["per_model"] = {name: float(np.sqrt(np.mean((F[:, j + 1] - ratings[held]) ** 2)))
                                                 for j, name in enumerate(self.cfg["models"])}
        else:
            self.blend = np.array([0.0, 1.0])
        if not blended or self.cfg.get("refit", True):
            self.models = [m.fit(users, items, ratings, n_users, n_items, progress) for m in self._models()]
        if not blended:
            # The slice is part of training here, so this is a training-fit figure, not validation.
            self.holdout_metrics = self._scores(users[held], items[held], ratings[held])
        self.holdout_metrics["in_training"] = not blended
        return self

    def _scores(self, users: np.ndarray, items: np.ndarray, ratings: np.ndarray) -> dict[str, Any]:
        """Return RMSE, MAE and count of the current predictions against ratings."""
        pred = self.predict(users, items)
        return {"rmse": float(np.sqrt(np.mean((pred - ratings) ** 2))), "mae": float(np.mean(np.abs(pred - ratings))),
                "n": int(len(ratings))}

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
        save_npz(path / "rating.npz", **arrays)

    @classmethod
    def load(cls, path: Path) -> RatingModel:
        """Return a model written by save()."""
        meta = json.loads((path / "rating.json").read_text())
        model = cls(**meta["cfg"])
        model.blend = np.array(meta["blend"])
        arrays = load_npz(path / "rating.npz")
        model.models = model._models()
        for m in model.models:
            m.set_arrays(arrays)
        return model
