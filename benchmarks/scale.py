"""Training and serving cost against catalog size: wall time and peak memory of the full train_bundle, one
serving process's memory and top-10 latency, and top-10 quality.

    CHATREC_DATA_DIR=/path/to/data .venv/bin/python -m benchmarks.scale --write
    ... --sizes 1000,10000,50000 --baseline <git rev>   (a sweep of synthetic sizes; the old code on ML-100K)
    ... --sizes 200000 --json big.json --no-quality     (one size alone; --previous big.json merges it later)

Every training run happens in a fresh child process, so its peak RSS (ru_maxrss) is that run's alone; the
trained version is then loaded by another fresh process (a web process's view: catalog, model, serving
catalog with the understanding index) that answers seeded top-10 requests with evidence.
The synthetic catalogs come from `synthetic_catalog`: power-law item popularity and user activity,
one interaction per (user, item), item text for the content model, deterministic under a seed.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import data_root, percentile

ROOT = Path(__file__).resolve().parent.parent
MUSIC_SIZE = (17_632, 75_000)  # the size of the music catalog whose training did not finish before this change

_GENRES = ["rock", "pop", "jazz", "folk", "electronic", "hip hop", "classical", "metal", "soul", "blues",
           "country", "ambient"]
_WORDS = ["night", "river", "summer", "city", "echo", "golden", "broken", "neon", "quiet", "wild", "silver",
          "heart", "ocean", "fire", "glass", "moon", "paper", "storm", "velvet", "winter"]


def synthetic_catalog(n_items: int, events_per_item: float = 20.0, seed: int = 0, n_events: int | None = None,
                      events_per_user: float = 25.0, item_exponent: float = 0.9, user_exponent: float = 0.5):
    """Return InteractionData: about n_events (default events_per_item x n_items) implicit events over n_items.

    Item popularity follows rank^-item_exponent (ranks shuffled over the ids, so the head is not the
    first ids) and user activity rank^-user_exponent; repeated (user, item) pairs are dropped. Every
    item has a title, genres, a year and a description. The same arguments give the same data.
    """
    from recommender.engine.data import InteractionData
    from recommender.engine.types import ItemRecord

    rng = np.random.default_rng(seed)
    n_events = int(n_events if n_events is not None else round(events_per_item * n_items))
    n_users = max(1, round(n_events / events_per_user))
    item_p = 1.0 / np.arange(1, n_items + 1) ** item_exponent
    item_p = (item_p / item_p.sum())[rng.permutation(n_items)]
    user_p = 1.0 / np.arange(1, n_users + 1) ** user_exponent
    user_p /= user_p.sum()
    items = np.empty(0, dtype=np.int64)
    users = np.empty(0, dtype=np.int64)
    while len(items) < n_events:  # draw, drop repeats, top up until n_events distinct pairs
        draw = int((n_events - len(items)) * 1.2) + 16
        items = np.concatenate([items, rng.choice(n_items, size=draw, p=item_p)])
        users = np.concatenate([users, rng.choice(n_users, size=draw, p=user_p)])
        _, first = np.unique(users * n_items + items, return_index=True)
        first.sort()
        items, users = items[first], users[first]
    items, users = items[:n_events], users[:n_events]
    genre_of = rng.integers(0, len(_GENRES), size=(n_items, 2))
    word_of = rng.integers(0, len(_WORDS), size=(n_items, 3))
    years = rng.integers(1960, 2025, size=n_items)
    records = [ItemRecord(item_id=f"t{i}", title=f"{_WORDS[w[0]].title()} {_WORDS[w[1]]} {i}", domain="music",
                          description=f"A {_GENRES[g[0]]} track about {_WORDS[w[2]]}",
                          attributes={"genres": sorted({_GENRES[g[0]], _GENRES[g[1]]}), "year": int(y)})
               for i, (g, w, y) in enumerate(zip(genre_of, word_of, years))]
    return InteractionData([f"u{u}" for u in users], [f"t{i}" for i in items], np.ones(len(items), np.float32),
                           items=records)


def load_dataset(name: str, seed: int = 0):
    """Return a dataset by name: ml-100k, ml-latest-small (from CHATREC_DATA_DIR) or synthetic:ITEMS[:EVENTS]."""
    from recommender.engine.data import load_ml100k, load_ml_latest

    data_dir = data_root()
    if name == "ml-100k":
        return load_ml100k(data_dir / "ml-100k")
    if name == "ml-latest-small":
        return load_ml_latest(data_dir / "ml-latest-small")
    if name.startswith("synthetic:"):
        sizes = [int(v) for v in name.split(":")[1:]]
        return synthetic_catalog(sizes[0], n_events=sizes[1] if len(sizes) > 1 else None, seed=seed)
    raise ValueError(f"unknown dataset {name!r}")


# ---------------------------------------------------------------- one training run (child process)


WITH_DIALOGUES = "+dialogues"  # a dataset name ending so trains the text encoder too, as `manage.py train` does


def recorded_dialogues(name: str, data) -> dict[str, list]:
    """Return train_bundle's dialogue inputs for a dataset: the ReDial training dialogues linked to a MovieLens
    catalog, or for a synthetic one as many made-up suggestions (two of a person's items named, a third suggested)
    as ReDial gives ml-latest-small, so the encoder's training costs what a real catalog's would."""
    if name.startswith("synthetic:"):
        return synthetic_dialogues(data)
    from benchmarks.conversations import dialogue_inputs, link_dialogues

    setup = link_dialogues(data, data_root() / "redial")
    return dialogue_inputs([t for _, t in setup.turns(setup.train)])


def synthetic_dialogues(data, examples: int = 6_600, seed: int = 0) -> dict[str, list]:
    """Return made-up suggestion turns over a synthetic catalog: a person names two items they have, an item of
    theirs is suggested next (only people with three items or more)."""
    rng = np.random.default_rng(seed)
    by_user: dict[int, list[int]] = {}
    for u, i in zip(data.rows.tolist(), data.cols.tolist()):
        by_user.setdefault(u, []).append(i)
    people = [items for items in by_user.values() if len(items) >= 3]
    pairs, encoder = [], []
    for p in rng.integers(0, len(people), size=examples):
        a, b, c = (data.item_ids[i] for i in rng.choice(people[p], size=3, replace=False))
        said = f"I keep playing {data.items[a].title} and {data.items[b].title}. What else would I like?"
        pairs.append(({a: 1.0, b: 1.0}, [c]))  # the items named so far, by weight, as a recorded turn's context
        encoder.append(([{"role": "user", "content": said}], [c]))
    return {"dialogue_pairs": pairs, "encoder_dialogues": encoder}


def train_once(name: str, out: Path, config: dict | None = None) -> dict[str, Any]:
    """Train the full bundle on one dataset in this process into out; return wall time, peak RSS and the
    manifest's figures."""
    from recommender.engine.training import train_bundle

    base = name.removesuffix(WITH_DIALOGUES)
    data = load_dataset(base)
    dialogues = recorded_dialogues(base, data) if name.endswith(WITH_DIALOGUES) else {}
    t0, cpu0 = time.perf_counter(), time.process_time()
    manifest = train_bundle(data, out, config=config, **dialogues)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file() and "embedding-cache" not in f.parts)
    return {"dataset": name, "items": data.n_items, "users": data.n_users, "events": data.n_interactions,
            "train_s": wall, "cpu_s": cpu, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "artifact_mib": size / 2**20, "components": manifest.get("components"),
            "weights": manifest["metrics"]["weights"], "validation": manifest["metrics"]["validation"],
            "tuned": manifest["tuned"], "timings": manifest["timings"], "load_after": os.getloadavg()[0],
            "rating_holdout": manifest["metrics"].get("rating_holdout"),
            "encoder": manifest["metrics"].get("encoder"),
            "dialogue_examples": len(dialogues.get("encoder_dialogues") or [])}


