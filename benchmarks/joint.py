"""Joint training of the text encoder: the packaged MiniLM (frozen) against the one trained jointly on the ReDial
training dialogues and the catalog's co-liked pairs, in the same run, on the same splits.

Per catalog (ml-latest-small, ML-100K) 10 % of the items with interactions are held out of all training (the
encoder never sees their texts, pairs or suggestions; their interactions are never in the profiles):
- *cold start*: each person's profile (their training interactions on the other items, 80/20 per-person split,
  seed 0) against the item texts; NDCG@10 of the held-out items among the held-out items, and NDCG@10 over
  the whole catalog (the 20 % test interactions and the held-out items' interactions relevant);
- *text-only requests* (ml-latest-small): each user tag carried by at least 5 films is the request; the films
  carrying it are relevant, with that tag removed from their texts; R@10 over the catalog, the items matched by
  their whole texts and by their texts without titles;
- *ReDial development split* (ml-latest-small; conversationId % 5 == 0, never trained on): the product's turn
  pipeline (`benchmarks.conversations.pipeline_recommender`, what `POST /api/v1/recommend` runs less its
  database reads) as served, then with the dialogue-retrieval part of the conversation mix from each encoder,
  at the weight chosen on the first turns of the conversationId % 10 == 1 training slice (held out of the
  encoder's training for that purpose); also the retrieval alone. Dedup and no-dedup recall.
Trained encoders are kept under var/bench-cache/joint (benchmarks.common.cache_dir) by the fingerprint of their
inputs and settings; a run with nothing changed reuses them (their training time and peak memory as measured
when they were trained).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import add_data_dir, cache_dir, data_root, write_section
from benchmarks.conversations import Setup, evaluate, every_linked_target, link_dialogues
from recommender.engine.data import InteractionData, load_ml100k, load_ml_latest, random_split
from recommender.engine.dialogues import suggestion_turns
from recommender.engine.embedding import SentenceEmbedder, StoredEmbeddings, TextRetrieval, dialogue_text
from recommender.engine.encoder_training import (
    ENCODER_DEFAULTS,
    EncoderData,
    encoder_config,
    phrase_pairs,
    text_without,
    trained_or_reused,
)
from recommender.engine.metrics import ndcg_at_k, recall_at_k, topk_indices
from recommender.engine.request_text import damped as request_damped
from recommender.engine.request_text import described, hubness, reference_values
from recommender.engine.training import encoder_data

SECTION = "joint-encoder"
COLD_SHARE = 0.10
TAG_MIN_ITEMS = 5
RETRIEVAL_GRID = (1.0, 3.0)
TUNING_TURNS = 100
# The benchmark trains with the product's own budget (seconds of optimisation), so its figures are what
# `manage.py train` serves: on ml-latest-small 600 s (938 steps) gave cold items 1.08x, 900 s (2,446) 1.41x.
BUDGET_S = ENCODER_DEFAULTS["budget_s"]


def is_tuning(conversation_id: str) -> bool:
    """The training-dialogue slice the retrieval weight is chosen on (held out of the encoder's training)."""
    try:
        return int(conversation_id) % 10 == 1
    except ValueError:
        return False


def cold_items(data: InteractionData, share: float = COLD_SHARE, seed: int = 0) -> set[str]:
    """Return a seeded share of the items that have interactions."""
    rated = np.unique(data.cols)
    chosen = np.random.default_rng(seed).choice(rated, size=int(round(share * len(rated))), replace=False)
    return {data.item_ids[i] for i in chosen}


def warm_data(data: InteractionData, cold: set[str]) -> InteractionData:
    """Return data without any interaction on the cold items (their records stay in the catalog)."""
    cold_idx = np.array(sorted(data.item_index[i] for i in cold), dtype=np.int64)
    return data.subset(~np.isin(data.cols, cold_idx))


def encoder_examples(setup: Setup, cold: set[str]) -> list[tuple[list[dict], list[str]]]:
    """Return the training dialogues' suggestion turns (tuning slice and cold items left out)."""
    out = []
    for dialogue in setup.train:
        if is_tuning(dialogue.conversation_id):
            continue
        for turn in suggestion_turns(dialogue, setup.links[dialogue.conversation_id]):
            warm = [i for i in turn.suggested if i not in cold]
            if warm:
                out.append((turn.messages, warm))
    return out


def _train_child(data: EncoderData, store: str, cfg: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    def progress(stage: str, fraction: float) -> None:
        print(f"\r  {stage} {fraction:.0%}   ", end="", file=sys.stderr, flush=True)

    from recommender.engine.training import torch_threads, training_threads

    with torch_threads(training_threads(None)):
        folder, summary = trained_or_reused(data, Path(store), cfg, progress)
    print(file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if folder is not None and not summary.get("reused"):
        summary["peak_rss_mib"] = round(peak, 1)
        (folder / "encoder_training.json").write_text(json.dumps(summary, indent=1))
    return (str(folder) if folder else None), summary


def train_encoder(data: EncoderData, cfg: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Train (or reuse) the encoder in a child process, so its peak memory is the training's own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        folder, summary = pool.apply(_train_child, (data, str(cache_dir("joint", "encoders")), cfg))
    if folder is None:
        raise SystemExit(f"encoder not trained: {summary}")
    return Path(folder), summary


def embed(texts: list[str], model_path: Path | None) -> np.ndarray:
    """Return the texts' vectors from the encoder at model_path (None: the packaged one), cached by text."""
    return StoredEmbeddings(SentenceEmbedder(model_path=model_path), cache_dir("joint", "embeddings")).encode(texts)


# ---------------------------------------------------------------- cold start


def cold_start(data: InteractionData, cold: set[str], E: np.ndarray) -> dict[str, float]:
    """Return NDCG@10 on the cold items (among them) and over the catalog, profiles from warm training items."""
    split = random_split(data, 0.2, seed=0)
    cold_idx = np.array(sorted(data.item_index[i] for i in cold), dtype=np.int64)
    is_cold = np.zeros(data.n_items, dtype=bool)
    is_cold[cold_idx] = True
    train = split.train
    keep = ~is_cold[train.cols]
    profiles: dict[int, list[int]] = {}
    for u, i in zip(train.rows[keep], train.cols[keep]):
        profiles.setdefault(int(u), []).append(int(i))
    cold_of: dict[int, set[int]] = {}
    for u, i in zip(data.rows[is_cold[data.cols]], data.cols[is_cold[data.cols]]):
        cold_of.setdefault(int(u), set()).add(int(i))
    sums = {"cold": [], "overall": []}
    for u, seen in profiles.items():
        relevant_cold = cold_of.get(u, set())
        relevant = set(split.test_items.get(u, np.zeros(0, dtype=np.int64)).tolist()) | relevant_cold
        if not relevant:
            continue
        profile = E[seen].mean(axis=0)
        scores = E @ profile
        if relevant_cold:
            order = cold_idx[np.argsort(-scores[cold_idx], kind="stable")][:10]
            sums["cold"].append(ndcg_at_k(order.tolist(), relevant_cold, 10))
        scores[seen] = -np.inf
        sums["overall"].append(ndcg_at_k(topk_indices(scores, 10).tolist(), relevant, 10))
    return {
        "cold_ndcg10": float(np.mean(sums["cold"])),
        "overall_ndcg10": float(np.mean(sums["overall"])),
        "cold_users": len(sums["cold"]),
        "users": len(sums["overall"]),
    }


# ---------------------------------------------------------------- text-only requests


def tag_cases(data: InteractionData, min_items: int = TAG_MIN_ITEMS) -> dict[str, list[str]]:
    """Return tag -> the items carrying it, for tags on at least min_items items."""
    carriers: dict[str, list[str]] = {}
    for item_id, record in data.items.items():
        for tag in record.attributes.get("tags") or []:
            carriers.setdefault(str(tag), []).append(item_id)
    return {t: items for t, items in sorted(carriers.items()) if len(items) >= min_items}


def text_requests(data: InteractionData, model_path: Path | None, *, titles: bool = True,
                  damped: bool = False) -> dict[str, float]:
    """Return mean R@10 of tag requests over the catalog, the tag removed from the carrying items' texts; with
    `titles` False the items are matched by their texts without titles (key `tag_r10_untitled`), and with
    `damped` too, each item's hubness against the catalog's other values taken off its match (`tag_r10_damped`:
    how a version matches words in ml-latest-small's films)."""
    form = (lambda r: r) if titles else described
    records = [form(data.items[i]) for i in data.item_ids]
    E = embed([r.text() for r in records], model_path)
    cases = tag_cases(data)
    hubs = np.zeros(len(records), dtype=np.float32)
    if damped:
        references = reference_values(data.items.values(), leave_out=cases)
        hubs = hubness(E, embed(references, model_path))
    changed = {(t, i): text_without(form(data.items[i]), "tags", t) for t, items in cases.items() for i in items}
    vectors = dict(zip(changed, embed(list(changed.values()), model_path)))
    queries = dict(zip(cases, embed(list(cases), model_path)))
    recalls = []
    for tag, items in cases.items():
        idx = [data.item_index[i] for i in items]
        scores = E @ queries[tag]
        scores[idx] = np.stack([vectors[(tag, i)] for i in items]) @ queries[tag]
        recalls.append(recall_at_k(topk_indices(request_damped(scores, hubs), 10).tolist(), set(idx), 10))
    key = "tag_r10_damped" if damped else "tag_r10" if titles else "tag_r10_untitled"
    return {key: float(np.mean(recalls)), "tags": len(cases)}


# ---------------------------------------------------------------- ReDial development split


def recall_rows(name: str, turns: list, rank, every_target: dict, progress: bool) -> dict[str, Any]:
    """Return dedup and no-dedup recall@k of rank(turn) over turns, with ms per turn."""
    result = evaluate(name, turns, rank, progress, every_target)
    return {"name": name, "dedup": result.recall, "raw": result.raw_recall, "ms": result.mean_ms}


def redial(
    setup: Setup,
    encoders: dict[str, tuple[np.ndarray, Path | None]],
    limit: int | None,
    progress: bool,
    tuning_turns: int = TUNING_TURNS,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """Return the dev-split rows (served pipeline, + retrieval per encoder, retrieval alone) and chosen weights."""
    from benchmarks.conversations import pipeline_bundle, pipeline_recommender

    bundle, catalog = pipeline_bundle(setup, cache_dir("joint", "redial-version"), progress=progress)
    order = np.array([setup.data.item_index[i] for i in bundle.catalog.item_ids], dtype=np.int64)
    served_mix = bundle.mix
    product = pipeline_recommender(bundle, catalog)
    every_target = every_linked_target(setup)
    dev = setup.turns(setup.dev)[:limit] if limit else setup.turns(setup.dev)
    tuning = setup.turns([d for d in setup.train if is_tuning(d.conversation_id)])[:tuning_turns]

    def pipeline(t):
        return product(t.messages, 50 + len(t.context))

    bundle.retrieval = None
    rows = [recall_rows("turn pipeline as served", dev, pipeline, every_target, progress)]
    chosen = {}
    for name, (E, path) in encoders.items():
        retrieval = TextRetrieval(E[order], SentenceEmbedder(model_path=path))
        rows.append(
            recall_rows(
                f"{name} encoder, retrieval alone",
                dev,
                lambda t, r=retrieval: retrieval_ranking(r, t, bundle.catalog.item_ids),
                every_target,
                progress,
            )
        )
        bundle.retrieval = retrieval
        tried = {}
        for weight in RETRIEVAL_GRID:
            bundle.mix = replace(served_mix, retrieval=weight)
            tried[weight] = recall_rows(f"tuning {name} {weight}", tuning, pipeline, every_target, False)["dedup"][10]
        chosen[name] = max(tried, key=lambda w: tried[w])
        if progress:
            print(f"  {name}: tuning-slice R@10 by retrieval weight {tried}", file=sys.stderr)
        bundle.mix = replace(served_mix, retrieval=chosen[name])
        rows.append(
            recall_rows(
                f"turn pipeline + {name} dialogue retrieval (weight {chosen[name]})",
                dev,
                pipeline,
                every_target,
                progress,
            )
        )
    bundle.mix, bundle.retrieval = served_mix, None
    return rows, chosen


def retrieval_ranking(retrieval: TextRetrieval, turn, item_ids: list[str], k: int = 50) -> list[str]:
    scores = retrieval.scores(dialogue_text(turn.messages))
    return [item_ids[i] for i in topk_indices(scores, k + len(turn.context))]


# ---------------------------------------------------------------- one catalog


def run_catalog(
    name: str,
    data: InteractionData,
    root: Path,
    *,
    redial_limit: int | None,
    with_redial: bool,
    progress: bool,
    budget: float | None = None,
    tuning_turns: int = TUNING_TURNS,
    encoder: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return every measure on one catalog, frozen and joint encoders side by side (`encoder`: settings over the
    product's defaults)."""
    setup = link_dialogues(data, root / "redial")
    cold = cold_items(data)
    warm = warm_data(data, cold)
    cfg = encoder_config({"budget_s": budget if budget is not None else BUDGET_S, **(encoder or {})})
    inputs = encoder_data(warm, encoder_examples(setup, cold), {"encoder": cfg})
    inputs.item_texts = {i: t for i, t in inputs.item_texts.items() if i not in cold}
    # Phrase pairs from the warm items only, never a tag the text-only requests ask for.
    inputs.phrase_examples = phrase_pairs(
        [r for i, r in data.items.items() if i not in cold],
        int(cfg["max_phrase_pairs"]),
        min_items=int(cfg["phrase_min_items"]),
        max_share=float(cfg["phrase_max_share"]),
        exclude=tag_cases(data),
        seed=int(cfg["seed"]),
        repeat=bool(cfg["phrase_pairs_repeat"]),
    )
    folder, summary = train_encoder(inputs, cfg)
    texts = [data.items[i].text() for i in data.item_ids]
    t0 = time.perf_counter()
    encoders = {"frozen": (embed(texts, None), None), "joint": (embed(texts, folder), folder)}
    result: dict[str, Any] = {
        "catalog": name,
        "items": data.n_items,
        "cold_items": len(cold),
        "dialogue_examples": len(inputs.dialogue_examples),
        "item_pairs": len(inputs.item_pairs),
        "training": summary,
        "embed_s": time.perf_counter() - t0,
        "measures": {},
    }
    for label, (E, path) in encoders.items():
        measures = cold_start(data, cold, E)
        if name == "ml-latest-small":
            measures.update(text_requests(data, path))
            measures.update(text_requests(data, path, titles=False))
            measures.update(text_requests(data, path, titles=False, damped=True))
        result["measures"][label] = measures
        if progress:
            print(f"  {name} {label}: {measures}", file=sys.stderr)
    if with_redial:
        result["redial"], result["retrieval_weights"] = redial(setup, encoders, redial_limit, progress, tuning_turns)
        result["tuning_turns"] = tuning_turns
        result["dev_turns"] = len(setup.turns(setup.dev)[:redial_limit] if redial_limit else setup.turns(setup.dev))
    return result


# ---------------------------------------------------------------- report


def markdown(results: list[dict[str, Any]], limit: int | None) -> str:
    lines = [
        "Frozen: the packaged all-MiniLM-L6-v2. Joint: the same model fine-tuned by `manage.py train`'s "
        "encoder step with the product's defaults (`recommender/engine/encoder_training.py`: top 2 of 6 layers "
        "trained over the lower layers' states kept once per text, contexts cut to 96 tokens and item texts to "
        "64, the item side of each pair without gradients, batch 32, in-batch negatives at temperature 0.05, "
        "three epochs or the time budget, whichever ends first; no masked-language loss) on three kinds of "
        "pairs: the ReDial training dialogues linked to the catalog against the item suggested next (never the "
        "development split, conversationId % 5 == 0, nor the weight-tuning slice, conversationId % 10 == 1); "
        "co-liked items (an anchor drawn uniformly, one of its 10 nearest by co-liked cosine; three per "
        "dialogue example); and phrases (genres and tags on 2 items to 5 % of the catalog, never a tag the "
        "text-only requests ask for) against an item carrying them, the phrase removed from its text. 10 % of "
        "the rated items are held out of all training (seed 0). Cold start and catalog NDCG@10 rank by the "
        "content similarity of each person's profile (mean text vector of their training items; per-person "
        "80/20 split, seed 0): the content component of the hybrid, where the encoder enters it. Training "
        f"budget: {BUDGET_S:.0f} s each, the product's default.",
        "",
        "| catalog | encoder | cold-item NDCG@10 | catalog NDCG@10 | tag requests R@10 |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for label, m in r["measures"].items():
            tag = f"{m['tag_r10']:.3f} ({m['tags']} tags)" if "tag_r10" in m else "–"
            if "tag_r10_untitled" in m:
                tag += f"; without titles {m['tag_r10_untitled']:.3f}"
            if "tag_r10_damped" in m:
                tag += f"; without titles, damped {m['tag_r10_damped']:.3f}"
            lines.append(f"| {r['catalog']} | {label} | {m['cold_ndcg10']:.4f} | {m['overall_ndcg10']:.4f} | {tag} |")
        f, j = r["measures"]["frozen"], r["measures"]["joint"]
        ratio = [
            f"cold {j['cold_ndcg10'] / max(f['cold_ndcg10'], 1e-12):.2f}x",
            f"catalog {j['overall_ndcg10'] / max(f['overall_ndcg10'], 1e-12):.2f}x",
        ]
        if "tag_r10" in j:
            ratio.append(f"tags {j['tag_r10'] / max(f['tag_r10'], 1e-12):.2f}x")
        lines.append(f"| {r['catalog']} | joint / frozen | {' / '.join(ratio)} | | |")
    lines += [
        "",
        "| catalog | items | dialogue examples | item pairs | phrase pairs | steps (planned) | training s "
        "(preparing) | peak MiB | device | first → last loss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r["training"]
        lines.append(
            f"| {r['catalog']} | {r['items']} | {r['dialogue_examples']} | {r['item_pairs']} | "
            f"{t.get('phrase_pairs', 0)} | {t['steps']} ({t['planned_steps']}) | {t['seconds']:.0f} "
            f"({t.get('prepare_seconds', 0):.0f}) | {t.get('peak_rss_mib', '–')} | "
            f"{t['device']} | {t['first_loss']:.3f} → {t['last_loss']:.3f} |"
        )
    for r in results:
        if "redial" not in r:
            continue
        lines += [
            "",
            f"ReDial development split on {r['catalog']}: {r['dev_turns']} recommender turns"
            f"{f' (the first {limit})' if limit else ''}; dedup recall (movies named earlier removed from "
            "rankings and targets) and no-dedup recall (the raw list against every film the turn names) "
            f"beside it; retrieval weights chosen on the first {r['tuning_turns']} turns of the tuning slice from "
            f"{', '.join(str(w) for w in RETRIEVAL_GRID)}.",
            "",
            "| system | R@1 | R@10 | R@50 | no-dedup R@10 | no-dedup R@50 | ms/turn |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in r["redial"]:
            d, raw = row["dedup"], row["raw"]
            lines.append(
                f"| {row['name']} | {d[1]:.3f} | {d[10]:.3f} | {d[50]:.3f} | {raw[10]:.3f} | "
                f"{raw[50]:.3f} | {row['ms']:.0f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_data_dir(parser)
    parser.add_argument("--limit", type=int, default=None, help="replay only the first N development turns")
    parser.add_argument("--no-redial", action="store_true", help="skip the ReDial development split")
    parser.add_argument("--catalogs", default="ml-latest-small,ml-100k")
    parser.add_argument("--tuning-turns", type=int, default=TUNING_TURNS, help="tuning-slice turns per weight")
    parser.add_argument("--budget", type=float, default=None, help="training seconds per encoder (default: the product's)")
    parser.add_argument("--encoder", type=json.loads, default=None, help="JSON encoder settings over the defaults")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md as it is")
    args = parser.parse_args(argv)
    root = data_root(args.data_dir)
    loaders = {
        "ml-latest-small": lambda: load_ml_latest(root / "ml-latest-small"),
        "ml-100k": lambda: load_ml100k(root / "ml-100k"),
    }
    results = []
    for name in args.catalogs.split(","):
        results.append(
            run_catalog(
                name,
                loaders[name](),
                root,
                redial_limit=args.limit,
                budget=args.budget,
                with_redial=name == "ml-latest-small" and not args.no_redial,
                progress=True,
                tuning_turns=args.tuning_turns,
                encoder=args.encoder,
            )
        )
    text = markdown(results, args.limit)
    print(text)
    if not args.no_write:
        title = "## Joint training of the text encoder (frozen vs jointly trained MiniLM)"
        name = SECTION if not args.limit else f"{SECTION}-first-{args.limit}"
        write_section(
            name,
            f"{title}\n\nCommand: `python -m benchmarks.joint"
            f"{f' --limit {args.limit}' if args.limit else ''}{' --no-redial' if args.no_redial else ''}`.\n\n{text}",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
