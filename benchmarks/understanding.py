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
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, add_data_dir, data_root, percentile, write_section
from recommender import sample_data  # plain files and readers, no Django
from recommender.engine.data import load_ml100k_items
from recommender.engine.llm import NoneBackend, start_backend
from recommender.engine.titles import title_year, without_year
from recommender.engine.types import ItemRecord
from recommender.engine.understanding.catalog import CatalogIndex
from recommender.engine.understanding.evaluate import evaluate, format_report, load_conversations
from recommender.engine.understanding.text import key_of

DEV = REPO / "tests" / "data" / "understanding_dev.jsonl"
HOLDOUT = REPO / "tests" / "data" / "understanding_dev_holdout.jsonl"


def load_ml100k_movies(directory: Path | None = None) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (films as ml-<id> ItemRecords with genres, year and Chinese aliases; rating counts per id)."""
    root = Path(directory or data_root() / "ml-100k")
    aliases = sample_data.load_movie_aliases()
    items = [replace(record, item_id=f"ml-{record.item_id}", aliases=tuple(aliases.get(record.title, ())))
             for record in load_ml100k_items(root)]
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


def load_ml_latest_movies(directory: Path | None = None) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (ml-latest-small films with genres, year and user tags; rating counts per id).

    movies.csv writes "Title (Year)" and pipe-separated genres; tags.csv adds free-form user tags. Ids are the
    dataset's movieId prefixed "mls-", so they never collide with ML-100K's.
    """
    import csv

    root = Path(directory or data_root() / "ml-latest-small")
    tags: dict[str, list[str]] = {}
    if (root / "tags.csv").exists():
        with open(root / "tags.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                bucket = tags.setdefault(row["movieId"], [])
                tag = (row.get("tag") or "").strip()
                if tag and tag.lower() not in (t.lower() for t in bucket):
                    bucket.append(tag)
    aliases = sample_data.load_movie_aliases()  # keyed by "Title (Year)", as both MovieLens releases write it
    items = []
    with open(root / "movies.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            title = row["title"].strip()
            genres = [g for g in row["genres"].split("|") if g and g != "(no genres listed)"]
            attrs: dict = {"genres": genres}
            year = title_year(title)
            if year is not None:
                attrs["year"] = year
            if row["movieId"] in tags:
                attrs["tags"] = tags[row["movieId"]]
            items.append(ItemRecord(item_id=f"mls-{row['movieId']}", title=title, domain="movie",
                                    aliases=tuple(aliases.get(title, ())), attributes=attrs))
    counts: Counter = Counter()
    if (root / "ratings.csv").exists():
        with open(root / "ratings.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                counts[f"mls-{row['movieId']}"] += 1
    return items, dict(counts)


def ml_latest_catalog(directory: Path | None = None) -> tuple[CatalogIndex, str]:
    """Return (index over ml-latest-small films with their tags, a source label)."""
    items, counts = load_ml_latest_movies(directory)
    return CatalogIndex(items, popularity=counts), f"MovieLens ml-latest-small movies.csv + tags.csv ({len(items)} films)"


def build_catalogs(data_dir: Path | None = None, movies: str = "ml-100k") -> tuple[dict, str]:
    """Return the catalogs the dev conversations name; movies is "ml-100k" or "ml-latest-small"."""
    if movies == "ml-latest-small":
        index, source = ml_latest_catalog(data_root(data_dir) / "ml-latest-small")
    else:
        index, source = movie_catalog(data_root(data_dir) / "ml-100k")
    return {"movies": index, "products": product_catalog(), "all": full_catalog()}, source


def _canon_value(value: Any) -> str:
    flat = re.sub(r"[^0-9a-z]", "", str(value).lower())
    return flat[:-1] if flat.endswith("s") and len(flat) > 3 else flat


def remap_gold(conversations: list[dict], catalog, id_map: dict[str, str]) -> tuple[list[dict], int]:
    """Return the conversations with movie ids and attribute values rewritten into another catalog's terms, and the
    number of gold items that catalog lacks (they stay under their old ids and count as misses)."""
    values: dict[tuple[str, str], str] = {}
    for attrs in catalog.values.values():
        for attr, vals in attrs.items():
            for v in vals:
                values.setdefault((attr, _canon_value(v)), v)
    missing = 0

    def item(old: str) -> str:
        nonlocal missing
        if old in id_map:
            return id_map[old]
        missing += old.startswith("ml-")
        return old

    out = []
    for conv in conversations:
        if conv["catalog"] != "movies":
            out.append(conv)
            continue
        conv = json.loads(json.dumps(conv))
        for turn in conv["turns"]:
            if turn.get("last_items"):
                turn["last_items"] = [id_map.get(i, i) for i in turn["last_items"]]
            gold = turn["gold"]
            for ref in gold.get("items") or []:
                ref["item_id"] = item(ref["item_id"])
            for kind in ("include", "exclude"):
                for attr, vals in (gold.get(kind) or {}).items():
                    gold[kind][attr] = [values.get((attr, _canon_value(v)), v) for v in vals]
        out.append(conv)
    return out, missing


def ml100k_to_ml_latest(catalog, data_dir: Path | None = None) -> dict[str, str]:
    """Return ML-100K film id -> ml-latest-small id, matched by folded title and year."""
    items, _ = load_ml100k_movies(data_root(data_dir) / "ml-100k")
    by_key: dict[tuple[str, int], str] = {}
    for record in catalog.items.values():
        by_key.setdefault((key_of(without_year(record.title)), catalog.year_of(record.item_id)),
                          record.item_id)
    out = {}
    for record in items:
        key = (key_of(without_year(record.title)), int(record.attributes.get("year") or 0))
        if key in by_key:
            out[record.item_id] = by_key[key]
            continue
        # Retitled releases ("Star Wars" -> "Star Wars: Episode IV - A New Hope"): any title form, same year.
        same_year = [h[0] for h in catalog.resolve_title(key[0]) if catalog.year_of(h[0]) == key[1]]
        if same_year:
            out[record.item_id] = same_year[0]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", action="store_true", help="also evaluate the held-out file")
    ap.add_argument("--backend", default="llamacpp", help="LLM backend (llamacpp, none, openai, transformers)")
    add_data_dir(ap, "folder holding ml-100k/ and ml-latest-small/")
    ap.add_argument("--catalog", choices=("ml-100k", "ml-latest-small", "both"), default="both",
                    help="movie catalog the film conversations are grounded in (default: both, one after the other); "
                         "for ml-latest-small (movies.csv with its free-form tags.csv) the labels' ML-100K ids are "
                         "mapped by title and year")
    ap.add_argument("--errors", action="store_true", help="print every turn that differs from its label")
    ap.add_argument("--write-docs", action="store_true", help="write the figures into docs/benchmarks.md")
    ap.add_argument("--json", type=Path, default=None, help="also write full results as JSON")
    args = ap.parse_args(argv)

    loaded = time.perf_counter()
    backend, error = start_backend({"backend": args.backend})
    load_s = time.perf_counter() - loaded
    if error:
        print(f"LLM backend {args.backend!r} unavailable ({error}); evaluating with rules only", file=sys.stderr)
    data_dir = Path(args.data_dir) if args.data_dir else None
    movie_catalogs = ["ml-100k", "ml-latest-small"] if args.catalog == "both" else [args.catalog]
    runs = [("dev", DEV)] + ([("held-out", HOLDOUT)] if args.holdout else [])
    blocks, results, sources = [], {}, []
    for movies in movie_catalogs:
        catalogs, source = build_catalogs(data_dir, movies)
        sources.append(source)
        id_map = ml100k_to_ml_latest(catalogs["movies"], data_dir) if movies == "ml-latest-small" else None
        for name, path in runs:
            conversations = load_conversations(path)
            source_note = ""
            if id_map is not None:
                conversations, missing = remap_gold(conversations, catalogs["movies"], id_map)
                source_note = f"; {missing} labelled film mentions have no ml-latest-small counterpart"
            r = evaluate(conversations, backend, catalogs)
            latencies = r.pop("latencies_ms")
            r["latency_ms"] = {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
                               "max": max(latencies)}
            results[f"{name} {movies}"] = r
            blocks.append(format_report(f"{name} set (`{path.relative_to(REPO)}`), films from {movies}"
                                        f"{source_note}", r))
            print(blocks[-1] + "\n")
            if args.errors:
                for e in r["errors"]:
                    print(f"  [{e['id']}] {e['text']!r}: intent {e['gold_intent']}->{e['intent']} "
                          f"missing {e['missing']} extra {e['extra']}")
                print("  confusion:", r["confusion"])
    source = "; ".join(sources)
    header = (f"Command: `CHATREC_DATA_DIR=/path/to/data python manage.py eval_understanding --holdout --backend none "
              f"--write-docs` (same as `python -m benchmarks.understanding ...`; `--catalog ml-100k` or "
              f"`--catalog ml-latest-small` runs one movie catalog). "
              f"Backend: {backend.describe() if not isinstance(backend, NoneBackend) else 'none (rules only)'}"
              f"{'' if not error else ' — requested ' + args.backend + ' failed to start'}, loaded in {load_s:.2f} s; "
              f"movie catalog: {source}; product catalog: sample `catalog.jsonl` products; cross-domain turns: the whole "
              f"sample catalog. Targets: intent ≥ 0.95 and slot F1 ≥ 0.9 per language (ml-latest-small), p95 ≤ 300 ms per turn.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    notes = (
        "Notes: the rules were tuned while looking at the dev set's errors, so its figures are optimistic. The "
        "held-out conversations (every 5th) were first evaluated only after tuning; in the round that added dialogue "
        "state and ml-latest-small, their errors were seen while working (a lower-case two-word title now needs a "
        "cue, prompted by one of them), so they are no longer untouched. Under the rule that reactions to suggestions "
        "and statements of taste ask for a refreshed list, 28 turns once labelled feedback (22 dev, 6 held-out) are "
        "labelled recommend; the parser no longer answers feedback. On ml-latest-small the labels' ML-100K film ids "
        "are mapped by title and year, and genre values by spelling (\"Children's\" -> \"Children\"). Slots are "
        "compared as tuples (attribute=value, range bounds, item id, item+sentiment, domain, asked field, replace flag, "
        "stemmed keyword words). Latency is wall time of `understand()` per turn, in one process, on a cold "
        f"translation cache, with a 1-minute load average of {load:.1f} on this 2-core machine when measured. The base "
        "model is consulted only for Chinese phrases the lexicon cannot ground, under a hard 200 ms per-turn deadline "
        "(an answer arriving later fills the cache for the next time); correctness never depends on it. "
        "The dev labels predate the rule that turns \"less violent\" / \"something lighter\" / \"轻松的\" into "
        "genre exclusions (Horror, War; Film-Noir for lighter); those turns keep their original labels, so the rule's "
        "exclusions count as extra slots there (dev exclude precision). The one English dev intent error, \"ok I'll "
        "watch that, thanks!\" (labelled small talk), keeps its label: under the rule that accepting a suggestion "
        "asks for a refreshed list, it now gets one. Under the rule that someone else's taste is not the speaker's "
        "like, dev turn c163 (\"My kids loved Aladdin, got anything similar?\") labels Aladdin neutral (it was liked)."
    )
    if args.write_docs:
        write_section("understanding", "## Conversational understanding\n\n" + header + "\n\n" + "\n\n".join(blocks)
                      + "\n\n" + notes)
        print("wrote the understanding section of docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