def serve_once(path: Path, requests: int = 300, seed: int = 0) -> dict[str, Any]:
    """Load a trained version as a web process does and answer seeded top-10 requests with evidence.

    Half the requests are known users, half ad-hoc profiles (three liked items from the user's history and
    a request text). Returns the process's RSS after loading and at its peak, and latency percentiles.
    """
    from recommender.engine.conversation import ServingCatalog
    from recommender.engine.serving import RecommenderBundle
    from recommender.engine.types import Profile

    t0 = time.perf_counter()
    bundle = RecommenderBundle.load(path)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    counts = np.diff(bundle.catalog.train.tocsc().indptr)
    serving = ServingCatalog.build(bundle.items, dict(zip(bundle.catalog.item_ids, counts.astype(float).tolist())))
    catalog_s = time.perf_counter() - t0
    rss_loaded = _current_rss_mib()
    rng = np.random.default_rng(seed)
    train = bundle.catalog.train
    users = rng.choice(np.flatnonzero(np.diff(train.indptr) >= 3), size=requests)
    queries = ["something upbeat to run to", "quiet songs for a rainy night", "classic rock from the seventies"]
    latencies, cpu, texts = [], [], []
    for k, u in enumerate(users):
        if k % 2:
            items = train.indices[train.indptr[u]:train.indptr[u + 1]]
            liked = [bundle.catalog.item_ids[i] for i in rng.choice(items, size=3, replace=False)]
            request = {"profile": Profile(liked=liked, query_text=queries[k % len(queries)])}
        else:
            request = {"user_key": bundle.catalog.user_ids[u]}
        t0, c0 = time.perf_counter(), time.process_time()
        found = bundle.recommend(n=10, with_evidence=True, **request)
        latencies.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        texts.append(bool(k % 2))
        assert len(found) == 10 and all(s.evidence for s in found)
    # The first requests page the arrays in. CPU time moves less with the machine's load than wall time;
    # requests with text also embed it (the sentence model), so they are reported apart.
    ms, cpu_ms, text = np.array(latencies[10:]) * 1000, np.array(cpu[10:]) * 1000, np.array(texts[10:])
    rss_parts = _rss_parts_mib()
    rss_served = rss_parts.get("VmRSS") or _current_rss_mib()
    probe = ann_probe(bundle, rng) if "content" in bundle.hybrid.components else {}
    return {**probe,"p95_cpu_ms": percentile(cpu_ms, 95), "p95_text_ms": percentile(ms[text], 95),
            "p95_no_text_ms": percentile(ms[~text], 95),"load_s": load_s, "serving_catalog_s": catalog_s, "serving_rss_loaded_mib": rss_loaded,
            "serving_rss_mib": rss_served, "serving_rss_private_mib": rss_parts.get("RssAnon"),
            "serving_rss_mapped_mib": rss_parts.get("RssFile"),
            "serving_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
            "max_ms": float(ms.max()), "requests": len(ms), "serving_catalog_items": len(serving.records), "ann": bundle.hybrid.components["content"].ann is not None
            if "content" in bundle.hybrid.components else False}


