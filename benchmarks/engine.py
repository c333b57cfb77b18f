"""Engine benchmark: top-N on ML-100K (two protocols), rating prediction on u1-u5, cost, serving latency.

python -m benchmarks.engine --data-dir ../shared/data [--quick] [--out FILE] [--no-docs]
Everything runs in one process on the same splits; seeds are printed and stored in the JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from benchmarks.common import REPO, add_data_dir, data_root, percentile, write_section
from recommender.engine.catalog import Catalog
from recommender.engine.data import (
    InteractionData,
    Split,
    liked_holdout_split,
    load_ml100k,
    load_ml100k_fold,
    ml100k_dir,
    random_split,
)
from recommender.engine.embedding import SentenceEmbedder
from recommender.engine.metrics import evaluate_topk, like_accuracy_f1, mae, rmse
from recommender.engine.rankers import make_ranker
from recommender.engine.rating import RatingModel
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import (
    build_hybrid,
    merged_config,
    torch_threads,
    train_bundle,
    training_threads,
    tune_ease,
)
from recommender.engine.types import ItemRecord, Profile

PAPER_TOPK = {"P@5": 0.3240, "R@5": 0.1404, "NDCG@5": 0.3802}
PAPER_RATING = {"MF": 0.988, "Item-KNN": 0.933}
OURS_RATING = "ours: RatingModel blend (ALS MF, item/user kNN, SVD++, I-AutoRec)"
PROTOCOLS = {"a": ("per-user random 80/20 of all ratings", random_split),
             "b": ("per user, 20% of liked (>=4) items held out", liked_holdout_split)}


def _rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@contextmanager
def measured(record: dict[str, Any]):
    """Record wall time (s) and peak RSS growth (MiB, sampled every 2 ms) of the block into record."""
    base, peak, stop = _rss_bytes(), [0], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    try:
        yield record
    finally:
        record["train_s"] = time.perf_counter() - t0
        stop.set()
        thread.join()
        record["peak_mib"] = max(peak[0], _rss_bytes()) - base
        record["peak_mib"] = max(record["peak_mib"], 0) / 2**20


# ---------------------------------------------------------------- implicit library baselines


class ImplicitModel:
    """Adapter giving implicit's ALS/BPR the score_users interface used by evaluate_topk."""

    def __init__(self, kind: str, seed: int) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        if kind == "als":
            self.model = AlternatingLeastSquares(factors=64, regularization=0.05, iterations=15, random_state=seed)
        else:
            self.model = BayesianPersonalizedRanking(factors=64, iterations=100, random_state=seed)

    def fit(self, catalog: Catalog) -> ImplicitModel:
        self.model.fit(catalog.interactions.astype(np.float32), show_progress=False)
        return self

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.user_factors[users] @ self.model.item_factors.T)


# ---------------------------------------------------------------- top-N


class BenchSplit(NamedTuple):
    """One protocol's test split with what every section fits on it: catalog, config, validation-tuned EASE λ."""

    split: Split
    catalog: Catalog
    config: dict[str, Any]
    ease_l2: float
    ease_l2_ndcg: dict[float, float]


def bench_split(data: InteractionData, protocol: str, seed: int) -> BenchSplit:
    """Return the test split (seed) and the EASE λ tuned on a validation carved from its train (seed + 1)."""
    _, splitter = PROTOCOLS[protocol]
    split = splitter(data, 0.2, seed)
    val = splitter(split.train, 0.2, seed + 1)
    cfg = merged_config({"seed": seed, "protocol": "liked_holdout" if protocol == "b" else "random"})
    best_l2, results = tune_ease(val.train, val, cfg["tune"]["ease_l2"])
    return BenchSplit(split, Catalog.from_data(split.train), cfg, best_l2, results)


def fit_hybrid(prep: BenchSplit, embedder, seed: int):
    """Return the default hybrid fitted on the split's train, its weights learned on validation (seed + 1)."""
    # The hybrid keeps its configured EASE λ: a validation carved from an already-split train set
    # treats the outer test items as unseen negatives, which biases it toward heavy regularisation.
    hybrid = build_hybrid(prep.config, embedder)
    return hybrid.fit_with_validation(prep.split.train, protocol=prep.config["protocol"], seed=seed + 1)


