"""Training: fit the hybrid (weights learned on validation) and the rating model, write a versioned artifact."""
from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .data import InteractionData, Split
from .metrics import evaluate_topk
from .rankers import make_ranker
from .rankers.comention import fit_and_save as fit_comention
from .rankers.hybrid import HybridRanker
from .rankers.mf import use_device
from .rating import RatingModel

FORMAT_VERSION = 1
DEFAULT_CONFIG: dict[str, Any] = {
    "seed": 0,
    "validation_fraction": 0.2,
    "protocol": "random",
    "components": {
        "ease": {"l2": 300.0},
        "ease_liked": {"l2": 200.0},
        "rp3beta": {"alpha": 1.0, "beta": 0.5, "k": 300},
        "itemknn": {"k": 100, "shrink": 10.0},
        # Three seeds averaged: one MF run's ranking moves with its seed, which the fused weights then chase.
        "mf": {"factors": 64, "epochs": 30, "lr": 0.01, "dropout": 0.7, "ensemble": 3},
        "popularity": {},
        "content": {"embedder": {"kind": "sentence"}},
    },
    "tune": {"ease_l2": [150.0, 300.0, 500.0, 800.0]},
    "query_weight": 1.0,
    "rating": {},
    "tqdm": False,  # per-epoch progress bars on the console (the progress callback works either way)
    "threads": None,  # torch threads while training; None: the cores the machine's load leaves free
}


def merged_config(config: dict | None) -> dict[str, Any]:
    """Return DEFAULT_CONFIG updated with config (components and tune replaced per key)."""
    out = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in (config or {}).items():
        if key == "components" and value is not None:
            out["components"] = copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def tune_ease(train: InteractionData, split: Split, grid: list[float]) -> tuple[float, dict[float, float]]:
    """Return the EASE l2 with the best NDCG@10 on split's held-out items, and every tried value's NDCG."""
    from .catalog import Catalog

    catalog = Catalog.from_data(train)
    results = {}
    for l2 in grid:
        ranker = make_ranker("ease", l2=l2).fit(train, catalog)
        results[l2] = evaluate_topk(ranker.score_users, catalog.train, split.test_items, ks=(10,))["NDCG@10"]
    return max(results, key=lambda l2: results[l2]), results


def build_hybrid(config: dict[str, Any], embedder=None) -> HybridRanker:
    """Return an unfitted hybrid with the configured components (an embedder object may be injected)."""
    components = {}
    for name, params in config["components"].items():
        params = dict(params)
        if name == "content" and embedder is not None:
            params.pop("embedder", None)
            params["embedder_obj"] = embedder
        components[name] = make_ranker(name, **params)
    return HybridRanker(query_weight=float(config.get("query_weight", 1.0))).with_components(components)


def training_threads(requested: int | None) -> int:
    """Return the torch thread count to train with: requested, else the cores not already busy (at least 1)."""
    if requested:
        return max(1, int(requested))
    cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with n torch (and BLAS) threads, restoring the previous setting afterwards."""
    # OpenMP workers spin while waiting: on a machine whose cores are already busy, more threads than
    # free cores make MiniLM encoding and the MF epochs several times slower than a single thread.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    limiter = contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=n)
    except ImportError:  # optional: only BLAS outside torch stays unlimited
        pass
    try:
        with limiter:
            yield
    finally:
        torch.set_num_threads(before)


def _has_ratings(data: InteractionData) -> bool:
    return data.n_interactions > 0 and float(np.ptp(data.values)) > 0


def train_bundle(data: InteractionData, out_dir: Path, *, config: dict | None = None,
                 progress: Callable[[str, float], None] | None = None, embedder=None,
                 dialogue_pairs: list | None = None) -> dict:
    """Fit the hybrid and the rating model, write out_dir (manifest.json, arrays), and return the manifest.

    dialogue_pairs ((earlier items, items suggested next), from recorded dialogues) add a co-mention model.
    """
    cfg = merged_config(config)
    threads = training_threads(cfg.get("threads"))
    with torch_threads(threads), use_device(cfg.get("device")):
        return _train(data, Path(out_dir), cfg, progress, embedder, threads, dialogue_pairs)


def _train(data: InteractionData, out_dir: Path, cfg: dict[str, Any],
           progress: Callable[[str, float], None] | None, embedder, threads: int,
           dialogue_pairs: list | None = None) -> dict:
    report = progress or (lambda stage, fraction: None)
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    timings: dict[str, float] = {"threads": threads}
    tuned: dict[str, Any] = {}
    started = time.perf_counter()

    hybrid = build_hybrid(cfg, embedder)
    for ranker in hybrid.components.values():
        ranker.progress = bool(cfg.get("tqdm"))
    grid = (cfg.get("tune") or {}).get("ease_l2") or []

    def tune(train: InteractionData, split: Split) -> None:
        if grid and "ease" in hybrid.components:
            report("tuning EASE l2", 0.05)
            best, results = tune_ease(train, split, grid)
            hybrid.components["ease"].params["l2"] = best
            tuned["ease_l2"] = best
            tuned["ease_l2_ndcg@10"] = {str(k): v for k, v in results.items()}

    report("fitting hybrid", 0.0)
    hybrid.fit_with_validation(data, protocol=cfg["protocol"], seed=int(cfg["seed"]),
                               fraction=float(cfg["validation_fraction"]),
                               progress=lambda s, f: report(s, 0.1 + 0.6 * f), tune=tune)
    timings["hybrid_s"] = time.perf_counter() - started
    metrics: dict[str, Any] = {"validation": hybrid.validation, "weights": dict(hybrid.weights)}
    hybrid.save(tmp / "hybrid")
    if dialogue_pairs:
        report("fitting co-mention model", 0.72)
        metrics["comention"] = fit_comention(dialogue_pairs, hybrid.catalog, tmp / "comention")

    if cfg.get("rating") is not None and _has_ratings(data):
        report("fitting rating model", 0.75)
        t0 = time.perf_counter()
        rating = RatingModel(**cfg["rating"]).fit(data.rows, data.cols, data.values, data.n_users, data.n_items,
                                                  progress=bool(cfg.get("tqdm")))
        timings["rating_s"] = time.perf_counter() - t0
        metrics["rating_holdout"] = rating.holdout_metrics
        rating.save(tmp / "rating")

    manifest = {
        "format": FORMAT_VERSION,
        "version": str(cfg.get("version") or out_dir.name),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_users": data.n_users,
        "n_items": data.n_items,
        "n_interactions": data.n_interactions,
        "item_ids": list(data.item_ids),
        "config": cfg,
        "tuned": tuned,
        "metrics": metrics,
        "timings": timings,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, default=float))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    report("done", 1.0)
    return manifest
