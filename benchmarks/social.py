"""Social recommendation on FilmTrust: rating error and top-10 ranking with and without the social component.

    python -m benchmarks.social [--data-dir DIR] [--folds 5] [--quick] [--demo]

- Ratings (LibRec-style): a random 80/20 split of the deduplicated ratings (`--folds 5`: 5-fold cross-validation),
  MAE / RMSE of biased MF, SVD++, TrustSVD (rankers/social.py), the project's rating blend (rating.RatingModel's
  members, blend weights that also depend on how many ratings the person has: rankers/social.SocialRatingModel
  without ties) and that blend with TrustSVD as one more member, overall and on the test ratings of people with at
  most COLD ratings in training.
- Top-10: each person's rated films split 80/20 (seed 0), every unrated film ranked; popularity, "most liked among
  the people I trust" (the social component alone, ties by popularity), EASE, and the hybrid (per-user standardised
  sum, rankers/hybrid.py's formula) of EASE and popularity without and with the social component, weights picked on
  a validation split of the training ratings. Overall and for people with at most COLD ratings.
- Groups: synthetic groups of 2 and 4 test users; each member's EASE scores scaled to [0, 1], aggregated by average
  or least misery (engine/social.aggregate); the group's top 10 scored against each member's held-out films.
- `--demo` runs the chat's social requests on the demo database (manage.py social_demo).

Rewrites the `social` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.common import add_data_dir, data_root, write_section
from recommender.engine import social
from recommender.engine.metrics import batch_topk_metrics, relevance_matrix, topk_indices
from recommender.engine.rankers.social import SocialRanker, SocialRatingModel, TrustSVD, trust_matrix

COLD = 5  # "people with few ratings": at most this many in training
K = 10
LOW, HIGH = 0.5, 4.0
EASE_L2 = 100.0
# Published FilmTrust anchors (LibRec-style comparison tables; protocol not stated there): MAE, RMSE.
ANCHORS = {"TrustSVD": (0.620, 0.80), "biased MF": (0.632, 0.81), "SocialMF": (0.647, 0.83), "SVD++": (0.652, 0.83)}
WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0)


@dataclass
class FilmTrust:
    users: np.ndarray  # rating rows: user index
    items: np.ndarray
    ratings: np.ndarray
    trust: sp.csr_matrix  # users x users
    n_users: int
    n_items: int


def load_filmtrust(folder: Path) -> FilmTrust:
    """Return FilmTrust with users indexed over both files; a repeated (user, film) rating keeps its last value."""
    last: dict[tuple[int, int], float] = {}
    with open(folder / "ratings.txt", encoding="ascii") as fh:
        for line in fh:
            if line.strip():
                u, i, r = line.split()
                last[(int(u), int(i))] = float(r)
    ties = np.loadtxt(folder / "trust.txt", dtype=np.int64, ndmin=2)
    user_ids = sorted({u for u, _ in last} | set(ties[:, 0].tolist()) | set(ties[:, 1].tolist()))
    uix = {u: k for k, u in enumerate(user_ids)}
    iix = {i: k for k, i in enumerate(sorted({i for _, i in last}))}
    users = np.array([uix[u] for u, _ in last], dtype=np.int64)
    items = np.array([iix[i] for _, i in last], dtype=np.int64)
    trust = trust_matrix(np.array([uix[a] for a in ties[:, 0]]), np.array([uix[b] for b in ties[:, 1]]), len(uix))
    return FilmTrust(users, items, np.array(list(last.values()), dtype=np.float32), trust, len(uix), len(iix))


# ---------------------------------------------------------------- ratings


def rating_models(trust: sp.csr_matrix, quick: bool) -> dict[str, object]:
    """Return the rating models compared, by name (fresh, unfitted)."""
    empty = sp.csr_matrix(trust.shape, dtype=np.float32)
    epochs = 60 if quick else 200
    # Both blends keep the members fitted for the blend (refit False): half the time, the same for both.
    blend = {"low": LOW, "high": HIGH, "refit": False}
    if quick:
        blend["models"] = ("als", "knn", "svdpp")
    return {
        "biased MF": TrustSVD(empty, implicit=False, reg_trust=0.0, epochs=epochs),
        "SVD++": TrustSVD(empty, implicit=True, reg_trust=0.0, epochs=epochs),
        "TrustSVD": TrustSVD(trust, epochs=epochs),
        "hybrid (rating blend)": SocialRatingModel(None, **blend),
        "hybrid + social (blend + TrustSVD)": SocialRatingModel(trust, trustsvd={"epochs": epochs}, **blend),
    }


def rating_errors(ft: FilmTrust, folds: int, quick: bool) -> dict[str, dict[str, float]]:
    """Return {model: {"mae", "rmse", "mae_cold", "rmse_cold", "n_cold", "seconds"}} averaged over the folds."""
    rng = np.random.default_rng(0)
    fold_of = rng.integers(0, 5, len(ft.ratings)) if folds > 1 else (rng.random(len(ft.ratings)) < 0.2).astype(int) - 1
    out: dict[str, dict[str, list[float]]] = {}
    for fold in range(folds if folds > 1 else 1):
        test = fold_of == (fold if folds > 1 else 0)
        train_counts = np.bincount(ft.users[~test], minlength=ft.n_users)
        cold = train_counts[ft.users[test]] <= COLD
        for name, model in rating_models(ft.trust, quick).items():
            started = time.perf_counter()
            model.fit(ft.users[~test], ft.items[~test], ft.ratings[~test], ft.n_users, ft.n_items)
            pred = np.clip(model.predict(ft.users[test], ft.items[test]), LOW, HIGH)
            err = pred - ft.ratings[test]
            row = out.setdefault(name, {})
            for key, value in (
                ("mae", np.abs(err).mean()),
                ("rmse", np.sqrt((err**2).mean())),
                ("mae_cold", np.abs(err[cold]).mean()),
                ("rmse_cold", np.sqrt((err[cold] ** 2).mean())),
                ("n_cold", float(cold.sum())),
                ("seconds", time.perf_counter() - started),
            ):
                row.setdefault(key, []).append(float(value))
            print(
                f"  fold {fold}: {name}: MAE {row['mae'][-1]:.4f} RMSE {row['rmse'][-1]:.4f} "
                f"(cold MAE {row['mae_cold'][-1]:.4f}) {row['seconds'][-1]:.0f} s",
                flush=True,
            )
    return {name: {k: float(np.mean(v)) for k, v in row.items()} for name, row in out.items()}


# ---------------------------------------------------------------- top-10


def per_user_split(
    users: np.ndarray, items: np.ndarray, n_users: int, n_items: int, seed: int
) -> tuple[sp.csr_matrix, dict[int, np.ndarray]]:
    """Return (train matrix, {user: held-out items}): 20 % of each person's items held out (at least one when
    they have two or more)."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(users), dtype=bool)
    order = np.argsort(users, kind="stable")
    for _, rows in itertools.groupby(order, key=lambda r: users[r]):
        rows = np.array(list(rows))
        if len(rows) >= 2:
            n = max(1, int(round(0.2 * len(rows))))
            held[rng.choice(rows, n, replace=False)] = True
    train = sp.csr_matrix((np.ones((~held).sum(), np.float32), (users[~held], items[~held])), shape=(n_users, n_items))
    test: dict[int, list[int]] = {}
    for u, i in zip(users[held], items[held]):
        test.setdefault(int(u), []).append(int(i))
    return train, {u: np.array(v) for u, v in test.items()}


