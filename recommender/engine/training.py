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
import scipy.sparse as sp

from .data import InteractionData, Split
from .embedding import SentenceEmbedder, StoredEmbeddings, TextRetrieval, dialogue_text, make_embedder
from .encoder_training import EncoderData, co_liked_pairs, encoder_config, phrase_pairs, trained_or_reused
from .metrics import evaluate_topk
from .rankers import make_ranker
from .rankers.comention import fit_and_save as fit_comention
from .rankers.content import ContentRanker
from .rankers.hybrid import HybridRanker
from .rankers.mf import use_device
from .rankers.scalable import HeadEASERanker, head_items
from .rating import RatingModel
from .understanding.learned import fit_all as fit_learned_understanding

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
        # Requests in words are matched against item texts without their names in domains whose own values are
        # found better so (request_text.choose_forms: films' titles are names, a shop's describe), and with each
        # item's hubness taken off its match where that finds them better (`damping`).
        "content": {"embedder": {"kind": "sentence"}, "request_text": "auto", "damping": "auto"},
    },
    # Catalogs with more items than this train the `scalable` components in place of the dense ones: the
    # dense item-item models cost items^2 memory and EASE items^3 time (ml-latest-small's 9.7k items took
    # minutes per inverse); below it the dense models are kept exactly as they are.
    "dense_item_limit": 5000,
    # Per role (a key of `components`), the ranker and parameters used above dense_item_limit.
    "scalable": {
        "ease": {"ranker": "ease_head", "l2": 300.0, "head": 2000, "k": 200},
        "ease_liked": {"ranker": "ease_liked_head", "l2": 200.0, "head": 2000, "k": 200},
        "rp3beta": {"ranker": "rp3beta_sparse", "alpha": 1.0, "beta": 0.5, "k": 300},
        "itemknn": {"ranker": "itemknn_sparse", "k": 100, "shrink": 10.0},
        "mf": {"ranker": "als", "factors": 64, "iterations": 15, "regularization": 0.05},
    },
    # Rating-model settings merged over `rating` above dense_item_limit: its item-kNN member is items x items,
    # and the parts fitted for the blend are kept rather than refitted on every rating (half the time).
    "scalable_rating": {"models": ["als", "uknn", "svdpp", "autorec"], "refit": False},
    "tune": {"ease_l2": [150.0, 300.0, 500.0, 800.0]},
    # The fused weights are learned on at most this many validation users x catalog items of scores per
    # component (a seeded sample of users beyond it): ML-100K and ml-latest-small use every user.
    "validation_score_cells": 20_000_000,
    # Learn the fused weights on the validation users read two ways: their whole history, and only this many of
    # their liked items (a conversation's named favourites); 0 reads the history only. Off: with 3 on
    # ml-latest-small, named favourites fell from 1.15x to 1.13x EASE and ReDial recall stayed where it was.
    "named_validation": 0,
    "query_weight": 1.0,
    "rating": {},
    # Item text embeddings kept by text hash across trainings (embedding.StoredEmbeddings): True keeps them in
    # `embedding-cache` beside the version folders, a path keeps them there, None embeds every text afresh.
    "embedding_cache": True,
    # Catalogs with more items than this embed their texts in bfloat16 where the CPU computes it natively
    # (precision "auto": ~1.8x faster, vectors at cosine 0.99998 to float32), the size where the content
    # search turns approximate anyway (ann.ANN_MIN_ITEMS). Below it float32: on ml-latest-small the small
    # differences moved the learned weights and test NDCG@10 from 0.3712 to 0.3662.
    "fast_embedding_min_items": 20_000,
    "tqdm": False,  # per-epoch progress bars on the console (the progress callback works either way)
    "threads": None,  # torch threads while training; None: the cores the machine's load leaves free
    # The text encoder trained jointly on recorded dialogues and the catalog's behaviour (encoder_training;
    # its ENCODER_DEFAULTS fill what is not given here). None: the packaged encoder serves, untrained.
    "encoder": {},
    # Store the dialogue-retrieval vectors with the packaged encoder when no encoder was trained (comparisons).
    "retrieval_without_training": False,
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


