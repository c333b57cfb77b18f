"""The social component: what the people a user trusts (or befriends, or follows) liked, and TrustSVD ratings.

- `SocialRanker` (top-N): s(u, i) = sum over v in T(u) of w_uv * x_v(i), with w_uv = tie weight x
  (social.SIMILARITY_FLOOR + shrunk cosine of u's and v's training items): the formula a chat turn's "what do my
  friends like?" serves (engine/social.py), over a whole user base. Users without ties score 0 everywhere, so in
  a per-user standardised hybrid (rankers/hybrid.py) the term vanishes for them. Each score splits exactly into
  one part per trusted user (`parts`), the evidence `friend_liked` quotes.
- `TrustSVD` (ratings; Guo, Zhang, Yorke-Smith, AAAI 2015): r_uj = mu + b_u + b_j + q_j . (p_u + |I_u|^-1/2
  sum_{i in I_u} y_i + |T_u|^-1/2 sum_{v in T_u} w_v), with the trust term lambda_t sum_(u,v) (p_u . w_v - t_uv)^2,
  trained full-batch with Adam like rating.SVDPlusPlus. A user with ties and no ratings still gets a taste vector.
- `SocialRatingModel`: rating.RatingModel's least-squares blend with TrustSVD as one more member.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from tqdm.auto import tqdm

from .. import social
from ..rating import BiasedFactors, RatingModel, _biased_parameters, _seeded_tensors

ACTIVITY_SHRINK = 5.0  # ratings after which a person counts as well known (the blend's activity terms halve)


def trust_matrix(
    trustors: np.ndarray, trustees: np.ndarray, n_users: int, weights: np.ndarray | None = None
) -> sp.csr_matrix:
    """Return the users x users tie matrix (row: who trusts, column: whom), duplicates and self-ties dropped."""
    trustors, trustees = np.asarray(trustors), np.asarray(trustees)
    keep = trustors != trustees
    values = np.ones(keep.sum(), dtype=np.float32) if weights is None else np.asarray(weights, np.float32)[keep]
    T = sp.csr_matrix((values, (trustors[keep], trustees[keep])), shape=(n_users, n_users), dtype=np.float32)
    T.sum_duplicates()
    T.data = np.minimum(T.data, 1.0)
    return T


class SocialRanker:
    """Items liked by the people each user is tied to, each tie weighted by how much their tastes agree."""

    name = "social"

    def fit(self, train: sp.csr_matrix, trust: sp.csr_matrix) -> SocialRanker:
        """Fit on a users x items interaction matrix and a users x users tie matrix; returns self."""
        X = sp.csr_matrix(train, dtype=np.float32)
        X.data[:] = 1.0
        self.X = X
        self.weights = self.tie_weights(X, sp.csr_matrix(trust, dtype=np.float32))
        return self

    @staticmethod
    def tie_weights(X: sp.csr_matrix, T: sp.csr_matrix) -> sp.csr_matrix:
        """Return each tie's weight: tie x (SIMILARITY_FLOOR + shrunk cosine of the two users' items)."""
        ties = T.tocoo()
        rows, cols = ties.row.astype(np.int64), ties.col.astype(np.int64)
        overlap = np.asarray(X[rows].multiply(X[cols]).sum(axis=1)).ravel()
        sizes = np.asarray(X.sum(axis=1)).ravel()
        denom = np.sqrt(sizes[rows] * sizes[cols])
        cosine = np.divide(overlap, denom, out=np.zeros_like(overlap), where=denom > 0)
        similarity = cosine * overlap / (overlap + social.SIMILARITY_SHRINK)
        values = ties.data * (social.SIMILARITY_FLOOR + similarity)
        return sp.csr_matrix((values.astype(np.float32), (rows, cols)), shape=T.shape)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """Return dense scores over all items for these user indices."""
        return np.asarray((self.weights[np.asarray(users)] @ self.X).todense(), dtype=np.float32)

    def parts(self, user: int, item: int) -> dict[int, float]:
        """Return {trusted user index: the part of the score they add} for one user and item (sums to the score)."""
        row = self.weights[user]
        return {int(v): float(w) for v, w in zip(row.indices, row.data) if self.X[v, item]}


class TrustSVD(BiasedFactors):
    """TrustSVD ratings (see the module docstring); `trust` is the users x users tie matrix of the training users."""

    prefix = "ts"

    def __init__(
        self,
        trust: sp.csr_matrix,
        factors: int = 10,
        epochs: int = 200,
        lr: float = 0.02,
        reg: float = 0.6,
        reg_trust: float = 0.5,
        implicit: bool = True,
        seed: int = 0,
    ) -> None:
        self.trust = sp.csr_matrix(trust, dtype=np.float32)
        self.cfg: dict[str, Any] = dict(
            factors=factors, epochs=epochs, lr=lr, reg=reg, reg_trust=reg_trust, implicit=implicit, seed=seed
        )

    def _normalised(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], dev) -> torch.Tensor:
        counts = np.bincount(rows, minlength=shape[0])
        norm = 1.0 / np.sqrt(np.maximum(counts[rows], 1))
        index = torch.as_tensor(np.stack([rows, cols]), dtype=torch.long, device=dev)
        return torch.sparse_coo_tensor(
            index, torch.as_tensor(norm, dtype=torch.float32, device=dev), shape, check_invariants=False
        ).coalesce()

    def fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        ratings: np.ndarray,
        n_users: int,
        n_items: int,
        progress: bool = False,
    ) -> TrustSVD:
        c = self.cfg
        dev, u, i, r = _seeded_tensors(users, items, ratings, c["seed"])
        N = self._normalised(np.asarray(users), np.asarray(items), (n_users, n_items), dev)
        ties = self.trust.tocoo()
        tr, te = ties.row.astype(np.int64), ties.col.astype(np.int64)
        T = self._normalised(tr, te, (n_users, n_users), dev)
        t_rows = torch.as_tensor(tr, dtype=torch.long, device=dev)
        t_cols = torch.as_tensor(te, dtype=torch.long, device=dev)
        t_vals = torch.as_tensor(ties.data, dtype=torch.float32, device=dev)
        # Per-rating (and per-tie) L2, as with per-rating SGD: each row's penalty weighted by how often it is used.
        wu = torch.as_tensor(
            np.bincount(users, minlength=n_users) + np.bincount(tr, minlength=n_users), dtype=torch.float32, device=dev
        )
        wi = torch.as_tensor(np.bincount(items, minlength=n_items), dtype=torch.float32, device=dev)
        ww = torch.as_tensor(np.bincount(te, minlength=n_users), dtype=torch.float32, device=dev)
        n = float(len(ratings))
        self.mu = float(np.mean(ratings))
        P, Q, bu, bi = _biased_parameters(n_users, n_items, c["factors"], dev)
        Y = torch.nn.Parameter(torch.zeros(n_items, c["factors"], device=dev))
        W = torch.nn.Parameter(torch.zeros(n_users, c["factors"], device=dev))
        opt = torch.optim.Adam([P, Q, Y, W, bu, bi], lr=c["lr"])
        for _ in tqdm(range(c["epochs"]), desc="rating trustsvd", disable=not progress, leave=False):
            Pu = self._user_vectors(P, N, Y, T, W)
            err = self.mu + bu[u] + bi[i] + (Pu[u] * Q[i]).sum(1) - r
            tie_err = (P[t_rows] * W[t_cols]).sum(1) - t_vals
            penalty = (
                wu @ ((P**2).sum(1) + bu**2) + wi @ ((Q**2).sum(1) + (Y**2).sum(1) + bi**2) + ww @ (W**2).sum(1)
            ) / n
            loss = ((err**2).sum() + c["reg_trust"] * (tie_err**2).sum()) / n + c["reg"] * penalty
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():  # both sums depend only on training data: folded into the stored user vectors
            self.P = self._user_vectors(P, N, Y, T, W).cpu().numpy()
        self.Q = Q.detach().cpu().numpy()
        self.bu, self.bi = bu.detach().cpu().numpy(), bi.detach().cpu().numpy()
        return self

    def _user_vectors(self, P, N, Y, T, W):
        out = P + torch.sparse.mm(T, W)
        return out + torch.sparse.mm(N, Y) if self.cfg["implicit"] else out


class SocialRatingModel(RatingModel):
    """rating.RatingModel's least-squares blend, with TrustSVD (over the given ties) as one more member, "trustsvd".

    With `activity` the blend's weights depend on how much is known of the person: each member's prediction
    enters twice, as is and times a = ACTIVITY_SHRINK / (ACTIVITY_SHRINK + the person's training ratings), so
    people with few ratings can lean on the members that serve them best (TrustSVD, where they trust someone).
    Without ties it is the plain blend (with the same activity terms), the baseline the social one is measured by.
    """

    def __init__(
        self,
        trust: sp.csr_matrix | None = None,
        trustsvd: dict[str, Any] | None = None,
        activity: bool = True,
        **kwargs: Any,
    ) -> None:
        models = list(kwargs.pop("models", ("als", "knn", "uknn", "svdpp", "autorec")))
        super().__init__(models=[*models, "trustsvd"] if trust is not None else models, **kwargs)
        self.trust = trust
        self.cfg.update(trustsvd=trustsvd or {}, activity=activity)
        self.user_counts = np.zeros(0, dtype=np.int64)

    def _models(self) -> list:
        names = self.cfg["models"]
        base = RatingModel.__new__(RatingModel)
        base.cfg = {**self.cfg, "models": [n for n in names if n != "trustsvd"]}
        members = iter(base._models())
        return [TrustSVD(self.trust, **self.cfg["trustsvd"]) if n == "trustsvd" else next(members) for n in names]

    def fit(
        self,
        users: np.ndarray,
        items: np.ndarray,
        ratings: np.ndarray,
        n_users: int,
        n_items: int,
        progress: bool = False,
    ) -> SocialRatingModel:
        """Fit the members without a held-out slice, the blend on it (ridge, `ridge_blend`), then (with `refit`)
        the members again on every rating; returns self."""
        users, items, ratings = np.asarray(users), np.asarray(items), np.asarray(ratings, dtype=np.float32)
        self.user_counts = np.bincount(users, minlength=n_users)
        if len(self.cfg["models"]) < 2:
            super().fit(users, items, ratings, n_users, n_items, progress)
            return self
        held = np.random.default_rng(self.cfg["seed"]).random(len(ratings)) < self.cfg["holdout"]
        members = [
            m.fit(users[~held], items[~held], ratings[~held], n_users, n_items, progress) for m in self._models()
        ]
        F = self._features(members, users[held], items[held])
        self.blend, self.cfg["blend_l2"] = ridge_blend(F, ratings[held], seed=self.cfg["seed"])
        self.models = members
        self.holdout_metrics = {**self._scores(users[held], items[held], ratings[held]), "in_training": False}
        if self.cfg.get("refit", True):
            self.models = [m.fit(users, items, ratings, n_users, n_items, progress) for m in self._models()]
        return self

    def _features(self, models, users, items) -> np.ndarray:
        F = super()._features(models, users, items)
        if not self.cfg.get("activity") or len(self.cfg["models"]) < 2:  # one member: nothing is blended
            return F
        users = np.asarray(users)
        known = (users >= 0) & (users < len(self.user_counts))
        counts = np.where(known, self.user_counts[np.where(known, users, 0)], 0)
        a = ACTIVITY_SHRINK / (ACTIVITY_SHRINK + counts)
        return np.concatenate([F, F * a[:, None]], axis=1)


BLEND_L2_GRID = (0.0, 1.0, 3.0, 10.0, 30.0)


def ridge_blend(F: np.ndarray, y: np.ndarray, seed: int = 0, folds: int = 5) -> tuple[np.ndarray, float]:
    """Return (blend weights, the L2 chosen): ridge least squares with an unpenalised intercept (column 0), the L2
    picked from BLEND_L2_GRID by cross-validation within the slice. The slice is small (a tenth of the ratings, a
    hundred-odd from people with few ratings) and the activity terms double the weights: plain least squares
    overfits it."""
    fold = np.random.default_rng(seed).integers(0, folds, len(y))

    def solve(A: np.ndarray, b: np.ndarray, l2: float) -> np.ndarray:
        penalty = np.eye(A.shape[1]) * l2
        penalty[0, 0] = 0.0
        return np.linalg.lstsq(A.T @ A + penalty, A.T @ b, rcond=None)[0]

    def cv_error(l2: float) -> float:
        return float(
            sum(
                ((F[fold == k] @ solve(F[fold != k], y[fold != k], l2) - y[fold == k]) ** 2).sum() for k in range(folds)
            )
        )

    best = min(BLEND_L2_GRID, key=cv_error)
    return solve(F, y, best), float(best)
