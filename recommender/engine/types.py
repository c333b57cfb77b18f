"""Plain records shared by the engine, the understanding layer and the Django side.

Nothing here imports Django; every record converts to and from JSON-safe dicts.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemRecord:
    """One catalog item as the engine sees it (ids are the catalog's stable item keys)."""

    item_id: str
    title: str
    domain: str = "movie"
    description: str = ""
    aliases: tuple[str, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """Return the text used for content embeddings: title, aliases, description, attribute values."""
        parts = [self.title, *self.aliases, self.description]
        for key, value in self.attributes.items():
            if isinstance(value, (list, tuple)):
                parts.append(f"{key}: {', '.join(str(v) for v in value)}")
            elif value not in (None, ""):
                parts.append(f"{key}: {value}")
        return ". ".join(p for p in parts if p)


@dataclass
class Constraints:
    """Hard filters applied exactly: attribute include/exclude, numeric ranges, domain, item exclusions.

    include: {attribute: [values]} — an item must match at least one value of every listed attribute, or every
    value of an attribute named in all_of ("romantic comedy": Romance and Comedy).
    exclude: {attribute: [values]} — an item matching any listed value is dropped.
    ranges: {attribute: (low, high)} — inclusive; None leaves a side open.
    """

    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    domain: str | None = None
    exclude_items: list[str] = field(default_factory=list)
    all_of: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.include or self.exclude or self.ranges or self.domain or self.exclude_items)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ranges"] = {k: list(v) for k, v in self.ranges.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Constraints:
        data = data or {}
        return cls(
            include={k: list(v) for k, v in (data.get("include") or {}).items()},
            exclude={k: list(v) for k, v in (data.get("exclude") or {}).items()},
            ranges={k: (v[0], v[1]) for k, v in (data.get("ranges") or {}).items()},
            domain=data.get("domain"),
            exclude_items=list(data.get("exclude_items") or []),
            all_of=[str(a) for a in data.get("all_of") or []],
        )


@dataclass
class Profile:
    """An ad-hoc user: what a conversation (and optionally stored history) says about taste.

    liked/disliked hold item ids; weights default to 1.0. query_text is free text for content retrieval.
    """

    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    history: dict[str, float] = field(default_factory=dict)
    query_text: str = ""
    # Soft preferences from free-form attributes (user tags): {attribute: [values]} that re-rank, never filter.
    prefer: dict[str, list[Any]] = field(default_factory=dict)
    avoid: dict[str, list[Any]] = field(default_factory=dict)
    # Items not to recommend again: named by the person or already suggested in the conversation.
    exclude: list[str] = field(default_factory=list)
    # The conversation so far as the text encoder reads it (embedding.dialogue_text), for dialogue retrieval.
    dialogue_text: str = ""
    # The request asks for items like the liked ones (Understanding.alike): likeness leads however many are named.
    alike: bool = False
    # Items the assistant suggested in this conversation, whatever the reaction: the talk is an exchange.
    suggested: list[str] = field(default_factory=list)
    # Liked items named only as examples ("something like X"): ranked as liked, explained as "like X".
    examples: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Evidence:
    """Why an item scored as it did: structured, checkable facts from the ranker."""

    # "liked_item", "history_item" (interacted with, not liked), "disliked_item", "attribute_match",
    # "content_similarity", "popularity", "exploration", "constraint", "llm_suggestion" (an LLM named the title),
    # "same_kind" (shares kind values, e.g. genres, with the named item item_id: the conversation's likeness)
    kind: str
    weight: float  # share of the item's score this fact accounts for (0..1) where the ranker can say
    item_id: str | None = None
    title: str | None = None
    attribute: str | None = None
    value: Any = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScoredItem:
    item_id: str
    score: float
    evidence: list[Evidence] = field(default_factory=list)
    sources: dict[str, float] = field(default_factory=dict)  # per-ranker score contributions

    def to_dict(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "score": self.score,
            "evidence": [e.to_dict() for e in self.evidence],
            "sources": dict(self.sources),
        }