def ease_validation_curve(X: sp.csr_matrix, seen: sp.csr_matrix, test_items: dict[int, np.ndarray],
                          grid: list[float], items: np.ndarray | None = None,
                          dtype: type = np.float64) -> dict[float, float]:
    """Return EASE's validation NDCG@10 for every l2 in grid from one eigendecomposition of the Gram matrix.

    With G = V diag(s) V^T, P = (G + l2 I)^-1 = V diag(1/(s + l2)) V^T, and EASE's scores are
    X B = X - (X P) diag(1/diag P): per l2 only the validation users' rows are computed (users x items^2),
    never another items^3 inverse. `items` restricts EASE to those columns (the head); others score 0.
    """
    n = X.shape[1]
    cols = np.arange(n) if items is None else np.asarray(items)
    Xh = sp.csr_matrix(X[:, cols], dtype=dtype)
    s, V = np.linalg.eigh((Xh.T @ Xh).toarray().astype(dtype))
    V2 = V * V
    users = np.array(sorted(test_items), dtype=np.int64)
    XV = np.asarray(Xh[users] @ V)
    results = {}
    for l2 in grid:
        inv: np.ndarray = (1.0 / (s + float(l2))).astype(dtype)
        diag = V2 @ inv

        def scores(chunk: np.ndarray, inv: np.ndarray = inv, diag: np.ndarray = diag) -> np.ndarray:
            pos = np.searchsorted(users, chunk)
            head = Xh[chunk].toarray() - ((XV[pos] * inv) @ V.T) / diag
            out = np.zeros((len(chunk), n), dtype=dtype)  # float32 for the head: half of users x catalog
            out[:, cols] = head
            return out

        results[float(l2)] = evaluate_topk(scores, seen, test_items, ks=(10,))["NDCG@10"]
    return results


def tune_ease(train: InteractionData, split: Split, grid: list[float], head: int | None = None,
              max_users: int | None = None, seed: int = 0) -> tuple[float, dict[float, float]]:
    """Return the EASE l2 with the best NDCG@10 on split's held-out items, and every tried value's NDCG.

    head: tune EASE over only the `head` most-interacted items (as HeadEASERanker fits it), in float32.
    max_users: score at most this many held-out users (a sample drawn with seed).
    """
    from .catalog import Catalog

    catalog = Catalog.from_data(train)
    X = catalog.interactions
    items = None if head is None else head_items(X, head)
    test_items = split.test_items
    if max_users is not None and len(test_items) > max_users:
        users = np.random.default_rng(seed).choice(np.array(sorted(test_items)), size=int(max_users), replace=False)
        test_items = {int(u): test_items[int(u)] for u in users}
    results = ease_validation_curve(X, catalog.train, test_items, grid, items,
                                    np.float64 if head is None else np.float32)
    return max(results, key=lambda l2: results[l2]), results


def uses_scalable_components(n_items: int, config: dict[str, Any]) -> bool:
    """Return whether a catalog of n_items trains the scalable components (more than dense_item_limit items)."""
    limit = config.get("dense_item_limit")
    return limit is not None and n_items > int(limit)


