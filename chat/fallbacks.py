"""Simple, real stand-ins the chat uses when a richer engine piece is unavailable.

- `popular_items`: popularity from stored feedback, with hard constraints applied exactly (the case before
  the first model is trained).
- `simple_understand` / `SimpleState`: keyword rules over the catalog's own vocabulary (the case where the
  understanding package is not installed).
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from django.db.models import Count

from recommender.engine.catalog import Catalog
from recommender.engine.types import Constraints, Evidence, ItemRecord, Profile, ScoredItem
from recommender.models import Interaction

import numpy as np
import scipy.sparse as sp

POSITIVE_KINDS = ("rating", "click", "like", "favourite", "purchase", "view")
POPULARITY_SECONDS = 30.0

_pop_lock = threading.Lock()
_pop_cache: tuple[float, dict[str, int]] | None = None
_catalog_cache: tuple[object, Catalog] | None = None


def popularity_counts() -> dict[str, int]:
    """Return engine item id -> number of positive events, cached briefly."""
    global _pop_cache
    now = time.monotonic()
    with _pop_lock:
        if _pop_cache and now - _pop_cache[0] < POPULARITY_SECONDS:
            return _pop_cache[1]
    rows = (
        Interaction.objects.filter(kind__in=POSITIVE_KINDS)
        .exclude(kind="rating", value__lt=3)
        .values("item_id")
        .annotate(n=Count("id"))
    )
    counts = {str(r["item_id"]): r["n"] for r in rows}
    with _pop_lock:
        _pop_cache = (now, counts)
    return counts


def reset() -> None:
    """Forget cached counts and catalogs."""
    global _pop_cache, _catalog_cache
    with _pop_lock:
        _pop_cache, _catalog_cache = None, None


def _catalog(records: dict[str, ItemRecord]) -> Catalog:
    global _catalog_cache
    with _pop_lock:
        if _catalog_cache is None or _catalog_cache[0] is not records:
            values = list(records.values())
            _catalog_cache = (records, Catalog(values, [], sp.csr_matrix((0, len(values)), dtype=np.float32)))
        return _catalog_cache[1]


def popular_items(
    records: dict[str, ItemRecord], *, constraints: Constraints, profile: Profile, n: int, keywords: Iterable[str] = ()
) -> list[ScoredItem]:
    """Return the n most popular items that satisfy the constraints, skipping items the person already rated."""
    if not records:
        return []
    catalog = _catalog(records)
    counts = popularity_counts()
    mask = catalog.constraint_mask(constraints)
    seen = set(profile.liked) | set(profile.disliked) | set(profile.history)
    words = [w.casefold() for w in keywords if len(w) > 2]
    top = max(counts.values(), default=1) or 1
    scored: list[tuple[float, int]] = []
    for idx, record in enumerate(catalog.records):
        if (mask is not None and not mask[idx]) or record.item_id in seen:
            continue
        score = counts.get(record.item_id, 0) / top
        if words:
            text = record.text().casefold()
            score += sum(1.0 for w in words if w in text)
        scored.append((score, idx))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    out = []
    for score, idx in scored[:n]:
        record = catalog.records[idx]
        evidence = [
            Evidence(kind="popularity", weight=1.0, item_id=record.item_id,
                     detail=f"{counts.get(record.item_id, 0)} positive events")
        ]
        for attribute, value in catalog.satisfied(constraints, idx):
            if attribute == "domain":  # the kind of item asked for, not a reason to pick this one
                continue
            evidence.append(Evidence(kind="constraint", weight=0.0, attribute=attribute, value=value))
        out.append(ScoredItem(item_id=record.item_id, score=float(score), evidence=evidence,
                              sources={"popularity": float(score)}))
    return out


# ---------------------------------------------------------------- rule-based understanding

_WHY = re.compile(r"\bwhy\b|为什么|为何|理由", re.I)
_ASK = re.compile(r"what year|when (was|did)|who (directed|made)|how much|price of|哪一?年|多少钱|什么时候", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|thanks|thank you|你好|谢谢|嗨)\b", re.I)
_LIKE = re.compile(r"\b(i (really )?(liked|loved|like|love|enjoyed))\b|我喜欢|喜欢", re.I)
_DISLIKE = re.compile(r"\b(i (hated|disliked|didn't like|did not like|don't like))\b|不喜欢|讨厌", re.I)
_NEGATION = re.compile(r"\b(no|not|without|except)\s+(\w+)|不要(\S+)", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+|[\u4e00-\u9fff]+")
_DECADE = re.compile(r"\b(?:19)?([5-9]0)'?s\b")
_STOP = {"the", "and", "some", "something", "recommend", "please", "want", "with", "like", "for", "me", "show",
         "any", "good", "more", "movies", "movie", "films", "film", "find", "looking", "give", "can", "you"}


@dataclass
class SimpleUnderstanding:
    """The fallback parse of one message (same field names as the understanding layer's record)."""

    intent: str = "recommend"
    language: str = "en"
    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, list[Any]] = field(default_factory=dict)
    referenced_items: list[dict[str, Any]] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    domain: str | None = None
    ask_field: str | None = None
    replace: bool = False
    llm_used: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SimpleState:
    """Accumulated constraints, likes and the last list shown (fallback conversation state)."""

    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, list[Any]] = field(default_factory=dict)
    domain: str | None = None
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    last_items: list[str] = field(default_factory=list)
    language: str = "en"
    keywords: list[str] = field(default_factory=list)

    def apply(self, u: SimpleUnderstanding) -> None:
        if u.replace:
            self.include = {}
        for attr, values in u.include.items():
            merged = self.include.setdefault(attr, [])
            merged += [v for v in values if v not in merged]
            self.exclude[attr] = [v for v in self.exclude.get(attr, []) if v not in values]
        for attr, values in u.exclude.items():
            merged = self.exclude.setdefault(attr, [])
            merged += [v for v in values if v not in merged]
            self.include[attr] = [v for v in self.include.get(attr, []) if v not in values]
        self.include = {k: v for k, v in self.include.items() if v}
        self.exclude = {k: v for k, v in self.exclude.items() if v}
        self.ranges.update(u.ranges)
        self.domain = u.domain or self.domain
        self.language = u.language
        if u.keywords:
            self.keywords = list(u.keywords)
        for ref in u.referenced_items:
            bucket = self.disliked if ref.get("sentiment") == "disliked" else self.liked
            if ref.get("sentiment") in ("liked", "disliked") and ref["item_id"] not in bucket:
                bucket.append(ref["item_id"])

    def set_last_items(self, ids: list[str]) -> None:
        self.last_items = list(ids)

    def constraints(self) -> Constraints:
        return Constraints(include=dict(self.include), exclude=dict(self.exclude),
                           ranges={k: (v[0], v[1]) for k, v in self.ranges.items()}, domain=self.domain)

    def profile(self) -> Profile:
        return Profile(liked=list(self.liked), disliked=list(self.disliked), query_text=" ".join(self.keywords))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> "SimpleState":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


