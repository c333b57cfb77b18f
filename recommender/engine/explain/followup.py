"""Follow-up questions about a listed item ("why the second one?", "为什么推荐这个？") and their answers."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..llm.base import LLMBackend
from ..types import Evidence, ItemRecord, ScoredItem
from .lexicon import EN_CARDINALS, EN_ORDINALS, ZH_NUMERALS
from .paraphrase import FALLBACKS, FallbackCounter, paraphrase
from .titles import normalize_quotes, title_forms, tokens

_ZH_ORDINAL = re.compile(r"(倒数)?第\s*([0-9]+|[一二两三四五六七八九十]+)\s*(个|部|本|件|项|首|款|条|名|位)?")
_ZH_LAST = re.compile(r"最后(一|那)?(个|部|本|件|项|首|款|条)?")
_ZH_FIRST = re.compile(r"(头|首)(一)?(个|部)")
_EN_NUMBER = re.compile(r"(?:#|\bno\.?\s*|\bnumber\s+|\bitem\s+|\boption\s+|\bpick\s+)(\d+|[a-z]+)\b", re.IGNORECASE)
_EN_LAST = re.compile(r"\b(the\s+)?(very\s+)?last\b", re.IGNORECASE)
_EN_SECOND_LAST = re.compile(r"\b(second[\s-]+to[\s-]+last|penultimate|next[\s-]+to[\s-]+last)\b", re.IGNORECASE)
_DEICTIC_EN = re.compile(r"\b(this|that|it|this one|that one)\b", re.IGNORECASE)
_DEICTIC_ZH = re.compile(r"这个|这部|这本|这件|这款|这首|那个|那部|它|该片|这一个")

CLARIFY = {
    "en": "Which one do you mean? You can say \u201cthe second one\u201d or name the title.",
    "zh": "你指的是哪一个？可以说\u201c第二个\u201d，或者直接说出名字。",
}


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + ZH_NUMERALS.get(text[1:], 0)
    if text.endswith("十"):
        return ZH_NUMERALS.get(text[:-1], 0) * 10
    if "十" in text:
        tens, ones = text.split("十", 1)
        return ZH_NUMERALS.get(tens, 0) * 10 + ZH_NUMERALS.get(ones, 0)
    return ZH_NUMERALS.get(text)


def _by_title(text: str, items: list[ItemRecord]) -> ItemRecord | None:
    """Return the item whose title or alias the text names (the longest match wins)."""
    text_toks = [t for t, _, _ in tokens(text)]
    best: tuple[int, ItemRecord] | None = None
    for item in items:
        for form in [*title_forms(item.title), *item.aliases]:
            form = form.strip("《》 ")
            if not form:
                continue
            form_toks = [t for t, _, _ in tokens(form)]
            if form_toks:
                n = len(form_toks)
                hit = any(text_toks[i:i + n] == form_toks for i in range(len(text_toks) - n + 1))
                size = len(form)
            else:  # a Chinese alias
                hit, size = len(form) >= 2 and form in text, len(form) * 2
            if hit and (best is None or size > best[0]):
                best = (size, item)
    return best[1] if best else None


def _position(text: str) -> int | None:
    """Return the 1-based position the text refers to (negative counts from the end), if any."""
    m = _ZH_ORDINAL.search(text)
    if m:
        n = _zh_number(m.group(2))
        if n:
            return -n if m.group(1) else n
    if _ZH_LAST.search(text):
        return -1
    if _ZH_FIRST.search(text):
        return 1
    if _EN_SECOND_LAST.search(text):
        return -2
    m = _EN_NUMBER.search(text)
    if m:
        word = m.group(1).casefold()
        n = int(word) if word.isdigit() else EN_CARDINALS.get(word) or EN_ORDINALS.get(word)
        if n:
            return n
    for word, _, _ in tokens(text):
        if word in EN_ORDINALS and word != "top":
            return EN_ORDINALS[word]
    if _EN_LAST.search(text):
        return -1
    if re.search(r"\btop\s+(one|pick|item)\b", text, re.IGNORECASE):
        return 1
    return None


def resolve_followup(text: str, last_items: list[ItemRecord], language: str = "en", *,
                     focus: ItemRecord | None = None) -> ItemRecord | None:
    """Return the listed item a follow-up question refers to, or None when it names none of them.

    Titles and aliases win, then ordinals ("the second one", "第二个", "#3", "the last one"),
    then "this"/"这个", which means the focused card when there is one, else the only or first item.
    """
    if not last_items:
        return None
    text = normalize_quotes(text or "")
    named = _by_title(text, last_items)
    if named is not None:
        return named
    pos = _position(text)
    if pos is not None:
        index = pos - 1 if pos > 0 else len(last_items) + pos
        return last_items[index] if 0 <= index < len(last_items) else None
    if _DEICTIC_ZH.search(text) or _DEICTIC_EN.search(text):
        return focus or last_items[0]
    if len(last_items) == 1:
        return last_items[0]
    return None


@dataclass
class FollowupAnswer:
    """The answer to a follow-up: the item (None when unclear), the text, and the evidence behind it."""

    item: ItemRecord | None
    text: str
    evidence: list[Evidence] = field(default_factory=list)
    source: str = "template"
    failures: list[str] = field(default_factory=list)


def answer_followup(question: str, last_items: list[ItemRecord],
                    evidence_by_item: Mapping[str, list[Evidence] | ScoredItem], *, language: str = "en",
                    backend: LLMBackend | None = None, catalog: Any = None, focus: ItemRecord | None = None,
                    counter: FallbackCounter | None = FALLBACKS) -> FollowupAnswer:
    """Return the explanation of the item a follow-up refers to, or a clarifying question."""
    item = resolve_followup(question, last_items, language, focus=focus)
    if item is None:
        return FollowupAnswer(None, CLARIFY.get(language, CLARIFY["en"]))
    found = evidence_by_item.get(item.item_id, [])
    evidence = list(found.evidence if isinstance(found, ScoredItem) else found)
    result = paraphrase(item, evidence, language=language, backend=backend, catalog=catalog, counter=counter)
    return FollowupAnswer(item, result.text, evidence, result.source, result.failures)
