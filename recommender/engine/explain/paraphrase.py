"""The LLM path: paraphrase the evidence, check the result, fall back to the template on any problem."""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..llm.base import LLMBackend, LLMError
from ..types import Evidence, ItemRecord
from .checker import check_explanation
from .template import value_text, cited_evidence, display_title, evidence_titles, explain_text

MAX_TOKENS = 60
STOP = ("\n",)

# Few-shot examples use made-up titles; the checker treats them as forbidden so a copied
# example title is caught even though no catalog holds it.
EXAMPLE_TITLES = ("Silver Harbor", "Night Train to Lima", "The Paper Orchard", "银色港湾", "夜车", "纸果园")

_PROMPTS = {
    "en": (
        "Each line turns the facts about a recommended movie into one short friendly sentence "
        "that uses only those facts.\n\n"
        "Facts: liked Silver Harbor; liked Night Train to Lima; matches request Drama\n"
        "Sentence: Because you liked Silver Harbor and Night Train to Lima, this drama should suit you.\n\n"
        "Facts: similar to The Paper Orchard; popular with many viewers\n"
        "Sentence: It is a lot like The Paper Orchard, and many viewers love it.\n\n"
        "Facts: {facts}\n"
        "Sentence:"
    ),
    "zh": (
        "每一行把推荐一部电影的事实改写成一句简短自然的中文，只使用这些事实。\n\n"
        "事实：喜欢《银色港湾》；喜欢《夜车》；符合要求 剧情\n"
        "句子：因为你喜欢《银色港湾》和《夜车》，这部剧情片应该合你的口味。\n\n"
        "事实：和《纸果园》相似；很多观众喜欢\n"
        "句子：它和《纸果园》很像，很多观众都很喜欢它。\n\n"
        "事实：{facts}\n"
        "句子："
    ),
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


def evidence_facts(evidence: list[Evidence], language: str, catalog_titles: dict[str, str] | None = None) -> str:
    """Return the cited evidence as a compact fact line for the prompt."""
    zh = language == "zh"
    facts = []
    for ev in cited_evidence(evidence):
        title = (catalog_titles or {}).get(ev.item_id) or display_title(ev.title or ev.item_id or "", with_year=not zh)
        shown = f"《{title}》" if zh else title
        values = ev.value if isinstance(ev.value, (list, tuple)) else [ev.value]
        words = " ".join(value_text(v, language, ev.attribute) for v in values if v not in (None, ""))
        if ev.kind == "liked_item":
            facts.append(f"喜欢{shown}" if zh else f"liked {shown}")
        elif ev.kind == "content_similarity":
            if ev.item_id or ev.title:
                facts.append(f"和{shown}相似" if zh else f"similar to {shown}")
            else:
                facts.append("和你描述的内容接近" if zh else "close to what you described")
        elif ev.kind in ("attribute_match", "constraint") and words:
            facts.append(f"符合要求 {words}" if zh else f"matches request {words}")
        elif ev.kind == "popularity":
            facts.append("很多观众喜欢" if zh else "popular with many viewers")
        elif ev.kind == "exploration":
            facts.append("新的尝试，用来探索口味" if zh else "something new to explore your taste")
    return ("；" if zh else "; ").join(dict.fromkeys(facts))


def build_prompt(evidence: list[Evidence], language: str, catalog_titles: dict[str, str] | None = None) -> str:
    """Return the few-shot paraphrase prompt; it holds the evidence and nothing else about the user."""
    return _PROMPTS["zh" if language == "zh" else "en"].format(facts=evidence_facts(evidence, language, catalog_titles))


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