def topk_section(data: InteractionData, protocol: str, seed: int, embedder, quick: bool,
                 log: Callable[[str], None]) -> dict[str, Any]:
    """Return metrics, timings and memory of every model on one protocol's split."""
    label = PROTOCOLS[protocol][0]
    prep = bench_split(data, protocol, seed)
    split, catalog, cfg, best_l2, l2_results = prep
    log(f"protocol ({protocol}) {label}: test seed {seed}, validation seed {seed + 1}, "
        f"{len(split.test_items)} test users")
    rows: dict[str, dict[str, Any]] = {}

    def run(name: str, kind: str, fit: Callable[[], Any]) -> None:
        record: dict[str, Any] = {"kind": kind}
        with measured(record):
            model = fit()
        record.update(evaluate_topk(model.score_users, catalog.train, split.test_items))
        rows[name] = record
        log(f"  {name:<22} NDCG@5 {record['NDCG@5']:.4f}  P@5 {record['P@5']:.4f}  R@5 {record['R@5']:.4f}"
            f"  NDCG@10 {record['NDCG@10']:.4f}  fit {record['train_s']:.2f}s")

    log(f"  EASE l2 tuned on validation: {best_l2} ({', '.join(f'{k:g}: {v:.4f}' for k, v in l2_results.items())})")

    run("popularity", "baseline", lambda: make_ranker("popularity").fit(split.train, catalog))
    run("item-kNN", "baseline", lambda: make_ranker("itemknn").fit(split.train, catalog))
    run("EASE", "baseline", lambda: make_ranker("ease", l2=best_l2).fit(split.train, catalog))
    if best_l2 != 300.0:
        # The common default, untuned: kept so the hybrid is also compared with the best-known EASE setting.
        run("EASE (λ=300, untuned)", "baseline", lambda: make_ranker("ease", l2=300.0).fit(split.train, catalog))
    run("implicit ALS", "baseline", lambda: ImplicitModel("als", seed).fit(catalog))
    run("implicit BPR", "baseline", lambda: ImplicitModel("bpr", seed).fit(catalog))
    comps = cfg["components"]
    run("ours: EASE on likes", "ours",
        lambda: make_ranker("ease_liked", **comps["ease_liked"]).fit(split.train, catalog))
    run("ours: RP3beta", "ours", lambda: make_ranker("rp3beta", **comps["rp3beta"]).fit(split.train, catalog))
    run("ours: MF (torch)", "ours", lambda: make_ranker("mf", seed=seed, **comps["mf"]).fit(split.train, catalog))
    run("ours: content (MiniLM)", "ours",
        lambda: make_ranker("content", embedder_obj=embedder).fit(split.train, catalog))

    def fit_and_note_hybrid():
        hybrid = fit_hybrid(prep, embedder, seed)
        rows_meta["weights"] = dict(hybrid.weights)
        rows_meta["ease_l2"] = hybrid.components["ease"].params["l2"]
        return hybrid

    rows_meta: dict[str, Any] = {}
    run("ours: hybrid", "ours", fit_and_note_hybrid)
    rows["ours: hybrid"].update(rows_meta)
    log(f"  hybrid weights (learned on validation): {rows_meta['weights']}")
    ease = rows["EASE"]
    for record in rows.values():
        record["time_vs_ease"] = record["train_s"] / max(ease["train_s"], 1e-9)
        # EASE's growth can read 0 when freed memory is reused; a ratio to ~0 means nothing then.
        record["memory_vs_ease"] = record["peak_mib"] / ease["peak_mib"] if ease["peak_mib"] >= 1.0 else None
    baselines = [r for r in rows.values() if r["kind"] == "baseline"]
    hybrid = rows["ours: hybrid"]
    verdict = {m: hybrid[m] > max(b[m] for b in baselines) for m in ("NDCG@5", "P@5")}
    verdict["ndcg5_vs_ease_pct"] = 100 * (hybrid["NDCG@5"] / ease["NDCG@5"] - 1)
    verdict["p5_vs_ease_pct"] = 100 * (hybrid["P@5"] / ease["P@5"] - 1)
    log(f"  hybrid beats every baseline: NDCG@5 {verdict['NDCG@5']}, P@5 {verdict['P@5']}; "
        f"vs EASE NDCG@5 {verdict['ndcg5_vs_ease_pct']:+.1f}%, P@5 {verdict['p5_vs_ease_pct']:+.1f}%")
    return {"protocol": label, "seed": seed, "validation_seed": seed + 1, "ease_l2": best_l2,
            "ease_l2_validation": {str(k): v for k, v in l2_results.items()}, "models": rows, "verdict": verdict}


