"""Which listed item a "why this one?" question means: the explanation package's resolver, else simple rules."""
from __future__ import annotations

import logging
import re

from recommender.engine.types import ItemRecord

try:
    from recommender.engine import explain as explain_pkg
except ImportError:  # pragma: no cover - depends on the installation
    explain_pkg = None

log = logging.getLogger(__name__)


def resolve_followup(text: str, shown: list[dict], records: dict[str, ItemRecord], language: str) -> dict | None:
    """Return the shown entry a "why this one?" question refers to, or None."""
    shown = [s for s in shown if s.get("item_id") in records]
    if not shown:
        return None
    items = [records[s["item_id"]] for s in shown]
    record = None
    if explain_pkg is not None and hasattr(explain_pkg, "resolve_followup"):
        try:
            record = explain_pkg.resolve_followup(text, items, language)
        except Exception:  # noqa: BLE001
            log.exception("follow-up resolution failed")
    if record is None:
        record = ordinal_pick(text, items)
    if record is None:
        return None
    return next(s for s in shown if s["item_id"] == record.item_id)


_ORDINALS = {"first": 0, "second": 1, "third": 2, "fourth": 3, "fifth": 4, "sixth": 5, "seventh": 6,
             "eighth": 7, "ninth": 8, "tenth": 9, "一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5,
             "七": 6, "八": 7, "九": 8, "十": 9}


def ordinal_pick(text: str, items: list[ItemRecord]) -> ItemRecord | None:
    """Return the item named by an ordinal, a #number or its title; None when unclear."""
    low = text.casefold()
    for record in items:
        for name in (record.title, re.sub(r"\s*\(\d{4}\)$", "", record.title), *record.aliases):
            if len(name) > 2 and name.casefold() in low:
                return record
    if re.search(r"\blast\b|最后", low):
        return items[-1]
    match = re.search(r"#\s*(\d+)|第\s*(\d+)", low)
    if match:
        idx = int(match.group(1) or match.group(2)) - 1
        return items[idx] if 0 <= idx < len(items) else None
    for word, idx in _ORDINALS.items():
        if (re.search(rf"\b{word}\b", low) if word.isascii() else f"第{word}" in text) and idx < len(items):
            return items[idx]
    if len(items) == 1 or re.search(r"this one|that one|这个|那个", low):
        return items[0]
    return None
