"""The evidence people see beside an explanation: display titles, shares within 0–100 %, words in their language.

The ranker's evidence is data (kinds such as "liked_item", catalog titles, shares of a score that may exceed 1
when negative parts cancel positive ones). What a person reads is built here from it, once: the facts the
explanation cites, each with a label, a subject and a share, in the reply's language.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..rules import display_title, natural_title
from ..types import Evidence, ItemRecord
from .cited import cited_evidence, lowers_score, merged_evidence, was_example, was_shown
from .lexicon import attribute_name
from .template import _values, value_text

MAX_SHOWN = 6
ITEM_KINDS = ("liked_item", "history_item", "content_similarity")  # facts about another item, named by its title

KIND_LABELS = {
    "en": {"liked_item": "you liked", "history_item": "from your history", "content_similarity": "similar to",
           "request": "close to what you described", "attribute_match": "matches your request", "same_kind": "the same kind",
           "constraint": "fits your filter", "popularity": "popular", "exploration": "something new to try",
           "llm_suggestion": "suggested from general knowledge", "friend_liked": "liked by",
           "shown": "suggested earlier", "example": "your example"},
    "zh": {"liked_item": "你喜欢", "history_item": "你看过", "content_similarity": "内容相似",
           "request": "和你的描述接近", "attribute_match": "符合你的要求", "same_kind": "同一类型", "constraint": "满足筛选条件",
           "popularity": "很受欢迎", "exploration": "新的尝试", "llm_suggestion": "根据一般了解推荐",
           "friend_liked": "喜欢它的联系人", "shown": "之前推荐过", "example": "你举的例子"},
}


def score_shares(evidence: list[Evidence]) -> dict[int, float]:
    """Return {position in merged_evidence(evidence): share 0..1} for the facts that raised the score.

    A ranker's weights are shares of the item's score; where negative parts cancel positive ones the score is
    small and a positive part can be several times it ("1194 %"). Shown shares are each raising fact's part
    of everything that raised the score, so they stay within 0–100 % and sum to at most 100 %.
    """
    merged = merged_evidence(evidence)
    raising = {k: e.weight for k, e in enumerate(merged) if e.weight > 0 and not lowers_score(e)}
    total = max(1.0, sum(raising.values()))
    return {k: w / total for k, w in raising.items()}


def _subject(ev: Evidence, language: str, records: Mapping[str, ItemRecord] | None) -> str:
    """Return what a fact is about, as people read it: a display title, "genre: Comedy", or nothing."""
    zh = language == "zh"
    if ev.kind in ITEM_KINDS and (ev.item_id or ev.title):
        record = records.get(ev.item_id) if records is not None and ev.item_id else None
        title = display_title(record, language) if record is not None else natural_title(
            ev.title or ev.item_id or "", with_year=not zh)
        return f"《{title}》" if zh else title
    values = [value_text(v, language, ev.attribute if ev.attribute in ("year",) else None)
              for v in _values(ev.value) if ev.attribute]
    if not values:
        return ""
    name = attribute_name(ev.attribute or "", language)
    joined = "、".join(values) if zh else ", ".join(values)
    if not name:
        return joined
    return f"{name}：{joined}" if zh else f"{name}: {joined}"


def _label(ev: Evidence, language: str) -> str:
    table = KIND_LABELS["zh" if language == "zh" else "en"]
    if ev.kind == "content_similarity" and not (ev.item_id or ev.title):
        return table["request"]
    if was_shown(ev):
        return table["shown"]
    if was_example(ev):
        return table["example"]
    return table.get(ev.kind, "")


def _as_evidence(raw: Evidence | Mapping[str, Any]) -> Evidence:
    if isinstance(raw, Evidence):
        return raw
    known = ("kind", "weight", "item_id", "title", "attribute", "value", "detail")
    return Evidence(**{k: raw[k] for k in known if k in raw})


def shown_evidence(evidence: list[Evidence] | list[dict], records: Mapping[str, ItemRecord] | None,
                   language: str) -> list[dict]:
    """Return the facts to show beside an explanation, as dicts a page can print without knowing the engine.

    Each has the engine's `kind` and `item_id` (for programs), and for people: `label` ("you liked" / "你喜欢"),
    `title` (the subject: a display title, "genre: Comedy", or empty), `share` (0..1, also in `weight`) and
    `text`, the whole line ("you liked — The Godfather (1972) (35%)"). Only facts the explanation may cite are
    shown: nothing that lowered the score, no domain filter, each item once.
    """
    facts = [_as_evidence(e) for e in evidence]
    merged = merged_evidence(facts)
    shares = score_shares(facts)
    cited = cited_evidence(merged)  # the same objects as in merged: merging twice changes nothing
    out = []
    for ev in cited:
        label = _label(ev, language)
        if not label:
            continue
        share = shares.get(next((k for k, e in enumerate(merged) if e is ev), -1), 0.0)
        subject = _subject(ev, language, records)
        percent = f" ({round(share * 100)}%)" if share > 0 else ""
        out.append({"kind": ev.kind, "item_id": ev.item_id, "title": subject, "attribute": ev.attribute,
                    "value": ev.value, "detail": "", "label": label, "share": share, "weight": share,
                    "text": f"{label}{' — ' + subject if subject else ''}{percent}"})
    return out[:MAX_SHOWN]