def component_specs(config: dict[str, Any], n_items: int | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
    """Return {role: (ranker name, params)} for the configured components at this catalog size.

    A component's params may name its ranker ("ranker"), else the role is the ranker's name. Above
    dense_item_limit, every role listed under `scalable` takes that entry instead.
    """
    scalable = n_items is not None and uses_scalable_components(n_items, config)
    replacements = config.get("scalable") or {}
    specs = {}
    for role, params in config["components"].items():
        params = dict(replacements[role] if scalable and role in replacements else params)
        specs[role] = (params.pop("ranker", role), params)
    content = specs.get("content")
    fast_from = config.get("fast_embedding_min_items")
    if content and fast_from is not None and n_items is not None and n_items > int(fast_from):
        embedder = dict(content[1].get("embedder") or {"kind": "sentence"})
        if embedder.get("kind", "sentence") == "sentence":
            embedder.setdefault("precision", "auto")
            content[1]["embedder"] = embedder
    return specs


def rating_config(cfg: dict[str, Any], n_users: int, n_items: int) -> dict[str, Any]:
    """Return the rating model's settings at this size: `scalable_rating` over `rating` above dense_item_limit
    items, and without the user-kNN member (a users x users matrix) above dense_item_limit users."""
    out = dict(cfg["rating"])
    if uses_scalable_components(n_items, cfg):
        out.update(cfg.get("scalable_rating") or {})
    if uses_scalable_components(n_users, cfg):
        models = list(out.get("models") or RatingModel().cfg["models"])
        out["models"] = [m for m in models if m != "uknn"]
    return out


def validation_user_limit(n_items: int, config: dict[str, Any]) -> int | None:
    """Return how many validation users the fused weights are learned on (None: all of them)."""
    cells = config.get("validation_score_cells")
    return None if not cells else max(200, int(cells) // max(n_items, 1))


def build_hybrid(config: dict[str, Any], embedder=None, n_items: int | None = None) -> HybridRanker:
    """Return an unfitted hybrid with the configured components (an embedder object may be injected).

    n_items (the catalog's size) selects the scalable components above config["dense_item_limit"].
    """
    components = {}
    for role, (name, params) in component_specs(config, n_items).items():
        if name == "content" and embedder is not None:
            params.pop("embedder", None)
            params["embedder_obj"] = embedder
            if params.get("request_embedder") and isinstance(embedder, StoredEmbeddings):  # kept beside the items'
                params["request_embedder_obj"] = StoredEmbeddings(make_embedder(params.pop("request_embedder")),
                                                                  embedder.file.parent)
        components[role] = make_ranker(name, **params)
    return HybridRanker(query_weight=float(config.get("query_weight", 1.0))).with_components(components)


def embedding_store(cfg: dict[str, Any], out_dir: Path, embedder=None, n_items: int | None = None):
    """Return the content model's embedder wrapped in the configured on-disk store (None without content)."""
    setting = cfg.get("embedding_cache")
    content = component_specs(cfg, n_items).get("content")
    if not setting or content is None:
        return embedder
    directory = Path(out_dir).parent / "embedding-cache" if setting is True else Path(setting)
    return StoredEmbeddings(embedder or make_embedder(content[1].get("embedder")), directory)


def busy_cores(window_s: float = 0.5) -> float:
    """Return how many cores other work keeps busy now (CPU time over a short window; Linux /proc/stat).

    The load average would answer too, but it trails by a minute: right after another job ends it still
    counts that job, and training would start on fewer threads than the machine has free.
    """
    def sample() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    cores = os.cpu_count() or 1
    try:
        total0, idle0 = sample()
        time.sleep(window_s)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):  # not Linux: fall back to the load average
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0
    elapsed = max(total1 - total0, 1)
    return cores * (1.0 - (idle1 - idle0) / elapsed)


def training_threads(requested: int | None, busy: float | None = None) -> int:
    """Return the torch thread count to train with: requested, else the cores not already busy (at least 1)."""
    if requested:
        return max(1, int(requested))
    cores = os.cpu_count() or 1
    busy = busy_cores() if busy is None else busy
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


@contextlib.contextmanager
def timed_fits(components: dict[str, Any], timings: dict[str, float]):
    """Within the block, add each component's fitting seconds (validation fit and refit) to timings[fit_<role>_s]."""
    def wrap(role: str, fit: Callable) -> Callable:
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fit(*args, **kwargs)
            finally:
                key = f"fit_{role}_s"
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0
        return timed

    for role, ranker in components.items():
        ranker.fit = wrap(role, ranker.fit)
    try:
        yield
    finally:
        for ranker in components.values():
            del ranker.fit  # the class's method again


def _has_ratings(data: InteractionData) -> bool:
    return data.n_interactions > 0 and float(np.ptp(data.values)) > 0


def train_bundle(data: InteractionData, out_dir: Path, *, config: dict | None = None,
                 progress: Callable[[str, float], None] | None = None, embedder=None,
                 dialogue_pairs: list | None = None, dialogues: list | None = None,
                 encoder_dialogues: list | None = None) -> dict:
    """Fit the hybrid and the rating model, write out_dir (manifest.json, arrays), and return the manifest.

    dialogue_pairs ((earlier items, items suggested next), from recorded dialogues) add a co-mention model;
    dialogues (recorded `Dialogue`s with the seekers' answers) add the learned reading of replies to a suggestion;
    encoder_dialogues ((the messages before a suggestion, the item ids suggested)) train the text encoder with the
    catalog's co-liked pairs when there are enough of them (encoder_training.ENCODER_DEFAULTS).
    """
    cfg = merged_config(config)
    threads = training_threads(cfg.get("threads"))
    inputs = _Inputs(dialogue_pairs, dialogues, encoder_dialogues, embedder)
    with torch_threads(threads), use_device(cfg.get("device")):
        return _train(data, Path(out_dir), cfg, progress, threads, inputs)


class _Inputs:
    """What a training reads besides the interactions."""

    def __init__(self, dialogue_pairs: list | None, dialogues: list | None, encoder_dialogues: list | None,
                 embedder) -> None:
        self.dialogue_pairs = dialogue_pairs
        self.dialogues = dialogues
        self.encoder_dialogues = encoder_dialogues
        self.embedder = embedder


def _train(data: InteractionData, out_dir: Path, cfg: dict[str, Any],
           progress: Callable[[str, float], None] | None, threads: int, inputs: _Inputs) -> dict:
    report = progress or (lambda stage, fraction: None)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    timings: dict[str, float] = {"threads": threads}
    tuned: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    started = time.perf_counter()
    encoder = fit_text_encoder(data, out_dir, cfg, inputs, report, timings, metrics)
    store = _embedded_item_texts(data, out_dir, cfg, inputs.embedder, report, timings)
    hybrid = _fit_hybrid(data, cfg, store, report, timings, tuned)
    timings["hybrid_s"] = time.perf_counter() - started
    metrics.update({"validation": hybrid.validation, "weights": dict(hybrid.weights)})
    hybrid.save(tmp / "hybrid")
    _fit_dialogue_models(hybrid, tmp, inputs, report, timings, metrics)
    if encoder is not None or cfg.get("retrieval_without_training"):
        t0 = time.perf_counter()
        save_retrieval(hybrid, cfg, out_dir, encoder, tmp / "retrieval")
        timings["retrieval_vectors_s"] = time.perf_counter() - t0
    _fit_rating(data, cfg, tmp, report, timings, metrics)
    manifest = {
        "format": FORMAT_VERSION,
        "version": str(cfg.get("version") or out_dir.name),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "n_users": data.n_users,
        "n_items": data.n_items,
        "n_interactions": data.n_interactions,
        "item_ids": list(data.item_ids),
        "components": {role: ranker.name for role, ranker in hybrid.components.items()},
        "config": cfg,
        "tuned": tuned,
        "metrics": metrics,
        "timings": timings,
        "encoder": str(encoder) if encoder is not None else None,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, default=float))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    report("done", 1.0)
    return manifest