def _vocabulary(records: Iterable[ItemRecord]) -> dict[str, tuple[str, str]]:
    """Return lowercase attribute value -> (attribute, value) over the catalog's string attributes."""
    vocab: dict[str, tuple[str, str]] = {}
    for record in records:
        for attr, raw in record.attributes.items():
            for value in raw if isinstance(raw, list) else [raw]:
                if isinstance(value, str) and len(value) > 2:
                    vocab.setdefault(value.casefold(), (attr, value))
    return vocab


def _strip_year(title: str) -> str:
    title = re.sub(r"\s*\(\d{4}\)\s*$", "", title).strip()
    match = re.match(r"^(.*), (The|A|An)$", title)
    return f"{match.group(2)} {match.group(1)}" if match else title


def simple_understand(text: str, *, state: SimpleState | None, records: dict[str, ItemRecord]) -> SimpleUnderstanding:
    """Return a rule-based parse: intent, attribute values named in the text, titles mentioned, keywords."""
    low = text.casefold()
    u = SimpleUnderstanding(language="zh" if _CJK.search(text) else "en")
    vocab = _vocabulary(records.values())
    negated = {m.group(2) or m.group(3) for m in _NEGATION.finditer(low)}
    for word, (attr, value) in vocab.items():
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", low):
            target = u.exclude if any(n and n.startswith(word[:4]) for n in negated) else u.include
            target.setdefault(attr, []).append(value)
    decade = _DECADE.search(low)
    if decade:
        start = 1900 + int(decade.group(1))
        u.ranges["year"] = [start, start + 9]
    sentiment = "disliked" if _DISLIKE.search(text) else "liked" if _LIKE.search(text) else "neutral"
    for item_id, record in records.items():
        for name in (record.title, _strip_year(record.title), *record.aliases):
            if len(name) > 3 and name.casefold() in low:
                u.referenced_items.append({"item_id": item_id, "title": record.title, "sentiment": sentiment, "via": "title"})
                break
    u.keywords = [w for w in _WORD.findall(low) if w not in _STOP and w not in vocab][:8]
    if _ASK.search(text) and u.referenced_items:
        u.intent = "ask_info"
        u.ask_field = "price" if re.search(r"how much|price|多少钱", low) else "year"
    elif u.referenced_items and sentiment != "neutral" and not u.include:
        u.intent = "feedback"
    elif _GREETING.search(text) and not u.include and not u.referenced_items:
        u.intent = "chitchat"
    return u


def is_why_question(text: str) -> bool:
    """Return whether the message asks why something was recommended."""
    return bool(_WHY.search(text))
