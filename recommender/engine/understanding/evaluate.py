"""Evaluate understanding on the labelled dev set: intent accuracy, slot P/R/F1 per type and language, latency.

Run: python -m benchmarks.understanding [--holdout] [--backend llamacpp|none|...] [--write-docs]
(the files, catalogs and docs section are the benchmark's; the measuring is here)
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from ..llm import LLMBackend
from .lexicon import EN_STOPWORDS
from .state import ConversationState
from .turn import understand

SLOT_TYPES = ("include", "exclude", "range", "item", "sentiment", "domain", "ask_field", "replace", "keyword")


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
        "latencies_ms": latencies,  # summarised by the caller (benchmarks.common.percentile)
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