def ann_probe(bundle, rng: np.random.Generator, queries: int = 200) -> dict[str, Any]:
    """Return the content model's similarity search, exact against the ANN index, on seeded profiles.

    The profiles are the mean embedding of three random items; the index is the version's own, or one
    built here from its embeddings (timed) where the catalog is at or below the ANN threshold. Reported:
    recall@10 of the index's candidates re-scored exactly, and per-query CPU ms of each way.
    """
    from recommender.engine.ann import NearestItems

    content = bundle.hybrid.components["content"]
    E = content.E
    t0 = time.process_time()
    index = content.ann or NearestItems.build(np.asarray(E))
    build_s = time.process_time() - t0 if content.ann is None else None
    V = np.stack([np.asarray(E[rng.choice(len(E), size=3, replace=False)]).mean(axis=0) for _ in range(queries)])
    t0 = time.process_time()
    exact = [np.argsort(-(E @ v))[:10] for v in V]
    exact_ms = (time.process_time() - t0) / queries * 1000
    t0 = time.process_time()
    found = []
    for v in V:
        candidates = index.search(v[None, :], int(content.params.get("ann_candidates", 500)))[0]
        candidates = candidates[candidates >= 0]
        found.append(candidates[np.argsort(-(np.asarray(E[candidates]) @ v))[:10]])
    ann_ms = (time.process_time() - t0) / queries * 1000
    recall = float(np.mean([len(set(a.tolist()) & set(b.tolist())) / 10 for a, b in zip(found, exact)]))
    return {"ann_recall@10": recall, "ann_query_cpu_ms": ann_ms, "exact_query_cpu_ms": exact_ms,
            "ann_build_cpu_s": build_s}


