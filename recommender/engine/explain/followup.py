"""Follow-up questions about a listed item ("why the second one?", "为什么推荐这个？") and their answers."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..llm.base import LLMBackend
from ..rules import item_at_position, list_position
from ..titles import normalize_quotes, title_forms, tokens
from ..types import Evidence, ItemRecord, ScoredItem
from .paraphrase import FALLBACKS, FallbackCounter, paraphrase

_DEICTIC_EN = re.compile(r"\b(this|that|it|this one|that one)\b", re.IGNORECASE)
_DEICTIC_ZH = re.compile(r"这个|这部|这本|这件|这款|这首|那个|那部|它|该片|这一个")

CLARIFY = {
    "en": "Which one do you mean? You can say \u201cthe second one\u201d or name the title.",
    "zh": "你指的是哪一个？可以说\u201c第二个\u201d，或者直接说出名字。",
}


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
    pos = list_position(text)
    if pos is not None:
        return item_at_position(last_items, pos)
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