def seeds_section(data: InteractionData, protocol: str, seeds: list[int], embedder,
                  log: Callable[[str], None]) -> dict[str, Any]:
    """Return P@5/NDCG@5 of EASE (tuned and λ=300) and the hybrid on several test splits of one protocol.

    One split's P@5 moves by about ±0.005 with the seed (943 users × 5 slots), more than the gap between
    the strongest models, so the comparison is repeated over seeds and summarised as mean ± std.
    """
    label = PROTOCOLS[protocol][0]
    per_seed: list[dict[str, Any]] = []
    for seed in seeds:
        prep = bench_split(data, protocol, seed)
        split, catalog = prep.split, prep.catalog
        models = {"EASE": make_ranker("ease", l2=prep.ease_l2).fit(split.train, catalog),
                  "EASE (λ=300)": make_ranker("ease", l2=300.0).fit(split.train, catalog),
                  "ours: hybrid": fit_hybrid(prep, embedder, seed)}
        row: dict[str, Any] = {"seed": seed, "ease_l2": prep.ease_l2}
        for name, model in models.items():
            found = evaluate_topk(model.score_users, catalog.train, split.test_items, ks=(5,))
            row[name] = {m: found[m] for m in ("P@5", "NDCG@5")}
        per_seed.append(row)
        log(f"  protocol ({protocol}) seed {seed}: " + "; ".join(
            f"{n} P@5 {row[n]['P@5']:.4f} NDCG@5 {row[n]['NDCG@5']:.4f}" for n in models))
    names = ["EASE", "EASE (λ=300)", "ours: hybrid"]
    summary = {n: {m: {"mean": float(np.mean([r[n][m] for r in per_seed])),
                       "std": float(np.std([r[n][m] for r in per_seed]))} for m in ("P@5", "NDCG@5")} for n in names}
    wins = {m: sum(r["ours: hybrid"][m] > max(r["EASE"][m], r["EASE (λ=300)"][m]) for r in per_seed)
            for m in ("P@5", "NDCG@5")}
    return {"protocol": label, "seeds": seeds, "per_seed": per_seed, "summary": summary, "hybrid_wins": wins}


# ---------------------------------------------------------------- ratings


