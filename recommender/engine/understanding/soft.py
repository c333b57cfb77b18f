"""Soft preferences: free-form values (user tags and the like) that re-rank a list and never filter it."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..types import Evidence, ItemRecord, ScoredItem

# The most a full match can add, as a share of the list's score spread: enough to reorder near neighbours,
# never enough to lift a weak item over a strong one.
MAX_BOOST = 0.15


def _canon(value: Any) -> str:
    flat = re.sub(r"[^0-9a-z\u3400-\u9fff]+", " ", str(value).lower()).strip()
    return flat[:-1] if flat.endswith("s") and len(flat) > 3 else flat


def _values(record: ItemRecord | None, attr: str) -> set[str]:
    if record is None:
        return set()
    value = (record.attributes or {}).get(attr)
    values = value if isinstance(value, (list, tuple, set)) else [value] if value not in (None, "") else []
    return {_canon(v) for v in values}


def apply_soft_preferences(
    scored_items: list[ScoredItem],
    records: Mapping[str, ItemRecord] | Any,
    prefer: Mapping[str, list[Any]] | None,
    avoid: Mapping[str, list[Any]] | None = None,
    *,
    max_boost: float = MAX_BOOST,
) -> list[ScoredItem]:
    """Return the items re-scored by soft preferences and re-sorted (stable: ties keep their order).

    records maps item id -> ItemRecord (a CatalogIndex works too, through its .items). Each item gains
    max_boost x (score spread) x (share of preferred values it carries) and loses the same for avoided values;
    matched values are added as "attribute_match" evidence. Nothing is removed. The input list is not changed.
    """
    prefer = {a: [_canon(v) for v in vs] for a, vs in (prefer or {}).items() if vs}
    avoid = {a: [_canon(v) for v in vs] for a, vs in (avoid or {}).items() if vs}
    if not scored_items or not (prefer or avoid):
        return list(scored_items)
    lookup = getattr(records, "items", records)
    if callable(lookup):  # a plain dict's .items method, not a CatalogIndex's mapping
        lookup = records
    scores = [s.score for s in scored_items]
    spread = (max(scores) - min(scores)) or max(abs(max(scores)), 1e-9)
    wanted = sum(len(v) for v in prefer.values()) or 1
    unwanted = sum(len(v) for v in avoid.values()) or 1
    out = []
    for position, item in enumerate(scored_items):
        record = lookup.get(item.item_id)
        hits = [(a, v) for a, vs in prefer.items() for v in vs if v in _values(record, a)]
        misses = [(a, v) for a, vs in avoid.items() for v in vs if v in _values(record, a)]
        delta = max_boost * spread * (len(hits) / wanted - len(misses) / unwanted)
        evidence = list(item.evidence)
        share = max_boost / (1 + max_boost)
        evidence += [Evidence("attribute_match", share / max(len(hits), 1), attribute=a, value=v, detail="soft preference")
                     for a, v in hits]
        sources = dict(item.sources)
        if delta:
            sources["soft_preferences"] = delta
        out.append((item.score + delta, position, replace(item, score=item.score + delta, evidence=evidence,
                                                          sources=sources)))
    out.sort(key=lambda t: (-t[0], t[1]))
    return [t[2] for t in out]
