"""Evaluate understanding on the labelled dev set: intent accuracy, slot P/R/F1 per type and language, latency.

Run: python -m recommender.engine.understanding.evaluate [--holdout] [--backend llamacpp|none|...] [--write-docs]
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
from typing import Any, Iterable

from ..llm import LLMBackend, NoneBackend, start_backend
from . import understand
from .lexicon import EN_STOPWORDS
from .loaders import REPO_ROOT, full_catalog, load_ml100k_movies, ml_latest_catalog, movie_catalog, product_catalog
from .text import key_of
from .state import ConversationState

DEV = REPO_ROOT / "tests" / "data" / "understanding_dev.jsonl"
HOLDOUT = REPO_ROOT / "tests" / "data" / "understanding_dev_holdout.jsonl"
DOCS = REPO_ROOT / "docs" / "benchmarks.md"
SLOT_TYPES = ("include", "exclude", "range", "item", "sentiment", "domain", "ask_field", "replace", "keyword")
BEGIN, END = "<!-- BEGIN understanding -->", "<!-- END understanding -->"


def load_conversations(path: Path) -> list[dict]:
    """Return the conversations of a JSON-lines dev file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _stem(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    if word.endswith("er") and len(word) > 5:
        return word[:-2]
    return word


def keyword_tokens(keywords: Iterable[str]) -> set[str]:
    """Return the stemmed content words of a keyword list (how keywords are compared)."""
    out = set()
    for k in keywords:
        for w in re.findall(r"[a-z0-9]+", k.lower()):
            if w not in EN_STOPWORDS:
                out.add(_stem(w))
    return out


def slot_set(d: dict[str, Any]) -> set[tuple]:
    """Return the comparable slot tuples of a gold label or a prediction (Understanding.to_dict() shape)."""
    slots: set[tuple] = set()
    for kind in ("include", "exclude"):
        for attr, values in (d.get(kind) or {}).items():
            for v in values:
                slots.add((kind, attr, str(v).lower()))
    for attr, (lo, hi) in (d.get("ranges") or {}).items():
        slots.add(("range", attr, None if lo is None else float(lo), None if hi is None else float(hi)))
    items = d.get("items", d.get("referenced_items")) or []
    for ref in items:
        slots.add(("item", ref["item_id"]))
        slots.add(("sentiment", ref["item_id"], ref.get("sentiment", "neutral")))
    if d.get("domain"):
        slots.add(("domain", d["domain"]))
    if d.get("ask_field"):
        slots.add(("ask_field", d["ask_field"]))
    if d.get("replace"):
        slots.add(("replace",))
    for w in keyword_tokens(d.get("keywords") or []):
        slots.add(("keyword", w))
    return slots


class Scores:
    """Counts true/false positives and negatives per slot type and language."""

    def __init__(self):
        self.tp = Counter()
        self.fp = Counter()
        self.fn = Counter()

    def add(self, gold: set, pred: set, lang: str) -> None:
        for s in pred & gold:
            self.tp[(s[0], lang)] += 1
        for s in pred - gold:
            self.fp[(s[0], lang)] += 1
        for s in gold - pred:
            self.fn[(s[0], lang)] += 1

    def prf(self, kinds=SLOT_TYPES, langs=("en", "zh")) -> tuple[float, float, float, int]:
        tp = sum(self.tp[(k, l)] for k in kinds for l in langs)
        fp = sum(self.fp[(k, l)] for k in kinds for l in langs)
        fn = sum(self.fn[(k, l)] for k in kinds for l in langs)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f, tp + fn


def evaluate(conversations: list[dict], backend: LLMBackend, catalogs: dict) -> dict:
    """Run every conversation turn by turn and return metrics plus the per-turn errors."""
    scores = Scores()
    intents = Counter()
    intent_total = Counter()
    lang_ok = 0
    latencies: list[float] = []
    errors = []
    llm_turns = 0
    llm_tries = 0
    confusion = Counter()
    for conv in conversations:
        catalog = catalogs[conv["catalog"]]
        state = ConversationState()
        for turn in conv["turns"]:
            gold = turn["gold"]
            if turn.get("last_items"):
                state.set_last_items(turn["last_items"])
            started = time.perf_counter()
            u = understand(turn["text"], state=state, catalog=catalog, backend=backend)
            latencies.append((time.perf_counter() - started) * 1000)
            state.apply(u)
            llm_turns += u.llm_used
            llm_tries += u.timings.get("llm", 0.0) > 0
            lang = gold["language"]
            intent_total[lang] += 1
            intents[lang] += u.intent == gold["intent"]
            confusion[(gold["intent"], u.intent)] += 1
            lang_ok += u.language == lang
            pred_d = u.to_dict()
            g, p = slot_set(gold), slot_set(pred_d)
            scores.add(g, p, lang)
            if u.intent != gold["intent"] or g != p:
                errors.append({"id": conv["id"], "text": turn["text"], "gold_intent": gold["intent"], "intent": u.intent,
                               "missing": sorted(map(str, g - p)), "extra": sorted(map(str, p - g))})
    total = sum(intent_total.values())
    result = {
        "turns": total,
        "turns_by_language": dict(intent_total),
        "intent_accuracy": sum(intents.values()) / total,
        "intent_accuracy_by_language": {l: intents[l] / intent_total[l] for l in intent_total},
        "language_accuracy": lang_ok / total,
        "slots": {},
        "slots_by_language": {},
        "latency_ms": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95), "max": max(latencies)},
        "llm_turns": llm_turns,
        "llm_tries": llm_tries,
        "confusion": {f"{a}->{b}": n for (a, b), n in sorted(confusion.items()) if a != b},
        "errors": errors,
    }
    for kind in SLOT_TYPES:
        p, r, f, support = scores.prf(kinds=(kind,))
        result["slots"][kind] = {"precision": p, "recall": r, "f1": f, "support": support}
    for lang in ("en", "zh"):
        p, r, f, support = scores.prf(langs=(lang,))
        result["slots_by_language"][lang] = {"precision": p, "recall": r, "f1": f, "support": support}
    p, r, f, support = scores.prf()
    result["slots_all"] = {"precision": p, "recall": r, "f1": f, "support": support}
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return ordered[k]