def _rss_parts_mib() -> dict[str, float]:
    """Return this process's resident memory (MiB) from /proc: VmRSS in all, RssAnon private, RssFile file-backed.

    File-backed pages here are mostly the memory-mapped model arrays: one copy in the page cache, shared by
    every process that maps the same version, so each extra web process costs about its private part.
    """
    parts = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                parts[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return parts


def _current_rss_mib() -> float:
    """Return this process's resident memory now (MiB), from /proc (peak RSS where that is unavailable)."""
    return _rss_parts_mib().get("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(args: list[str], code_root: Path) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys([str(code_root), str(ROOT)])))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.scale", *args],
                          cwd=code_root, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_child(name: str, code_root: Path = ROOT, config: dict | None = None, serve: bool = True) -> dict[str, Any]:
    """Run train_once in a fresh interpreter whose `recommender` package comes from code_root, then (serve)
    serve_once on the trained version in another."""
    load_before = os.getloadavg()[0]
    out = Path(tempfile.mkdtemp(prefix="chatrec-scale-"))
    try:
        result = _child(["--child", name, "--out", str(out / "bundle"), "--config", json.dumps(config or {})],
                        code_root)
        result["load_before"] = load_before
        if serve:
            try:
                result.update(_child(["--serve", str(out / "bundle")], code_root))
            except RuntimeError as exc:  # the training figures still count
                result["serving_error"] = str(exc)[-500:]
            result["load_serving"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return result


def checkout(rev: str) -> Path:
    """Return a temporary directory holding the tree of git revision rev (for before/after runs)."""
    target = Path(tempfile.mkdtemp(prefix="chatrec-rev-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


# ---------------------------------------------------------------- top-10 quality on one split


def quality(name: str = "ml-latest-small", seed: int = 0, embedding_cache: str = "") -> list[dict[str, Any]]:
    """Return top-10 metrics of the scalable components, their hybrid, dense EASE, implicit ALS and popularity.

    A per-user random 80/20 split (seed); the hybrid learns its weights on a validation carved from the
    train part (seed + 1), as in training. Items seen in train are never ranked.
    """
    from benchmarks.engine import ImplicitModel
    from recommender.engine.catalog import Catalog
    from recommender.engine.data import random_split
    from recommender.engine.metrics import evaluate_topk
    from recommender.engine.rankers import make_ranker
    from recommender.engine.training import (
        build_hybrid,
        merged_config,
        torch_threads,
        training_threads,
        tune_ease,
    )

    data = load_dataset(name)
    split = random_split(data, 0.2, seed)
    val = random_split(split.train, 0.2, seed + 1)
    catalog = Catalog.from_data(split.train)
    cfg = merged_config({"seed": seed})
    scalable = cfg["scalable"]
    rows = []

    def run(label: str, fit) -> None:
        t0 = time.perf_counter()
        model = fit()
        record = {"model": label, "fit_s": time.perf_counter() - t0}
        record.update(evaluate_topk(model.score_users, catalog.train, split.test_items, ks=(10,)))
        rows.append(record)
        print(f"  {label}: NDCG@10 {record['NDCG@10']:.4f} ({record['fit_s']:.1f} s)", file=sys.stderr, flush=True)

    def spec(role: str) -> tuple[str, dict]:
        params = dict(scalable[role])
        return params.pop("ranker"), params

    with torch_threads(training_threads(None)):
        head_l2, _ = tune_ease(val.train, val, cfg["tune"]["ease_l2"], head=int(scalable["ease"]["head"]))
        run("popularity", lambda: make_ranker("popularity").fit(split.train, catalog))
        run("implicit ALS (its own user factors)", lambda: ImplicitModel("als", seed).fit(catalog))
        # Dense EASE over every item takes the head's tuned λ: tuning it too would cost another items^3.
        run(f"EASE, dense, all items (λ={head_l2:g})", lambda: make_ranker("ease", l2=head_l2).fit(split.train, catalog))
        ease_name, ease_params = spec("ease")
        run(f"{ease_name} (λ={head_l2:g})",
            lambda: make_ranker(ease_name, **dict(ease_params, l2=head_l2)).fit(split.train, catalog))
        for role in ("itemknn", "rp3beta", "mf"):
            ranker, params = spec(role)
            run(ranker, lambda ranker=ranker, params=params: make_ranker(ranker, **params).fit(split.train, catalog))

        def hybrid():
            config = merged_config({"seed": seed + 1})
            embedder = None
            if embedding_cache:  # the same vectors the sentence model gives, read from the store
                from recommender.engine.embedding import StoredEmbeddings, make_embedder

                embedder = StoredEmbeddings(make_embedder(config["components"]["content"]["embedder"]), embedding_cache)
            model = build_hybrid(config, embedder, n_items=split.train.n_items)
            model.components["ease"].params["l2"] = head_l2
            return model.fit_with_validation(split.train, seed=seed + 1)

        run("scalable hybrid (weights learned on validation)", hybrid)
    return rows


# ---------------------------------------------------------------- report


def growth_exponent(sizes: list[float], values: list[float]) -> float:
    """Return b in value ~ a * size^b, fitted by least squares on logs."""
    return float(np.polyfit(np.log(sizes), np.log(values), 1)[0])


def _store_note(r: dict) -> str:
    """Return how many item texts a training with an embedding store had to embed (a retrain: none)."""
    embedded = (r.get("timings") or {}).get("texts_embedded")
    return "" if embedded is None else f" (embedding store: {embedded:,} texts embedded)"


def _serving_cells(r: dict) -> str:
    if "p95_ms" not in r:
        return " | | | "
    split = (f" ({r['p95_no_text_ms']:.1f} without text, {r['p95_text_ms']:.1f} with)" if "p95_text_ms" in r else "")
    cpu = f"{r['p95_cpu_ms']:.1f}" if "p95_cpu_ms" in r else ""
    private = f" ({r['serving_rss_private_mib']:.0f} private)" if r.get("serving_rss_private_mib") else ""
    return f" | {r['serving_rss_mib']:.0f}{private} | {r['p50_ms']:.1f} / {r['p95_ms']:.1f}{split} | {cpu} | "


def markdown(runs: list[dict], baseline: list[dict], sweep: list[dict], quality_rows: list[dict],
             command: str, plot: str | None = None) -> str:
    """Return the `scale` section of docs/benchmarks.md."""
    lines = ["## Training cost against catalog size", "",
             f"Command{'s' if '`, `' in command else ''}: `{command}`. Each row is one full `train_bundle` (tuning, "
             "validation fit, weight learning,",
             "refit on all data, rating model) in a fresh process; peak RSS is that process's maximum resident memory.",
             "Serving: another fresh process loads the version (catalog, model arrays memory-mapped, the serving",
             "catalog with the understanding index) and answers 300 seeded top-10 requests with evidence (half known",
             "users, half three liked items and a request text); serve RSS is its resident memory after the requests",
             "(private: the part not backed by the memory-mapped model files, which every web process on the machine",
             "shares through the page cache, so each further process adds about its private part),",
             "latency is per request after the first 10 (p95 apart for requests without and with text, which embed",
             "the text with the sentence model; CPU ms: the serving process's CPU time per request, p95).",
             f"Machine: {os.cpu_count()} cores shared with other work; the 1-minute load average before and after each",
             "run is shown: wall time on a loaded machine is slower than on an idle one; CPU time (all threads of the",
             "process) moves less with the load.",
             "Targets on 2 cores: ml-latest-small trains in 90 s; 17,632 items / 75k events in 120 s and 3 GB; 200k",
             "items / 4M events in 30 min and 8 GB; one serving process within 1.5 GB; top-10 p95 within 30 ms.", "",
             "| dataset | code | items | events | components | wall s | CPU s | peak RSS MiB | artifact MiB "
             "| serve RSS MiB | top-10 p50 / p95 ms | p95 CPU ms | load |",
             "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for label, rows in (("before", baseline), ("after", runs), ("after", sweep)):
        for r in rows:
            kind = "dense" if (r.get("components") or {}).get("ease", "ease") == "ease" else "scalable"
            lines.append(f"| {r['dataset']}{_store_note(r)} | {r.get('code', label)} | {r['items']:,} | {r['events']:,} | {kind} | "
                         f"{r['train_s']:.1f} | {r.get('cpu_s', float('nan')):.1f} | "
                         f"{r['peak_rss_mib']:.0f} | {r['artifact_mib']:.1f}{_serving_cells(r)}"
                         f"{r['load_before']:.1f} / {r['load_after']:.1f} |")
    lines.append("")
    for label, rows in (("before", baseline), ("after", runs + sweep)):
        for r in rows:
            val = r["validation"]
            objective = val.get("objective", "NDCG@10").lower()
            timings = r.get("timings", {})
            parts = ", ".join(f"{k[:-2]} {v:.0f} s" for k, v in timings.items() if k.endswith("_s"))
            lines.append(f"- {r['dataset']} ({label}): validation {objective} {val.get(objective, float('nan')):.4f}, "
                         f"EASE λ {r['tuned'].get('ease_l2')}, weights "
                         + ", ".join(f"{k} {v:g}" for k, v in sorted(r["weights"].items()))
                         + (f"; seconds: {parts}" if parts else "")
                         + (f"; rating RMSE {r['rating_holdout']['rmse']:.4f} on the held-out slice"
                            if r.get("rating_holdout") else "")
                         + (f"; content search per query: exact {r['exact_query_cpu_ms']:.1f} CPU ms, ANN index "
                            f"{r['ann_query_cpu_ms']:.1f} CPU ms, recall@10 {r['ann_recall@10']:.3f}"
                            + (f" (index built in {r['ann_build_cpu_s']:.0f} CPU s)" if r.get("ann_build_cpu_s") else
                               " (the version's own index)")
                            if "ann_recall@10" in r else "")
                         + (f"; the serving process loaded the version in {r['load_s']:.1f} s and built its serving "
                            f"catalog (understanding index) in {r['serving_catalog_s']:.1f} s" if "load_s" in r else "")
                         + (f"; serving failed: {r['serving_error'][-200:]}" if r.get("serving_error") else ""))
    synthetic = synthetic_rows(runs + sweep)
    if len(synthetic) >= 3:
        sizes = [r["items"] for r in synthetic]
        listed = ", ".join(f"{s:,}" for s in sizes)
        fits = [f"{label} ~ items^{growth_exponent(sizes, [r[key] for r in synthetic]):.2f}"
                for label, key, _ in GROWTH if all(key in r for r in synthetic)]
        lines += ["", f"Growth over the synthetic catalogs ({listed} items), least-squares fits on logs: "
                  + ", ".join(fits) + "."]
    if len(synthetic) >= 2 and synthetic[-1]["items"] < TARGET_ITEMS:
        sizes = [r["items"] for r in synthetic]
        guesses = []
        for label, key, unit in GROWTH:
            if all(key in r for r in synthetic):
                b = growth_exponent(sizes, [r[key] for r in synthetic])
                guesses.append(f"{label} ≈ {synthetic[-1][key] * (TARGET_ITEMS / sizes[-1]) ** b:,.0f} {unit}")
        lines += ["", (f"Not measured: {TARGET_ITEMS:,} items, extrapolated from the largest run with the fitted "
                       f"exponents ({len(sizes)} sizes, so only a rough guide): " + ", ".join(guesses) + ".")]
    if plot:
        lines += ["", f"![Training and serving cost against catalog size]({plot})"]
    if quality_rows:
        lines += ["", ("Top-10 on ml-latest-small, per-user random 80/20 split (seed 0; a test split, the hybrid's "
                       "weights and EASE's λ learned on a validation carved from its train part):"), "",
                  "| model | P@10 | R@10 | NDCG@10 | fit s |", "|---|---:|---:|---:|---:|"]
        for r in quality_rows:
            lines.append(f"| {r['model']} | {r['P@10']:.4f} | {r['R@10']:.4f} | {r['NDCG@10']:.4f} | {r['fit_s']:.1f} |")
    return "\n".join(lines)


def encoder_markdown(rows: list[dict], command: str) -> str:
    """Return the `scale-encoder` section: what training the text encoder adds to a full training."""
    lines = ["### Training with the jointly trained text encoder", "",
             f"Command: `{command}`. As above, one full `train_bundle` in a fresh process, now with recorded "
             "dialogues, so the text encoder is fine-tuned too (the product's defaults: its 900-second budget, "
             "`recommender/engine/encoder_training.py`); wall and CPU time and peak RSS are the whole training's. "
             "ml-latest-small learns from the ReDial training dialogues linked to it; the synthetic catalog, which "
             "has none, from as many made-up suggestions (a person's two items named, a third of theirs suggested).",
             "", "| dataset | items | events | suggestion turns (dialogue examples) | wall s | CPU s | peak RSS MiB | encoder s "
             "(preparing) | encoder steps (planned) | serve RSS MiB | top-10 p50 / p95 ms | p95 CPU ms | load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        enc = r.get("encoder") or {}
        trained = (f"{r['timings'].get('encoder_s', float('nan')):.0f} ({enc.get('prepare_seconds', 0):.0f}) | "
                   f"{enc.get('steps', 0):,} ({enc.get('planned_steps', 0):,})" if "steps" in enc
                   else f"– | {enc.get('skipped', 'not trained')}")
        lines.append(f"| {r['dataset'].removesuffix(WITH_DIALOGUES)} | {r['items']:,} | {r['events']:,} | "
                     f"{r.get('dialogue_examples', 0):,} ({enc.get('dialogue_examples', 0):,}) | {r['train_s']:.1f} | {r.get('cpu_s', float('nan')):.1f} | "
                     f"{r['peak_rss_mib']:.0f} | {trained}{_serving_cells(r)}"
                     f"{r['load_before']:.1f} / {r['load_after']:.1f} |")
    return "\n".join(lines)


TARGET_ITEMS = 200_000  # the largest catalog the scale targets name

# (label, key, unit) of the figures whose growth with catalog size is fitted and plotted.
GROWTH = [("training wall time", "train_s", "s"), ("training CPU time", "cpu_s", "s"),
          ("training peak RSS", "peak_rss_mib", "MiB"), ("serving RSS", "serving_rss_mib", "MiB"),
          ("top-10 p95 latency", "p95_ms", "ms")]


def synthetic_rows(rows: list[dict]) -> list[dict]:
    """Return the synthetic-catalog rows with the default events per item, one per size (the latest), by size.

    Catalogs named with their own event count (synthetic:ITEMS:EVENTS) grow differently and are left out.
    """
    by_size = {r["items"]: r for r in rows if r["dataset"].startswith("synthetic") and r["dataset"].count(":") == 1}
    return [by_size[n] for n in sorted(by_size)]


def growth_svg(rows: list[dict]) -> str:
    """Return an SVG of each GROWTH figure against catalog size (log-log, one panel per figure)."""
    panels = [(label, key, unit) for label, key, unit in GROWTH if all(key in r for r in rows)]
    width, height, pad = 300, 220, 46
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(panels)}" height="{height}" '
           'font-family="sans-serif" font-size="10">', '<rect width="100%" height="100%" fill="white"/>']
    sizes = np.log10([r["items"] for r in rows])
    for p, (label, key, unit) in enumerate(panels):
        values = np.log10([max(r[key], 1e-3) for r in rows])
        x0 = p * width

        def place(lx: float, ly: float, values: np.ndarray = values, x0: float = x0) -> tuple[float, float]:
            span_x = (sizes.max() - sizes.min()) or 1.0
            span_y = (values.max() - values.min()) or 1.0
            return (x0 + pad + (lx - sizes.min()) / span_x * (width - 1.6 * pad),
                    height - pad - (ly - values.min()) / span_y * (height - 2 * pad))

        b = growth_exponent(list(10 ** sizes), list(10 ** values)) if len(rows) >= 2 else float("nan")
        out.append(f'<text x="{x0 + width / 2}" y="16" text-anchor="middle" font-weight="bold">'
                   f'{label} ({unit}), ~items^{b:.2f}</text>')
        out.append(f'<line x1="{x0 + pad}" y1="{height - pad}" x2="{x0 + width - 0.6 * pad}" y2="{height - pad}" '
                   'stroke="black"/>')
        out.append(f'<line x1="{x0 + pad}" y1="{height - pad}" x2="{x0 + pad}" y2="{pad}" stroke="black"/>')
        points = [place(lx, ly) for lx, ly in zip(sizes, values)]
        out.append('<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        for (x, y), r in zip(points, rows):
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
            out.append(f'<text x="{x:.1f}" y="{y - 6:.1f}" text-anchor="middle">{r[key]:.0f}</text>')
            out.append(f'<text x="{x:.1f}" y="{height - pad + 14}" text-anchor="middle">{r["items"] / 1000:g}k</text>')
        out.append(f'<text x="{x0 + width / 2}" y="{height - 8}" text-anchor="middle">catalog items (log scale)</text>')
    out.append("</svg>")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--config", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--datasets", default=f"ml-100k,ml-latest-small,synthetic:{MUSIC_SIZE[0]}:{MUSIC_SIZE[1]}")
    parser.add_argument("--encoder-datasets", default="",
                        help="datasets to train with dialogues and the text encoder, e.g. ml-latest-small")
    parser.add_argument("--sizes", default="", help="synthetic catalog sizes (items, ~20 events each), e.g. 1000,10000")
    parser.add_argument("--sweep-config", default='{"dense_item_limit": 0}',
                        help="training config (JSON) for the --sizes runs; by default every size uses the scalable components")
    parser.add_argument("--baseline", default="", help="git revision to also train ML-100K with (before/after)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--write", action="store_true", help="rewrite the scale section of docs/benchmarks.md")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--previous", default="",
                        help="comma-separated --json files of earlier runs whose rows join this report")
    parser.add_argument("--embedding-cache", default="",
                        help="keep item embeddings here across the runs (default: each training embeds afresh)")
    parser.add_argument("--no-serve", action="store_true", help="skip the serving process after each training")
    parser.add_argument("--note", default="", help="a closing paragraph for the report (what the rows were run with)")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "scale-growth.svg",
                        help="with --write: the growth plot of the synthetic rows (SVG)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(train_once(args.child, args.out, json.loads(args.config) or None), default=float))
        return
    if args.serve:
        print(json.dumps(serve_once(args.serve), default=float))
        return

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def config_with_cache(config: dict) -> dict:
        return dict(config, embedding_cache=args.embedding_cache or None)

    def train(name: str, config: dict, code_root: Path = ROOT) -> dict:
        result = run_child(name, code_root, config_with_cache(config), serve=not args.no_serve)
        timings = {k: round(v, 1) for k, v in result["timings"].items()}
        serving = {k: round(result[k], 1) for k in ("serving_rss_mib", "p50_ms", "p95_ms") if k in result}
        log(f"  {result['train_s']:.1f} s, {result['peak_rss_mib']:.0f} MiB, timings {timings}, serving {serving}")
        return result

    command = "CHATREC_DATA_DIR=/path/to/data .venv/bin/python -m benchmarks.scale " + " ".join(
        a for a in (argv if argv is not None else sys.argv[1:]) if a not in ("--write",)).strip()
    baseline: list[dict] = []
    runs: list[dict] = []
    sweep: list[dict] = []
    with_encoder: list[dict] = []

    def save(quality_rows: list[dict]) -> None:  # after every run, so a later failure loses nothing measured
        if args.json:
            args.json.write_text(json.dumps({"runs": runs, "baseline": baseline, "sweep": sweep,
                                             "with_encoder": with_encoder, "quality": quality_rows,
                                             "command": command}, default=float, indent=1))

    if args.encoder_datasets:
        for name in args.encoder_datasets.split(","):
            log(f"{name} with dialogues and the text encoder ...")
            with_encoder.append(train(name + WITH_DIALOGUES, {}))
            save([])
        body = encoder_markdown(with_encoder, command)
        print(body)
        if args.write:
            from benchmarks.common import write_section

            write_section("scale-encoder", body)
        return

    if args.baseline:
        tree = checkout(args.baseline)
        try:
            log(f"ml-100k with {args.baseline} ...")
            baseline.append(train("ml-100k", {}, tree))
            save([])
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    for name in [d for d in args.datasets.split(",") if d]:
        log(f"{name} ...")
        runs.append(train(name, {}))
        save([])
    for size in [int(s) for s in args.sizes.split(",") if s]:
        log(f"synthetic:{size} ...")
        sweep.append(train(f"synthetic:{size}", json.loads(args.sweep_config)))
        save([])
    quality_rows = [] if args.no_quality else quality(embedding_cache=args.embedding_cache)
    save(quality_rows)
    commands = [] if not (runs or baseline or sweep or quality_rows) else [command]
    for file in [f for f in args.previous.split(",") if f]:
        earlier = json.loads(Path(file).read_text())
        commands.append(earlier.get("command", file))
        runs, baseline, sweep = earlier["runs"] + runs, earlier["baseline"] + baseline, earlier["sweep"] + sweep
        quality_rows = quality_rows or earlier["quality"]
    synthetic = synthetic_rows(runs + sweep)
    plot = args.plot if args.write and len(synthetic) >= 2 else None
    body = markdown(runs, baseline, sweep, quality_rows, "`, `".join(commands),
                    plot=os.path.relpath(plot, ROOT / "docs") if plot else None)
    if args.note:
        body += "\n\n" + args.note
    print(body)
    if args.write:
        from benchmarks.common import write_section

        write_section("scale", body)
        if plot:
            plot.write_text(growth_svg(synthetic))


if __name__ == "__main__":
    main()