def ease_scores(train: sp.csr_matrix, l2: float = EASE_L2) -> np.ndarray:
    """Return EASE's scores for every user (the closed form rankers.linear.EASERanker fits)."""
    X = train.toarray().astype(np.float64)
    G = X.T @ X
    G[np.diag_indices_from(G)] += l2
    P = np.linalg.inv(G)
    B = -P / np.diag(P)
    B[np.diag_indices_from(B)] = 0.0
    return (X @ B).astype(np.float32)


def standardised(S: np.ndarray) -> np.ndarray:
    """Return scores divided by each user's spread (rankers/hybrid.py's per-user standardisation)."""
    sd = S.std(axis=1, keepdims=True)
    return S / np.where(sd > 1e-9, sd, 1.0)


def topk_metrics(
    S: np.ndarray, train: sp.csr_matrix, test: dict[int, np.ndarray], users: np.ndarray
) -> dict[str, float]:
    """Return mean P@K, R@K, NDCG@K over `users`, training items never ranked."""
    if not len(users):
        return {f"{m}@{K}": 0.0 for m in ("P", "R", "NDCG")}
    scores = S[users].astype(np.float64)
    rows, cols = train[users].nonzero()
    scores[rows, cols] = -np.inf
    top = topk_indices(scores, K)
    rel = relevance_matrix(np.arange(len(users)), {k: test[int(u)] for k, u in enumerate(users)}, S.shape[1])
    return {key: float(v.mean()) for key, v in batch_topk_metrics(top, rel, [K]).items()}