def format_report(name: str, r: dict) -> str:
    """Return a Markdown block with the figures of one evaluation."""
    lines = [f"**{name}** — {r['turns']} turns ({r['turns_by_language'].get('en', 0)} English, "
             f"{r['turns_by_language'].get('zh', 0)} Chinese)", "",
             "| measure | all | English | Chinese |", "|---|---|---|---|",
             f"| intent accuracy | {r['intent_accuracy']:.3f} | {r['intent_accuracy_by_language'].get('en', 0):.3f} | "
             f"{r['intent_accuracy_by_language'].get('zh', 0):.3f} |",
             f"| slot F1 | {r['slots_all']['f1']:.3f} | {r['slots_by_language']['en']['f1']:.3f} | "
             f"{r['slots_by_language']['zh']['f1']:.3f} |",
             f"| slot precision / recall | {r['slots_all']['precision']:.3f} / {r['slots_all']['recall']:.3f} | "
             f"{r['slots_by_language']['en']['precision']:.3f} / {r['slots_by_language']['en']['recall']:.3f} | "
             f"{r['slots_by_language']['zh']['precision']:.3f} / {r['slots_by_language']['zh']['recall']:.3f} |",
             "", "| slot type | precision | recall | F1 | gold slots |", "|---|---|---|---|---|"]
    for kind, s in r["slots"].items():
        lines.append(f"| {kind} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    lat = r["latency_ms"]
    lines += ["", f"Latency per turn: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, max {lat['max']:.1f} ms; "
              f"the LLM was asked on {r['llm_tries']} turns and answered within the per-turn budget on {r['llm_turns']}; "
              f"language detection accuracy {r['language_accuracy']:.3f}."]
    return "\n".join(lines)


def write_docs(text: str, path: Path = DOCS) -> None:
    """Replace the understanding section of docs/benchmarks.md (creating markers if missing)."""
    body = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{text.strip()}\n{END}"
    if BEGIN in body and END in body:
        body = body[: body.index(BEGIN)] + block + body[body.index(END) + len(END):]
    else:
        body = body.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def build_catalogs(data_dir: Path | None = None, movies: str = "ml-100k") -> tuple[dict, str]:
    """Return the catalogs the dev conversations name; movies is "ml-100k" or "ml-latest-small"."""
    if movies == "ml-latest-small":
        index, source = ml_latest_catalog(data_dir / "ml-latest-small" if data_dir else None)
    else:
        index, source = movie_catalog(data_dir / "ml-100k" if data_dir else None)
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
    items, _ = load_ml100k_movies(data_dir / "ml-100k" if data_dir else None)
    by_key: dict[tuple[str, int], str] = {}
    for record in catalog.items.values():
        by_key.setdefault((key_of(re.sub(r"\s*\(\d{4}\)\s*$", "", record.title)), catalog.year_of(record.item_id)),
                          record.item_id)
    out = {}
    for record in items:
        key = (key_of(re.sub(r"\s*\(\d{4}\)\s*$", "", record.title)), int(record.attributes.get("year") or 0))
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
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="folder holding ml-100k/ and ml-latest-small/ (default CHATREC_DATA_DIR)")
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
            results[f"{name} {movies}"] = r
            blocks.append(format_report(f"{name} set (`{path.relative_to(REPO_ROOT)}`), films from {movies}"
                                        f"{source_note}", r))
            print(blocks[-1] + "\n")
            if args.errors:
                for e in r["errors"]:
                    print(f"  [{e['id']}] {e['text']!r}: intent {e['gold_intent']}->{e['intent']} "
                          f"missing {e['missing']} extra {e['extra']}")
                print("  confusion:", r["confusion"])
    source = "; ".join(sources)
    header = (f"Command: `CHATREC_DATA_DIR=/path/to/data python manage.py eval_understanding --holdout --backend none "
              f"--write-docs` (same as `python -m recommender.engine.understanding.evaluate ...`; `--catalog ml-100k` or "
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
        "exclusions count as extra slots there (dev exclude precision)."
    )
    if args.write_docs:
        write_docs("## Conversational understanding\n\n" + header + "\n\n" + "\n\n".join(blocks) + "\n\n" + notes)
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