def encoder_store(cfg: dict[str, Any], out_dir: Path) -> Path:
    """Return the folder trained encoders are kept in (by fingerprint): "encoders" beside the version folders."""
    setting = (cfg.get("encoder") or {}).get("store")
    return Path(setting) if setting else Path(out_dir).parent / "encoders"


def encoder_data(data: InteractionData, encoder_dialogues: list | None, cfg: dict[str, Any]) -> EncoderData:
    """Return what the encoder learns from: dialogue examples whose suggested item is in the catalog, co-liked
    item pairs (as many as encoder settings draw per dialogue example) and phrase pairs from the items' own
    descriptive values."""
    enc = encoder_config(cfg.get("encoder"))
    texts = {r.item_id: r.text() for r in data.items.values()}
    examples = [(dialogue_text(messages), item) for messages, suggested in encoder_dialogues or []
                for item in suggested if item in texts]
    n_pairs = min(int(enc["max_item_pairs"]), int(len(examples) * float(enc["item_pairs_per_dialogue_example"])))
    liked_value = float(enc["liked_value"]) if _has_ratings(data) else None
    pairs = co_liked_pairs(data.rows, data.cols, data.values, list(data.item_ids), n_pairs,
                           liked_value=liked_value, seed=int(enc["seed"]))
    phrases = phrase_pairs(data.items.values(), int(enc["max_phrase_pairs"]), min_items=int(enc["phrase_min_items"]),
                           max_share=float(enc["phrase_max_share"]), seed=int(enc["seed"]),
                           repeat=bool(enc["phrase_pairs_repeat"]))
    return EncoderData(item_texts=texts, dialogue_examples=examples, item_pairs=pairs, phrase_examples=phrases)


