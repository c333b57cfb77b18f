"""Evidence fidelity: how much of an item's score the evidence an explanation cites accounts for."""
from __future__ import annotations

from ..types import Evidence, ScoredItem
from .cited import cited_evidence


def evidence_coverage(scored: ScoredItem, cited: list[Evidence] | None = None) -> float:
    """Return the share of the item's score (0..1) carried by the cited evidence (default: what the template cites).

    Evidence weights are shares of the item's score; only positive shares count, since a fact that
    lowered the score does not explain why the item was shown.
    """
    chosen = cited_evidence(scored.evidence) if cited is None else cited
    total = sum(max(0.0, float(e.weight)) for e in chosen if e.kind != "disliked_item")
    return max(0.0, min(1.0, total))