def rating_section(data_dir: Path, folds: list[int], seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Return RMSE/MAE/accuracy/F1 per fold and mean ± std for our model and surprise baselines."""
    from surprise import SVD, Dataset, KNNBaseline, Reader

    per: dict[str, list[dict[str, float]]] = {OURS_RATING: [], "surprise SVD": [], "surprise KNNBaseline": []}
    for fold in folds:
        train, test = load_ml100k_fold(data_dir, fold)
        rec: dict[str, Any] = {}
        with measured(rec):
            model = RatingModel(seed=seed).fit(train.rows, train.cols, train.values, train.n_users, train.n_items)
        pred = model.predict(test.rows, test.cols)
        per[OURS_RATING].append(_rating_scores(test.values, pred, rec))
        trainset = Dataset.load_from_file(str(data_dir / f"u{fold}.base"), reader=Reader("ml-100k")).build_full_trainset()
        raw_users = [train.user_ids[u] for u in test.rows]
        raw_items = [train.item_ids[i] for i in test.cols]
        for name, algo in (("surprise SVD", SVD(random_state=seed)),
                           ("surprise KNNBaseline", KNNBaseline(sim_options={"name": "pearson_baseline", "user_based": False},
                                                                verbose=False))):
            rec = {}
            with measured(rec):
                algo.fit(trainset)
            p = np.array([algo.predict(u, i).est for u, i in zip(raw_users, raw_items)])
            per[name].append(_rating_scores(test.values, p, rec))
        log(f"  u{fold}: " + ", ".join(f"{k} RMSE {v[-1]['RMSE']:.4f}" for k, v in per.items()))
    summary = {}
    for name, folds_out in per.items():
        summary[name] = {m: {"mean": float(np.mean([f[m] for f in folds_out])), "std": float(np.std([f[m] for f in folds_out]))}
                         for m in ("RMSE", "MAE", "accuracy", "F1", "train_s", "peak_mib")}
        s = summary[name]
        log(f"  {name:<24} RMSE {s['RMSE']['mean']:.4f} ± {s['RMSE']['std']:.4f}  MAE {s['MAE']['mean']:.4f}"
            f"  acc {s['accuracy']['mean']:.3f}  F1 {s['F1']['mean']:.3f}")
    return {"folds": folds, "per_fold": per, "summary": summary, "paper": PAPER_RATING}


def _rating_scores(truth: np.ndarray, pred: np.ndarray, rec: dict[str, Any]) -> dict[str, float]:
    acc, f1 = like_accuracy_f1(truth, pred)
    return {"RMSE": rmse(truth, pred), "MAE": mae(truth, pred), "accuracy": acc, "F1": f1,
            "train_s": rec["train_s"], "peak_mib": rec["peak_mib"]}


# ---------------------------------------------------------------- serving latency


def synthetic_data(n_items: int, n_users: int, per_user: int, seed: int) -> InteractionData:
    """Return power-law rated interactions over n_items synthetic items with genre/year attributes and text."""
    rng = np.random.default_rng(seed)
    genres = ["drama", "comedy", "action", "horror", "romance", "documentary", "thriller", "animation"]
    words = ["space", "family", "war", "love", "city", "island", "robot", "detective", "music", "school"]
    items = [ItemRecord(item_id=f"s{i}", title=f"Item {i} {words[i % 10]}",
                        attributes={"genres": [genres[i % 8], genres[(i // 8) % 8]], "year": 1950 + i % 70},
                        description=f"A {genres[i % 8]} story about {words[(i * 7) % 10]} and {words[(i * 3) % 10]}")
             for i in range(n_items)]
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    pop /= pop.sum()
    users, cols = [], []
    for u in range(n_users):
        picked = rng.choice(n_items, size=per_user, replace=False, p=pop)
        users += [f"u{u}"] * per_user
        cols += [f"s{i}" for i in picked]
    ratings = rng.integers(1, 6, size=len(cols)).astype(np.float32)  # graded, so the like model has likes to read
    return InteractionData(users, cols, ratings, items=items)


def latency_section(seed: int, quick: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Return p50/p95 latency (ms) of RecommenderBundle.recommend top-10 over a synthetic 10k-item model."""
    data = synthetic_data(10_000, 1000 if quick else 3000, 50, seed)
    cfg = merged_config({"components": {
        "ease": {"l2": 300.0}, "ease_liked": {"l2": 200.0}, "rp3beta": {"alpha": 1.0, "beta": 0.5, "k": 300},
        "mf": {"factors": 64, "epochs": 3, "lr": 0.01, "ensemble": 3}, "popularity": {},
        "content": {"embedder": {"kind": "hashing", "dim": 384}}}})
    hybrid = build_hybrid(cfg)
    t0 = time.perf_counter()
    hybrid.fit(data)
    fit_s = time.perf_counter() - t0
    bundle = RecommenderBundle(hybrid)
    rng = np.random.default_rng(seed)
    users = rng.choice(data.user_ids, size=300)
    results = {}
    for label, call in (
        ("known user, with evidence", lambda u: bundle.recommend(user_key=u, n=10)),
        ("known user, scores only", lambda u: bundle.recommend(user_key=u, n=10, with_evidence=False)),
        ("conversation profile (5 likes)", lambda u: bundle.recommend(
            profile=Profile(liked=[f"s{int(i)}" for i in rng.integers(0, 10_000, 5)]), n=10)),
    ):
        for u in users[:20]:
            call(u)  # warm-up
        times = []
        for u in users:
            t = time.perf_counter()
            call(u)
            times.append((time.perf_counter() - t) * 1000)
        results[label] = {"p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95)}
        log(f"  top-10 over 10,000 items, {label}: p50 {results[label]['p50_ms']:.1f} ms, "
            f"p95 {results[label]['p95_ms']:.1f} ms")
    return {"n_items": 10_000, "n_users": data.n_users, "fit_s": fit_s, "calls": len(users), "latency": results,
            "load_average": os.getloadavg(),
            "components": list(cfg["components"]), "note": "synthetic power-law data; content uses the hashing embedder"}


# ---------------------------------------------------------------- full training


def training_section(data_dir: Path, seed: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Return wall time of train_bundle on all of ML-100K (hybrid with MiniLM content, then rating model)."""
    import tempfile

    data = load_ml100k(data_dir)
    stages: list[tuple[str, float, float]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        manifest = train_bundle(data, Path(tmp) / "bench", config={"seed": seed},
                                progress=lambda s, f: stages.append((s, f, time.perf_counter() - t0)))
    total = time.perf_counter() - t0
    out = {"total_s": total, "hybrid_s": manifest["timings"]["hybrid_s"],
           "rating_s": manifest["timings"].get("rating_s"), "threads": manifest["timings"].get("threads"),
           "weights": manifest["metrics"]["weights"],
           "ease_l2": manifest["tuned"].get("ease_l2"), "validation": manifest["metrics"]["validation"],
           "load_average": os.getloadavg()}
    log(f"  train_bundle on ML-100K: hybrid {out['hybrid_s']:.1f}s, rating model {out['rating_s'] or 0:.1f}s, "
        f"total {total:.1f}s (load average {out['load_average'][0]:.1f})")
    return out


# ---------------------------------------------------------------- docs


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def render_markdown(result: dict[str, Any], command: str) -> str:
    """Return the engine section of docs/benchmarks.md for a result."""
    lines = ["## Recommender engine", "",
             f"Measured {result['finished_at']} on {result['machine']} with `{command}` "
             f"(one process; seeds printed and stored in `{result['json']}`).", ""]
    for key, source in (result.get("merged_from") or {}).items():
        lines += [f"The {key} section comes from an earlier run of the same code, `{source}`.", ""]
    for key in ("a", "b"):
        sec = result["topk"].get(key)
        if not sec:
            continue
        lines += [f"### Top-N on MovieLens 100K, protocol ({key}): {sec['protocol']}", "",
                  f"Test split seed {sec['seed']}; validation (for EASE λ and hybrid weights) carved from train with seed "
                  f"{sec['validation_seed']}. Every item not in the user's train set is ranked.", "",
                  "| model | P@5 | R@5 | NDCG@5 | P@10 | R@10 | NDCG@10 | train s | time ÷ EASE | peak MiB | memory ÷ EASE |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for name, r in sec["models"].items():
            lines.append(f"| {name} | {r['P@5']:.4f} | {r['R@5']:.4f} | {r['NDCG@5']:.4f} | {r['P@10']:.4f} | "
                         f"{r['R@10']:.4f} | {r['NDCG@10']:.4f} | {r['train_s']:.2f} | {r['time_vs_ease']:.1f} | "
                         f"{r['peak_mib']:.0f} | {_ratio(r.get('memory_vs_ease'))} |")
        p = PAPER_TOPK
        lines.append(f"| Chat-Rec paper (cited, protocol not fully stated) | {p['P@5']:.4f} | {p['R@5']:.4f} | "
                     f"{p['NDCG@5']:.4f} | – | – | – | – | – | – | – |")
        h = sec["models"]["ours: hybrid"]
        base = {n: r for n, r in sec["models"].items() if r["kind"] == "baseline"}
        best = {m: max(base, key=lambda n: base[n][m]) for m in ("NDCG@5", "P@5")}
        verdict = "; ".join(
            f"{m} {'yes' if h[m] > base[best[m]][m] else 'no'} ({h[m]:.4f} vs {best[m]} {base[best[m]][m]:.4f}, "
            f"{100 * (h[m] / base[best[m]][m] - 1):+.1f} %)" for m in ("NDCG@5", "P@5"))
        lines += ["", f"EASE λ chosen on validation: {sec['ease_l2']}. Hybrid weights learned on validation: "
                  f"{', '.join(f'{k} {w:g}' for k, w in h['weights'].items())}.",
                  f"Hybrid above every same-run baseline (stretch target: +5 % over EASE): {verdict}.", ""]
    for key in ("a", "b"):
        sec = (result.get("seeds") or {}).get(key)
        if not sec:
            continue
        names = list(sec["summary"])
        lines += [f"### Protocol ({key}) over test seeds {', '.join(map(str, sec['seeds']))}", "",
                  "Each seed is a new test split (validation carved with seed + 1); P@5 / NDCG@5.", "",
                  "| seed | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for r in sec["per_seed"]:
            lines.append(f"| {r['seed']} | " + " | ".join(
                f"{r[n]['P@5']:.4f} / {r[n]['NDCG@5']:.4f}" for n in names) + " |")
        lines.append("| mean ± std | " + " | ".join(
            f"{sec['summary'][n]['P@5']['mean']:.4f} ± {sec['summary'][n]['P@5']['std']:.4f} / "
            f"{sec['summary'][n]['NDCG@5']['mean']:.4f} ± {sec['summary'][n]['NDCG@5']['std']:.4f}" for n in names) + " |")
        h = sec["summary"]["ours: hybrid"]
        best = {m: max((n for n in names if n != "ours: hybrid"), key=lambda n: sec["summary"][n][m]["mean"])
                for m in ("P@5", "NDCG@5")}
        lines += ["", "Hybrid above both EASE settings: " + "; ".join(
            f"{m} in {sec['hybrid_wins'][m]} of {len(sec['seeds'])} seeds, mean "
            f"{100 * (h[m]['mean'] / sec['summary'][best[m]][m]['mean'] - 1):+.1f} % over {best[m]}"
            for m in ("P@5", "NDCG@5")) + ".", ""]
    lines += ["Notes: the hybrid fuses EASE (λ=300, its configured value), EASE on likes (λ=200: fitted on and "
              "scoring from the items each person rated 4 or more), RP3beta, item-kNN, MF, popularity and "
              "MiniLM content with weights learned by coordinate ascent on validation NDCG@10. EASE on likes is the "
              "one component that reads rating values; every baseline here reads the interactions alone, as the "
              "training data of the protocols gives them; the validation set is "
              "carved from the training split with the same protocol. A validation carved from an already-split train "
              "set counts the outer test items as negatives, which pushes EASE's tuned λ up; the untuned λ=300 row "
              "is shown so the hybrid is also compared with the strongest EASE setting. RP3beta (α 1.0, β 0.5, k 300) "
              "and MF (64 factors, 30 epochs, input dropout 0.7, three seeds averaged into one linear model) settings "
              "were picked in a short manual comparison on the seed-0 protocol-(a) split, so their rows are slightly "
              "optimistic there; the repeated-seed tables show how the comparison holds on other splits. ML-100K item text is only title, "
              "genres and year, so the content model is weak alone; it matters for cold items and query text. Item "
              "embeddings are cached per process, so content and hybrid times after the first protocol exclude encoding. "
              "Peak MiB is the growth of the process's resident memory while fitting (sampled every 2 ms).", ""]
    rating = result.get("rating")
    if rating:
        lines += [f"### Rating prediction on the official folds u{', u'.join(map(str, rating['folds']))}", "",
                  "Like = rating ≥ 4 for accuracy and F1; mean ± std over folds.", "",
                  "| model | RMSE | MAE | accuracy | F1 | train s |", "|---|---|---|---|---|---|"]
        for name, s in rating["summary"].items():
            lines.append(f"| {name} | {s['RMSE']['mean']:.4f} ± {s['RMSE']['std']:.4f} | "
                         f"{s['MAE']['mean']:.4f} ± {s['MAE']['std']:.4f} | {s['accuracy']['mean']:.3f} | "
                         f"{s['F1']['mean']:.3f} | {s['train_s']['mean']:.1f} |")
        for name, value in PAPER_RATING.items():
            lines.append(f"| Chat-Rec paper {name} (cited) | {value:.3f} | – | – | – | – |")
        ours = rating["summary"].get(OURS_RATING)
        if ours:
            met = ours["RMSE"]["mean"] <= 0.90
            lines += ["", f"Target RMSE ≤ 0.90: {'met' if met else 'not met'} ({ours['RMSE']['mean']:.4f})."]
        lines.append("")
    tr = result.get("training")
    if tr:
        lines += ["### Full training (`train_bundle`) on all of ML-100K", "",
                  f"Hybrid (validation split, weight learning, refit; MiniLM content embeddings included): "
                  f"{tr['hybrid_s']:.1f} s (target under 60 s); rating model: {tr['rating_s'] or 0:.1f} s; "
                  f"total {tr['total_s']:.1f} s; torch threads {tr.get('threads') or 'default'} (training uses only "
                  "the cores the machine's load leaves free: oversubscribed OpenMP threads were several times slower). "
                  f"Machine load average during the run: {tr['load_average'][0]:.1f} on {os.cpu_count()} cores "
                  f"(shared), so times are upper bounds.", ""]
    lat = result.get("latency")
    if lat:
        lines += ["### Serving latency", "",
                  f"`RecommenderBundle.recommend` top-10 over a synthetic {lat['n_items']:,}-item hybrid "
                  f"({', '.join(lat['components'])}; {lat['n_users']:,} users; {lat['calls']} calls each; {lat['note']}).", "",
                  "| request | p50 ms | p95 ms |", "|---|---|---|"]
        for label, r in lat["latency"].items():
            lines.append(f"| {label} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |")
        if lat.get("load_average"):
            lines += ["", f"Load average when measured: {lat['load_average'][0]:.1f} on {os.cpu_count()} shared cores; "
                      "the target is p95 under 20 ms. Every component has weight 1 here, so none is skipped; "
                      "evidence is computed for the shown items only, in one batch per component."]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser, "ml-100k folder, or a folder holding it")
    parser.add_argument("--quick", action="store_true", help="one protocol-(a)/(b) run each, fold u1 only, fewer users for latency")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", default="0,1,2,3,4", help="test seeds for the repeated EASE-vs-hybrid comparison")
    parser.add_argument("--out", default=None, help="JSON output path (default artifacts/bench/engine-<time>.json)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--only", default="topk,seeds,rating,training,latency", help="comma list of sections to run")
    parser.add_argument("--merge", default=None, help="earlier JSON files (comma-separated, first wins) whose sections fill the ones not run now")
    args = parser.parse_args(argv)
    sections = set(args.only.split(","))
    data_dir = ml100k_dir(data_root(args.data_dir))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out) if args.out else REPO / "artifacts" / "bench" / f"engine-{stamp}.json"
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    log(f"seed {args.seed}; data {data_dir}")
    result: dict[str, Any] = {"seed": args.seed, "quick": args.quick, "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
                              "json": str(out.relative_to(REPO)) if out.is_relative_to(REPO) else str(out), "topk": {}}
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)

    def checkpoint() -> None:
        out.write_text(json.dumps(result, indent=1, default=float))

    if sections & {"topk", "seeds"}:
        data = load_ml100k(data_dir)
        embedder = SentenceEmbedder()  # one per process: its cache keeps item texts encoded once
    if "topk" in sections:
        for key in ("a", "b"):
            # Every model trains under the thread policy train_bundle uses (free cores only).
            with torch_threads(training_threads(None)):
                result["topk"][key] = topk_section(data, key, args.seed, embedder, args.quick, log)
            checkpoint()
    if "seeds" in sections:
        seeds = [int(x) for x in args.seeds.split(",") if x.strip()][:1 if args.quick else None]
        result["seeds"] = {}
        for key in ("a", "b"):
            with torch_threads(training_threads(None)):
                result["seeds"][key] = seeds_section(data, key, seeds, embedder, log)
            checkpoint()
    if "rating" in sections:
        log("rating prediction (u1-u5 folds)")
        result["rating"] = rating_section(data_dir, [1] if args.quick else [1, 2, 3, 4, 5], args.seed, log)
        checkpoint()
    if "training" in sections:
        log("full training")
        result["training"] = training_section(data_dir, args.seed, log)
        checkpoint()
    if "latency" in sections:
        log("serving latency")
        result["latency"] = latency_section(args.seed, args.quick, log)
    result["total_s"] = time.perf_counter() - started
    for source in (args.merge.split(",") if args.merge else []):
        earlier = json.loads(Path(source).read_text())
        for key in ("topk", "seeds", "rating", "training", "latency"):
            if not result.get(key) and earlier.get(key):
                result[key] = earlier[key]
                result.setdefault("merged_from", {})[key] = source
    result["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=float))
    log(f"wrote {out}")
    if not args.no_docs:
        command = "python -m benchmarks.engine --data-dir ../shared/data" + (" --quick" if args.quick else "")
        write_section("engine", render_markdown(result, command))
        log("updated docs/benchmarks.md (engine section)")
    return result


if __name__ == "__main__":
    main()