def components(train: sp.csr_matrix, trust: sp.csr_matrix) -> dict[str, np.ndarray]:
    """Return each component's scores for every user, standardised per user."""
    pop = np.asarray(train.sum(axis=0)).ravel().astype(np.float32)
    social_scores = SocialRanker().fit(train, trust).score_users(np.arange(train.shape[0]))
    return {"ease": ease_scores(train), "popularity": np.broadcast_to(pop, train.shape).copy(), "social": social_scores}


def fused(parts: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    return sum(w * standardised(parts[name]) for name, w in weights.items() if w)


def pick_weights(train: sp.csr_matrix, trust: sp.csr_matrix, names: tuple[str, ...]) -> dict[str, float]:
    """Return the weights (EASE fixed at 1) with the best validation NDCG@K on a split of the training items."""
    users, items = train.nonzero()
    inner, held = per_user_split(users, items, *train.shape, seed=1)
    parts = components(inner, trust)
    val_users = np.array(sorted(held))
    best, best_ndcg = {"ease": 1.0}, -1.0
    for combo in itertools.product(WEIGHT_GRID, repeat=len(names)):
        weights = {"ease": 1.0, **dict(zip(names, combo))}
        ndcg = topk_metrics(fused(parts, weights), inner, held, val_users)[f"NDCG@{K}"]
        if ndcg > best_ndcg:
            best, best_ndcg = weights, ndcg
    return best


def ranking(ft: FilmTrust) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, dict[str, float]], dict]:
    """Return ({model: {"all"|"cold": metrics}}, the hybrids' weights, counts)."""
    train, test = per_user_split(ft.users, ft.items, ft.n_users, ft.n_items, seed=0)
    parts = components(train, ft.trust)
    users = np.array(sorted(test))
    counts = np.bincount(ft.users, minlength=ft.n_users)
    cold = users[counts[users] <= COLD]
    has_ties = np.asarray(ft.trust.sum(axis=1)).ravel() > 0
    weights = {
        "hybrid": pick_weights(train, ft.trust, ("popularity",)),
        "hybrid + social": pick_weights(train, ft.trust, ("popularity", "social")),
    }
    pop = parts["popularity"]
    models = {
        "popularity": pop,
        "most liked among the people I trust": parts["social"] + 1e-6 * pop / pop.max(),
        "EASE": parts["ease"],
        "hybrid": fused(parts, weights["hybrid"]),
        "hybrid + social": fused(parts, weights["hybrid + social"]),
    }
    groups = {"all": users, "cold": cold, "cold with ties": cold[has_ties[cold]], "with ties": users[has_ties[users]]}
    out = {
        name: {g: topk_metrics(S, train, test, members) for g, members in groups.items()} for name, S in models.items()
    }
    return out, weights, {g: int(len(m)) for g, m in groups.items()}


def group_study(ft: FilmTrust, sizes: tuple[int, ...] = (2, 4), n_groups: int = 300) -> dict[str, dict[str, float]]:
    """Return {f"{size}/{aggregation}": {"mean NDCG", "min NDCG"}} over synthetic groups of test users."""
    train, test = per_user_split(ft.users, ft.items, ft.n_users, ft.n_items, seed=0)
    S = ease_scores(train).astype(np.float64)
    S[train.nonzero()] = -np.inf
    users = np.array(sorted(test))
    rng = np.random.default_rng(0)
    out = {}
    for size in sizes:
        groups = [rng.choice(users, size, replace=False) for _ in range(n_groups)]
        for how in ("average", "least_misery"):
            means, mins = [], []
            for group in groups:
                rows = S[group]
                seen = ~np.isfinite(rows).all(axis=0)  # any member met it: not for the group
                finite = np.where(np.isfinite(rows), rows, 0.0)
                low, high = finite.min(axis=1, keepdims=True), finite.max(axis=1, keepdims=True)
                scaled = (finite - low) / np.where(high > low, high - low, 1.0)
                score = social.aggregate(scaled, how)
                score[seen] = -np.inf
                top = topk_indices(score[None, :], K)
                rel = relevance_matrix(np.arange(size), {k: test[int(u)] for k, u in enumerate(group)}, S.shape[1])
                ndcg = batch_topk_metrics(np.repeat(top, size, axis=0), rel, [K])[f"NDCG@{K}"]
                means.append(ndcg.mean())
                mins.append(ndcg.min())
            out[f"{size}/{how}"] = {"mean NDCG": float(np.mean(means)), "min NDCG": float(np.mean(mins))}
    return out


