"""What the chat serves before the first model is trained: popularity from stored feedback, with hard
constraints applied exactly; and the test for "why ...?" follow-up questions."""
from __future__ import annotations

import re
import threading
import time
from typing import Iterable

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


# ---------------------------------------------------------------- follow-up questions

_WHY = re.compile(r"\bwhy\b|为什么|为何|理由", re.I)


def is_why_question(text: str) -> bool:
    """Return whether the message asks why something was recommended."""
    return bool(_WHY.search(text))