def fit_text_encoder(data: InteractionData, out_dir: Path, cfg: dict[str, Any], inputs: _Inputs,
                     report: Callable[[str, float], None], timings: dict[str, float],
                     metrics: dict[str, Any]) -> Path | None:
    """Train (or reuse) the text encoder when configured and enough dialogue examples exist; point the content
    model's sentence embedder at it. Returns the encoder's folder, or None when the packaged one serves."""
    if cfg.get("encoder") is None or not inputs.encoder_dialogues:
        return None
    t0 = time.perf_counter()
    content = cfg["components"].get("content")
    configured = dict((content or {}).get("embedder") or {})
    settings = {**cfg["encoder"], "device": cfg["encoder"].get("device") or cfg.get("device")}
    if not settings.get("base_model") and configured.get("kind", "sentence") == "sentence":
        settings["base_model"] = configured.get("model_path")  # a deployment's own model is the one fine-tuned
    folder, summary = trained_or_reused(encoder_data(data, inputs.encoder_dialogues, cfg), encoder_store(cfg, out_dir),
                                        settings, progress=lambda stage, f: report(stage, 0.05 * f))
    timings["encoder_s"] = time.perf_counter() - t0
    metrics["encoder"] = summary
    if folder is not None and content is not None and inputs.embedder is None:
        embedder = dict(content.get("embedder") or {"kind": "sentence"})
        if embedder.get("kind", "sentence") == "sentence":
            content["embedder"] = {**embedder, "model_path": str(folder)}
            # Requests in words stay with the encoder the trained one started from: fitted on dialogues that name
            # titles, the trained one finds fewer items by words alone (docs/benchmarks.md, "Where free words
            # are matched").
            content.setdefault("request_embedder", embedder)
    return folder


def save_retrieval(hybrid: HybridRanker, cfg: dict[str, Any], out_dir: Path, encoder: Path | None,
                   path: Path) -> TextRetrieval:
    """Store the dialogue-retrieval item vectors (catalog order) from the encoder that serves, and return them:
    the content model's own vectors when it embeds with that encoder."""
    embedder = SentenceEmbedder(model_path=encoder)
    content = hybrid.components.get("content")
    if isinstance(content, ContentRanker) and content.params.get("embedder") == embedder.config():
        E = content.E
    else:
        texts = [r.text() for r in hybrid.catalog.records]
        setting = cfg.get("embedding_cache")
        directory = Path(out_dir).parent / "embedding-cache" if setting is True else setting
        E = StoredEmbeddings(embedder, directory).encode(texts) if directory else embedder.encode(texts)
    retrieval = TextRetrieval(E, embedder)
    retrieval.save(path)
    return retrieval


