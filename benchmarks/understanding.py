"""Conversational understanding benchmark: intent accuracy, slot P/R/F1 per type and language, latency.

Run: python -m benchmarks.understanding [--holdout] [--backend llamacpp|none|...] [--write-docs]
(`python manage.py eval_understanding` runs the same evaluation and prints it). The measuring lives in
recommender.engine.understanding.evaluate, the catalogs it is evaluated on (MovieLens 100K films with Chinese
aliases, ml-latest-small with its tags, the sample catalog) and the run in understanding.dev_sets; the labelled
files' places and the docs section are here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, add_data_dir, data_root, write_section
from recommender import sample_data  # plain files and readers, no Django
from recommender.engine.llm import NoneBackend, start_backend
from recommender.engine.types import ItemRecord
from recommender.engine.understanding import dev_sets
from recommender.engine.understanding.catalog import CatalogIndex

DEV = REPO / "tests" / "data" / "understanding_dev.jsonl"
HOLDOUT = REPO / "tests" / "data" / "understanding_dev_holdout.jsonl"


def sample() -> dev_sets.SampleCatalog:
    """Return the sample catalog and the films' alias table (plain files, read without Django)."""
    return dev_sets.SampleCatalog(items=sample_data.load_catalog(), aliases=sample_data.load_movie_aliases())


def load_ml100k_movies(directory: Path | None = None) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (films as ml-<id> ItemRecords with genres, year and Chinese aliases; rating counts per id)."""
    return dev_sets.load_ml100k_movies(Path(directory or data_root() / "ml-100k"), sample_data.load_movie_aliases())


def movie_catalog(directory: Path | None = None) -> tuple[CatalogIndex, str]:
    """Return (index over ML-100K films, or the sample catalog's films if the data is missing; a source label)."""
    return dev_sets.movie_catalog(Path(directory or data_root() / "ml-100k"), sample())


def ml_latest_catalog(directory: Path | None = None) -> tuple[CatalogIndex, str]:
    """Return (index over ml-latest-small films with their tags, a source label)."""
    return dev_sets.ml_latest_catalog(Path(directory or data_root() / "ml-latest-small"), sample())


def build_catalogs(data_dir: Path | None = None, movies: str = "ml-100k") -> tuple[dict, str]:
    """Return the catalogs the dev conversations name; movies is "ml-100k" or "ml-latest-small"."""
    return dev_sets.dev_catalogs(data_root(data_dir), movies, sample())


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
    movie_catalogs = ["ml-100k", "ml-latest-small"] if args.catalog == "both" else [args.catalog]
    runs = [("dev", DEV)] + ([("held-out", HOLDOUT)] if args.holdout else [])
    run = dev_sets.run_dev_sets(runs, movie_catalogs, data_root(args.data_dir), backend, sample(), label_root=REPO)
    blocks, results, sources = run.blocks, run.results, run.sources
    for r, block in zip(results.values(), blocks):
        print(block + "\n")
        if args.errors:
            for e in r["errors"]:
                print(f"  [{e['id']}] {e['text']!r}: intent {e['gold_intent']}->{e['intent']} "
                      f"missing {e['missing']} extra {e['extra']}")
            print("  confusion:", r["confusion"])
    source = "; ".join(sources)
    header = (f"Command: `CHATREC_DATA_DIR=/path/to/data python -m benchmarks.understanding --holdout --backend none "
              f"--write-docs` (`manage.py eval_understanding` prints the same figures; `--catalog ml-100k` or "
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
