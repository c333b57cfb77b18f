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
from .loaders import REPO_ROOT, full_catalog, movie_catalog, product_catalog
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


def build_catalogs(data_dir: Path | None = None) -> tuple[dict, str]:
    movies, source = movie_catalog(data_dir)
    return {"movies": movies, "products": product_catalog(), "all": full_catalog()}, source


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--holdout", action="store_true", help="also evaluate the held-out file")
    ap.add_argument("--backend", default="llamacpp", help="LLM backend (llamacpp, none, openai, transformers)")
    ap.add_argument("--data-dir", type=Path, default=None, help="folder holding ml-100k/ (default CHATREC_DATA_DIR)")
    ap.add_argument("--errors", action="store_true", help="print every turn that differs from its label")
    ap.add_argument("--write-docs", action="store_true", help="write the figures into docs/benchmarks.md")
    ap.add_argument("--json", type=Path, default=None, help="also write full results as JSON")
    args = ap.parse_args(argv)

    loaded = time.perf_counter()
    backend, error = start_backend({"backend": args.backend})
    load_s = time.perf_counter() - loaded
    if error:
        print(f"LLM backend {args.backend!r} unavailable ({error}); evaluating with rules only", file=sys.stderr)
    catalogs, source = build_catalogs(Path(args.data_dir) / "ml-100k" if args.data_dir else None)
    runs = [("dev", DEV)] + ([("held-out", HOLDOUT)] if args.holdout else [])
    blocks, results = [], {}
    for name, path in runs:
        r = evaluate(load_conversations(path), backend, catalogs)
        results[name] = r
        blocks.append(format_report(f"{name} set (`{path.relative_to(REPO_ROOT)}`)", r))
        print(blocks[-1] + "\n")
        if args.errors:
            for e in r["errors"]:
                print(f"  [{e['id']}] {e['text']!r}: intent {e['gold_intent']}->{e['intent']} "
                      f"missing {e['missing']} extra {e['extra']}")
            print("  confusion:", r["confusion"])
    header = (f"Command: `python manage.py eval_understanding --holdout --write-docs` "
              f"(same as `python -m recommender.engine.understanding.evaluate --holdout --write-docs`). "
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
        write_docs("## Conversational understanding\n\n" + header + "\n\n" + "\n\n".join(blocks) + "\n\n" + notes)
        print(f"wrote {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