def _embedded_item_texts(data: InteractionData, out_dir: Path, cfg: dict[str, Any], embedder,
                         report: Callable[[str, float], None], timings: dict[str, float]):
    """Return the content embedder wrapped in its store, with every item text embedded (progress shown)."""
    store = embedding_store(cfg, out_dir, embedder, n_items=data.n_items)
    if isinstance(store, StoredEmbeddings):  # the longest step of a cold run on a large catalog: show its progress
        t0 = time.perf_counter()
        store.encode([r.text() for r in data.items.values()],
                     progress=lambda done, total: report(f"embedding item texts ({done}/{total})", 0.05 * done / total))
        timings["embed_texts_s"] = time.perf_counter() - t0
        timings["texts_embedded"] = store.last_embedded
    return store


def _fit_hybrid(data: InteractionData, cfg: dict[str, Any], store, report: Callable[[str, float], None],
                timings: dict[str, float], tuned: dict[str, Any]) -> HybridRanker:
    """Fit the hybrid with its weights learned on validation (EASE's l2 tuned on the same split)."""
    hybrid = build_hybrid(cfg, store, n_items=data.n_items)
    for ranker in hybrid.components.values():
        ranker.progress = bool(cfg.get("tqdm"))
    grid = (cfg.get("tune") or {}).get("ease_l2") or []

    def tune(train: InteractionData, split: Split) -> None:
        if grid and "ease" in hybrid.components:
            report("tuning EASE l2", 0.05)
            t0 = time.perf_counter()
            ease = hybrid.components["ease"]
            head = int(ease.params["head"]) if isinstance(ease, HeadEASERanker) else None
            best, results = tune_ease(train, split, grid, head=head, seed=int(cfg["seed"]),
                                      max_users=validation_user_limit(data.n_items, cfg))
            timings["tune_ease_s"] = time.perf_counter() - t0
            hybrid.components["ease"].params["l2"] = best
            tuned["ease_l2"] = best
            tuned["ease_l2_ndcg@10"] = {str(k): v for k, v in results.items()}

    report("fitting hybrid", 0.0)
    with timed_fits(hybrid.components, timings):
        hybrid.fit_with_validation(data, protocol=cfg["protocol"], seed=int(cfg["seed"]),
                                   fraction=float(cfg["validation_fraction"]),
                                   progress=lambda s, f: report(s, 0.1 + 0.6 * f), tune=tune,
                                   max_users=validation_user_limit(data.n_items, cfg),
                                   named=int(cfg.get("named_validation") or 0))
    return hybrid


def _fit_dialogue_models(hybrid: HybridRanker, tmp: Path, inputs: _Inputs, report: Callable[[str, float], None],
                         timings: dict[str, float], metrics: dict[str, Any]) -> None:
    """Fit the co-mention model and the learned reading of replies from recorded dialogues, when given."""
    if inputs.dialogue_pairs:
        report("fitting co-mention model", 0.72)
        metrics["comention"] = fit_comention(inputs.dialogue_pairs, hybrid.catalog, tmp / "comention")
    if inputs.dialogues:
        report("fitting the learned reading of replies", 0.74)
        t0 = time.perf_counter()
        # The serving path reads replies to a suggestion with it. Intent and opinions stay with the rules: the
        # learned intent model is worse on held-out turns, and the learned opinions, which trade likes for
        # dislikes, cost recall on the ReDial development split (docs/benchmarks.md).
        metrics["learned_understanding"] = fit_learned_understanding(inputs.dialogues, tmp, names=("reaction",))
        timings["learned_understanding_s"] = time.perf_counter() - t0


def _fit_rating(data: InteractionData, cfg: dict[str, Any], tmp: Path, report: Callable[[str, float], None],
                timings: dict[str, float], metrics: dict[str, Any]) -> None:
    """Fit and save the rating model when configured and the data has ratings."""
    if cfg.get("rating") is not None and _has_ratings(data):
        report("fitting rating model", 0.75)
        t0 = time.perf_counter()
        rating = RatingModel(**rating_config(cfg, data.n_users, data.n_items)).fit(
            data.rows, data.cols, data.values, data.n_users, data.n_items, progress=bool(cfg.get("tqdm")))
        timings["rating_s"] = time.perf_counter() - t0
        metrics["rating_holdout"] = rating.holdout_metrics
        rating.save(tmp / "rating")
