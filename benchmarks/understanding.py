"""Conversational understanding benchmark: intent accuracy, slot P/R/F1 per type and language, latency.

Run: python -m benchmarks.understanding [--holdout] [--backend llamacpp|none|...] [--write-docs]
(or `python manage.py eval_understanding`, which calls main here). The measuring lives in
recommender.engine.understanding.evaluate; the labelled files, the catalogs it is evaluated on (MovieLens
100K films with Chinese aliases, the sample catalog) and the docs section are here.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

from benchmarks.common import REPO, add_data_dir, data_root, write_section
from recommender import sample_data  # plain files and readers, no Django
from recommender.engine.llm import NoneBackend, start_backend
from recommender.engine.types import ItemRecord
from recommender.engine.understanding.catalog import CatalogIndex
from recommender.engine.understanding.evaluate import evaluate, format_report, load_conversations

DEV = REPO / "tests" / "data" / "understanding_dev.jsonl"
HOLDOUT = REPO / "tests" / "data" / "understanding_dev_holdout.jsonl"
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def load_ml100k_movies(directory: Path | None = None) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (films as ml-<id> ItemRecords with genres, year and Chinese aliases; rating counts per id)."""
    root = Path(directory or data_root() / "ml-100k")
    genres = [line.split("|")[0] for line in (root / "u.genre").read_text(encoding="latin-1").splitlines() if "|" in line]
    aliases = sample_data.load_movie_aliases()
    items = []
    for line in (root / "u.item").read_text(encoding="latin-1").splitlines():
        parts = line.split("|")
        if len(parts) < 5 + len(genres):
            continue
        title = parts[1].strip()
        m = _YEAR.search(title) or re.search(r"(\d{4})$", parts[2])
        attrs = {"genres": [g for g, f in zip(genres, parts[5:]) if f.strip() == "1" and g != "unknown"]}
        if m:
            attrs["year"] = int(m.group(1))
        items.append(ItemRecord(item_id=f"ml-{parts[0]}", title=title, domain="movie",
                                aliases=tuple(aliases.get(title, ())), attributes=attrs))
    counts = Counter()
    ratings = root / "u.data"
    if ratings.exists():
        for line in ratings.read_text(encoding="latin-1").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                counts[f"ml-{parts[1]}"] += 1
    return items, dict(counts)


def sample_items(domain: str | None = None) -> list[ItemRecord]:
    """Return the sample catalog's items, optionally one domain only."""
    return sample_data.load_catalog(domain=domain)


def movie_catalog(directory: Path | None = None) -> tuple[CatalogIndex, str]:
    """Return (index over ML-100K films, or the sample catalog's films if the data is missing; a source label)."""
    root = Path(directory or data_root() / "ml-100k")
    if (root / "u.item").exists():
        items, counts = load_ml100k_movies(root)
        return CatalogIndex(items, popularity=counts), f"MovieLens 100K u.item ({len(items)} films)"
    items = sample_items("movie")
    return CatalogIndex(items), f"sample catalog films ({len(items)})"


def product_catalog() -> CatalogIndex:
    """Return an index over the sample catalog's products."""
    return CatalogIndex(sample_items("product"))


def full_catalog() -> CatalogIndex:
    """Return an index over the whole sample catalog (products, films, books, music, games)."""
    return CatalogIndex(sample_items())


def build_catalogs(data_dir: Path | None = None) -> tuple[dict, str]:
    movies, source = movie_catalog(data_dir)
    return {"movies": movies, "products": product_catalog(), "all": full_catalog()}, source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", action="store_true", help="also evaluate the held-out file")
    ap.add_argument("--backend", default="llamacpp", help="LLM backend (llamacpp, none, openai, transformers)")
    add_data_dir(ap, "folder holding ml-100k/")
    ap.add_argument("--errors", action="store_true", help="print every turn that differs from its label")
    ap.add_argument("--write-docs", action="store_true", help="write the figures into docs/benchmarks.md")
    ap.add_argument("--json", type=Path, default=None, help="also write full results as JSON")
    args = ap.parse_args(argv)

    loaded = time.perf_counter()
    backend, error = start_backend({"backend": args.backend})
    load_s = time.perf_counter() - loaded
    if error:
        print(f"LLM backend {args.backend!r} unavailable ({error}); evaluating with rules only", file=sys.stderr)
    catalogs, source = build_catalogs(data_root(args.data_dir) / "ml-100k")
    runs = [("dev", DEV)] + ([("held-out", HOLDOUT)] if args.holdout else [])
    blocks, results = [], {}
    for name, path in runs:
        r = evaluate(load_conversations(path), backend, catalogs)
        results[name] = r
        blocks.append(format_report(f"{name} set (`{path.relative_to(REPO)}`)", r))
        print(blocks[-1] + "\n")
        if args.errors:
            for e in r["errors"]:
                print(f"  [{e['id']}] {e['text']!r}: intent {e['gold_intent']}->{e['intent']} "
                      f"missing {e['missing']} extra {e['extra']}")
            print("  confusion:", r["confusion"])
    header = (f"Command: `python manage.py eval_understanding --holdout --write-docs` "
              f"(same as `python -m benchmarks.understanding --holdout --write-docs`). "
              f"Backend: {backend.describe() if not isinstance(backend, NoneBackend) else 'none (rules only)'}"
              f"{'' if not error else ' — requested ' + args.backend + ' failed to start'}, loaded in {load_s:.2f} s; "
              f"movie catalog: {source}; product catalog: sample `catalog.jsonl` products; cross-domain turns: the whole "
              f"sample catalog. Targets: intent ≥ 0.90 and slot F1 ≥ 0.85 per language, p95 ≤ 300 ms per turn.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    notes = (
        "Notes: the rules were tuned while looking at the dev set's errors, so its figures are optimistic; the "
        "held-out conversations (every 5th) were evaluated only after tuning and are the honest estimate. Slots are "
        "compared as tuples (attribute=value, range bounds, item id, item+sentiment, domain, asked field, replace flag, "
        "stemmed keyword words). Latency is wall time of `understand()` per turn, in one process, on a cold "
        f"translation cache, with a 1-minute load average of {load:.1f} on this 2-core machine when measured. The base "
        "model is consulted only for Chinese phrases the lexicon cannot ground, under a hard 200 ms per-turn deadline "
        "(an answer arriving later fills the cache for the next time); correctness never depends on it. "
        "The dev labels predate the rule that turns \"less violent\" / \"something lighter\" / \"轻松的\" into "
        "genre exclusions (Horror, War; Film-Noir for lighter); those turns keep their original labels, so the rule's "
        "exclusions count as extra slots there (dev exclude precision)."
    )
    if args.write_docs:
        write_section("understanding", "## Conversational understanding\n\n" + header + "\n\n" + "\n\n".join(blocks)
                      + "\n\n" + notes)
        print("wrote the understanding section of docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
