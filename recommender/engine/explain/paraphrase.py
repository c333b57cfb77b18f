"""The LLM path: paraphrase the evidence, check the result, fall back to the template on any problem."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..llm.base import LLMBackend, LLMError
from ..rules import natural_title
from ..types import Evidence, ItemRecord
from .checker import check_explanation
from .cited import HISTORY_KINDS, cited_evidence, was_liked
from .template import evidence_titles, explain_text, value_text

MAX_TOKENS = 60
STOP = ("\n",)

# Few-shot examples mirror the real facts with made-up titles; the checker treats those titles as
# forbidden, so a copied example title is caught even though no catalog holds it.
_EXAMPLE_TITLES = {
    "en": (("Silver Harbor", "Night Train to Lima", "The Paper Orchard"),
           ("Lantern Bay", "Winter Kettle", "Blue Canyon Letters")),
    "zh": (("银色港湾", "夜车", "纸果园"), ("灯笼湾", "冬日水壶", "蓝峡谷来信")),
}
EXAMPLE_TITLES = tuple(t for lang in _EXAMPLE_TITLES.values() for group in lang for t in group)
_HEADER = {
    "en": "Each line turns the facts about a recommendation into one short friendly sentence that uses only those "
          "facts.\n\n",
    "zh": "每一行把推荐理由的事实改写成一句简短自然的中文，只使用这些事实。\n\n",
}

@dataclass
class ExplanationResult:
    """The text shown to the user and how it was made."""

    text: str
    source: str  # "llm" or "template"
    checked: bool  # the shown text passed the checker
    failures: list[str] = field(default_factory=list)  # why the LLM text was rejected (empty when shown)
    raw: str = ""  # what the LLM wrote, before checking
    backend: str = ""
    seconds: float = 0.0


class FallbackCounter:
    """Thread-safe counts of LLM explanations tried and rejected, per backend."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tried: dict[str, int] = {}
        self._fell_back: dict[str, int] = {}
        self._reasons: dict[str, dict[str, int]] = {}

    def record(self, backend: str, fell_back: bool, failures: list[str] | None = None) -> None:
        """Count one LLM attempt for backend, and its failure kinds when it fell back."""
        with self._lock:
            self._tried[backend] = self._tried.get(backend, 0) + 1
            if fell_back:
                self._fell_back[backend] = self._fell_back.get(backend, 0) + 1
                reasons = self._reasons.setdefault(backend, {})
                for failure in failures or []:
                    kind = _failure_kind(failure)
                    reasons[kind] = reasons.get(kind, 0) + 1

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Return {backend: {"tried", "fallbacks", "rate", "reasons"}} as a copy."""
        with self._lock:
            return {
                name: {
                    "tried": tried,
                    "fallbacks": self._fell_back.get(name, 0),
                    "rate": self._fell_back.get(name, 0) / tried if tried else 0.0,
                    "reasons": dict(self._reasons.get(name, {})),
                }
                for name, tried in self._tried.items()
            }

    def reset(self) -> None:
        """Forget every count."""
        with self._lock:
            self._tried.clear()
            self._fell_back.clear()
            self._reasons.clear()


FALLBACKS = FallbackCounter()


def _failure_kind(failure: str) -> str:
    """Return a failure message without its particulars ("claims genres 'war', ..." -> "claims genres")."""
    kind = re.sub(r"\s*'[^']*'|\s*\d+|\s*\([^)]*\)", "", failure.split(":")[0])
    return kind.split(",")[0].strip()


def _fact_list(evidence: list[Evidence], language: str,
               catalog_titles: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Return the cited evidence as (kind, title or value words) pairs, in citation order."""
    zh = language == "zh"
    facts: list[tuple[str, str]] = []
    for ev in cited_evidence(evidence):
        title = (catalog_titles or {}).get(ev.item_id or "") or natural_title(ev.title or ev.item_id or "", with_year=not zh)
        values = ev.value if isinstance(ev.value, (list, tuple)) else [ev.value]
        words = " ".join(value_text(v, language, ev.attribute) for v in values if v not in (None, ""))
        if ev.kind == "liked_item":
            facts.append(("liked", title))
        elif ev.kind == "content_similarity":
            facts.append(("similar", title) if ev.item_id or ev.title else ("request", ""))
        elif ev.kind in ("attribute_match", "same_kind", "constraint") and words:
            facts.append(("attribute", words))
        elif ev.kind in ("popularity", "exploration"):
            facts.append((ev.kind, ""))
    return list(dict.fromkeys(facts))


_FACT_TEXT = {
    "en": {"liked": "liked {}", "similar": "similar to {}", "request": "close to what you described",
           "attribute": "matches request {}", "popularity": "popular with many viewers",
           "exploration": "something new to explore your taste"},
    "zh": {"liked": "喜欢《{}》", "similar": "和《{}》相似", "request": "和你描述的内容接近",
           "attribute": "符合要求 {}", "popularity": "很多观众喜欢", "exploration": "新的尝试，用来探索口味"},
}