# ---------------------------------------------------------------- report


def _pct(x: float) -> str:
    return f"{x:.4f}"


def report(
    ft: FilmTrust, errors: dict, folds: int, ranked: dict, weights: dict, counts: dict, groups: dict, seconds: float
) -> str:
    """Return the docs section: tables, anchors, and what the figures say."""
    lines = [
        f"## Social recommendation (FilmTrust; `python -m benchmarks.social{' --folds 5' if folds > 1 else ''}`)",
        "",
        f"FilmTrust: {len(ft.ratings):,} distinct ratings (0.5–4) by {len(np.unique(ft.users)):,} people on "
        f"{ft.n_items:,} films, {ft.trust.nnz:,} trust links ({int((ft.trust.getnnz(axis=1) > 0).sum())} people "
        f"trust someone). Repeated (person, film) rows keep their last rating. Whole run {seconds:.0f} s on this "
        "machine's CPU.",
        "",
        f"### Rating error ({'5-fold cross-validation' if folds > 1 else 'random 80/20 split, seed 0'})",
        "",
        f"| model | MAE | RMSE | MAE, ≤{COLD} training ratings | RMSE, ≤{COLD} | published MAE / RMSE | fit s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in errors.items():
        anchor = ANCHORS.get(name)
        shown = f"{anchor[0]:.3f} / ≈{anchor[1]:.2f}" if anchor else "—"
        lines.append(
            f"| {name} | {_pct(row['mae'])} | {_pct(row['rmse'])} | {_pct(row['mae_cold'])} | "
            f"{_pct(row['rmse_cold'])} | {shown} | {row['seconds']:.0f} |"
        )
    n_cold = int(next(iter(errors.values()))["n_cold"])
    lines += [
        "",
        f"{n_cold:,} test ratings per fold come from people with at most {COLD} training ratings.",
        "",
        f"### Top-{K} ranking (each person's films split 80/20, seed 0; every unrated film ranked)",
        "",
        f"| model | P@{K} all | NDCG@{K} all | P@{K} ≤{COLD} ratings | NDCG@{K} ≤{COLD} | NDCG@{K} ≤{COLD} with "
        f"trust links | NDCG@{K} with trust links |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, row in ranked.items():
        lines.append(
            f"| {name} | {_pct(row['all'][f'P@{K}'])} | {_pct(row['all'][f'NDCG@{K}'])} | "
            f"{_pct(row['cold'][f'P@{K}'])} | {_pct(row['cold'][f'NDCG@{K}'])} | "
            f"{_pct(row['cold with ties'][f'NDCG@{K}'])} | {_pct(row['with ties'][f'NDCG@{K}'])} |"
        )
    lines += [
        "",
        f"People evaluated: {counts['all']:,} ({counts['cold']:,} with at most {COLD} ratings, "
        f"{counts['cold with ties']:,} of them with trust links; {counts['with ties']:,} with trust links). "
        f"Hybrid weights (EASE 1, picked on a validation split of the training films): without social "
        f"{weights['hybrid']}, with social {weights['hybrid + social']}.",
        "",
        f"### Groups (synthetic, {300} per size, from single people's held-out films; EASE per member)",
        "",
        f"| group size / aggregation | mean member NDCG@{K} | least-served member NDCG@{K} |",
        "|---|---|---|",
    ]
    for name, row in groups.items():
        lines.append(f"| {name} | {_pct(row['mean NDCG'])} | {_pct(row['min NDCG'])} |")
    return "\n".join(lines + ["", *findings(errors, ranked, weights, groups)])


def findings(errors: dict, ranked: dict, weights: dict, groups: dict) -> list[str]:
    """Return what the figures say, in words derived from them (so a rerun cannot leave stale claims)."""
    social_blend, blend = errors["hybrid + social (blend + TrustSVD)"], errors["hybrid (rating blend)"]
    anchor_mae, anchor_rmse = ANCHORS["TrustSVD"]
    level = social_blend["mae"] <= anchor_mae and social_blend["rmse"] <= anchor_rmse + 0.005
    cold_better = social_blend["mae_cold"] < blend["mae_cold"] and social_blend["rmse_cold"] < blend["rmse_cold"]
    out = [
        f"- Ratings: the blend with TrustSVD reaches MAE {social_blend['mae']:.4f} / RMSE {social_blend['rmse']:.4f} "
        f"({'at or below' if level else 'above'} TrustSVD's published {anchor_mae:.3f} / ≈{anchor_rmse:.2f}); "
        f"without TrustSVD {blend['mae']:.4f} / {blend['rmse']:.4f}. For people with at most {COLD} training "
        f"ratings the social blend is {'better' if cold_better else 'not better'} "
        f"(MAE {social_blend['mae_cold']:.4f} vs {blend['mae_cold']:.4f}, RMSE {social_blend['rmse_cold']:.4f} vs "
        f"{blend['rmse_cold']:.4f}) — one split, so differences of a few thousandths are within what another "
        "split could move. Both blends weigh their members by how many ratings a person has, with ridge weights "
        "(rankers/social.ridge_blend). The single models sit above their published MAE here ("
        + ", ".join(
            f"{name} {errors[name]['mae'] - ANCHORS[name][0]:+.3f}" for name in ("biased MF", "SVD++", "TrustSVD")
        )
        + "): the anchors' splits and tuning are not stated, so part of that gap is protocol.",
    ]
    social_weight = weights["hybrid + social"].get("social", 0.0)
    gain = ranked["hybrid + social"]["cold"][f"NDCG@{K}"] - ranked["hybrid"]["cold"][f"NDCG@{K}"]
    out.append(
        f"- Top-{K}: the validation split gives the social component weight {social_weight:g}"
        + (
            " — it does not help the ranking on FilmTrust, so the hybrid with it equals the one without"
            if not social_weight
            else f"; NDCG@{K} for people with at most {COLD} ratings changes by {gain:+.4f}"
        )
        + '. The trust list alone ("most liked among the people I trust") is below plain popularity; on this data '
        "the published ordering is the same (SBPR 0.507 below WRMF 0.525 and SLIM 0.546 NDCG@10)."
    )
    best = {
        size: max(("average", "least_misery"), key=lambda how: groups[f"{size}/{how}"]["mean NDCG"])
        for size in sorted({name.split("/")[0] for name in groups})
    }
    out.append(
        f"- Groups: the better aggregation by mean member NDCG@{K} is "
        + ", ".join(f"{how} for {size}" for size, how in best.items())
        + "; `rules.GROUP_AGGREGATION` serves average."
    )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir(parser)
    parser.add_argument("--folds", type=int, default=1, help="1: a random 80/20 split; 5: 5-fold cross-validation")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and blend members (development only)")
    parser.add_argument("--demo", action="store_true", help="run the chat's social requests on the demo database")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if args.demo:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("social_demo")
        return
    started = time.perf_counter()
    ft = load_filmtrust(data_root(args.data_dir) / "filmtrust")
    print(f"FilmTrust: {len(ft.ratings):,} ratings, {ft.n_users:,} people, {ft.trust.nnz:,} trust links", flush=True)
    ranked, weights, counts = ranking(ft)
    for name, row in ranked.items():
        print(
            f"  top-{K} {name}: NDCG all {row['all'][f'NDCG@{K}']:.4f}, cold {row['cold'][f'NDCG@{K}']:.4f}", flush=True
        )
    groups = group_study(ft)
    print("  groups:", groups, flush=True)
    errors = rating_errors(ft, args.folds, args.quick)
    body = report(ft, errors, args.folds, ranked, weights, counts, groups, time.perf_counter() - started)
    print(body)
    if not args.no_write and not args.quick:
        write_section("social", body)


if __name__ == "__main__":
    main()