def _facts_line(facts: list[tuple[str, str]], language: str) -> str:
    table = _FACT_TEXT[language]
    return ("；" if language == "zh" else "; ").join(table[kind].format(arg) for kind, arg in facts)


def _example_sentence(facts: list[tuple[str, str]], language: str) -> str:
    """Return a reference paraphrase of facts, worded differently from the template."""
    zh = language == "zh"
    liked = [t for k, t in facts if k == "liked"]
    similar = [t for k, t in facts if k == "similar"]
    values = [v for k, v in facts if k == "attribute"]
    kinds = {k for k, _ in facts}
    clauses = []
    if liked:
        names = [f"《{t}》" for t in liked] if zh else liked
        clauses.append(("既然你喜欢" + "和".join(names)) if zh else "Since you enjoyed " + " and ".join(names))
    if similar:
        names = [f"《{t}》" for t in similar] if zh else similar
        clauses.append(("它很像" + "和".join(names)) if zh else "it resembles " + " and ".join(names))
    if "request" in kinds:
        clauses.append("它和你描述的很接近" if zh else "it is close to what you described")
    if values:
        clauses.append(("它正是你想要的" + "、".join(values)) if zh else "it fits your wish for " + " and ".join(values))
    if "popularity" in kinds:
        clauses.append("很多观众都喜欢它" if zh else "many viewers love it")
    if "exploration" in kinds:
        clauses.append("这是一个新的尝试方向" if zh else "it is a new direction to try")
    if not clauses:
        return ""
    if zh:
        return "，".join(clauses) + "。"
    text = clauses[0] + (", " + ", and ".join(clauses[1:]) if len(clauses) > 1 else "") + "."
    return text[0].upper() + text[1:]


def _with_titles(facts: list[tuple[str, str]], titles: tuple[str, ...]) -> list[tuple[str, str]]:
    out, i = [], 0
    for kind, arg in facts:
        if kind in ("liked", "similar"):
            arg, i = titles[i % len(titles)], i + 1
        out.append((kind, arg))
    return out


def build_prompt(evidence: list[Evidence], language: str, catalog_titles: dict[str, str] | None = None) -> str:
    """Return the few-shot paraphrase prompt: two examples shaped like the evidence, then the evidence itself."""
    language = "zh" if language == "zh" else "en"
    facts = _fact_list(evidence, language, catalog_titles)
    facts_label, sentence_label = ("事实：", "句子：") if language == "zh" else ("Facts: ", "Sentence: ")
    parts = [_HEADER[language]]
    for titles in _EXAMPLE_TITLES[language]:
        example = _with_titles(facts, titles)
        parts.append(f"{facts_label}{_facts_line(example, language)}\n{sentence_label}"
                     f"{_example_sentence(example, language)}\n\n")
    parts.append(f"{facts_label}{_facts_line(facts, language)}\n{sentence_label.rstrip()}")
    return "".join(parts)


def _clean(raw: str) -> str:
    text = raw.strip().split("\n")[0].strip()
    for lead in ("Sentence:", "句子：", "句子:"):
        if text.startswith(lead):
            text = text[len(lead):].strip()
    return text


def paraphrase(item: ItemRecord, evidence: list[Evidence], *, language: str, backend: LLMBackend | None,
               catalog: Any = None, catalog_titles: dict[str, str] | None = None, request_summary: str = "",
               counter: FallbackCounter | None = FALLBACKS, max_tokens: int = MAX_TOKENS) -> ExplanationResult:
    """Return the LLM's paraphrase when it passes the checker, else the template text (counting the fallback)."""
    started = time.perf_counter()
    if catalog_titles is None:
        catalog_titles = evidence_titles(evidence, catalog, language)
    template = explain_text(item, evidence, language=language, request_summary=request_summary,
                            catalog_titles=catalog_titles)
    template_ok = not check_explanation(template, item, evidence, catalog, language=language)

    def fallback(failures: list[str], raw: str = "", name: str = "") -> ExplanationResult:
        return ExplanationResult(template, "template", template_ok, failures, raw, name,
                                 time.perf_counter() - started)

    if backend is None or not getattr(backend, "enabled", True):
        return fallback([])
    if any(e.kind in HISTORY_KINDS and not was_liked(e) for e in evidence):
        # The prompt only knows "liked"; history the person did not like is worded by the template alone.
        return fallback(["history below like level: template wording"])
    prompt = build_prompt(evidence, language, catalog_titles)
    try:
        raw = backend.complete(prompt, max_tokens=max_tokens, stop=list(STOP), temperature=0.0)
    except LLMError as exc:
        failures = [f"backend error: {exc}"]
        if counter is not None:
            counter.record(backend.name, True, failures)
        return fallback(failures, "", backend.name)
    text = _clean(raw)
    failures = check_explanation(text, item, evidence, catalog, language=language, extra_titles=EXAMPLE_TITLES)
    if counter is not None:
        counter.record(backend.name, bool(failures), failures)
    if failures:
        return fallback(failures, raw, backend.name)
    return ExplanationResult(text, "llm", True, [], raw, backend.name, time.perf_counter() - started)
