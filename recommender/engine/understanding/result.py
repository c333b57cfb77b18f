"""The Understanding record: what one user turn asks for, grounded in catalog ids and vocabulary."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..rules import INTENTS  # noqa: F401 - one list of intents

SENTIMENTS = ("liked", "disliked", "neutral")


@dataclass
class ItemRef:
    """An item the turn mentions; via is "title", "alias", "ordinal" (list position), "context" (it / that one) or
    "maker" (a work of the maker named as an example)."""

    item_id: str
    title: str = ""
    sentiment: str = "neutral"
    via: str = "title"  # also "fuzzy" (a typo away from the title)
    # "exact", "fuzzy", or "ambiguous" (others named as close: the most popular was taken; the reply may ask)
    match: str = "exact"
    alternatives: list[str] = field(default_factory=list)
    # A reaction to a suggestion beyond liking: "seen", "unseen", "accepted" (not seen, will try), or ""
    reaction: str = ""
    maker: str = ""  # via "maker": the maker the person named ("something like Radiohead"), whose work this is
    # The like was not said, only taken from the request ("something like The Matrix"): it shapes the list but is
    # not acknowledged as a stated taste.
    implied: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Understanding:
    intent: str = "chitchat"
    language: str = "en"
    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, list[float | None]] = field(default_factory=dict)
    # Attributes whose included values must all hold: one compound ("romantic comedy", "爱情喜剧").
    all_of: list[str] = field(default_factory=list)
    referenced_items: list[ItemRef] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    domain: str | None = None
    # Cross-domain requests: recommend from target_domain, seeded by items from another domain.
    target_domain: str | None = None
    source_items: list[str] = field(default_factory=list)
    ask_field: str | None = None
    replace: bool = False
    # The whole shown list was turned down ("none of these").
    reject_all: bool = False
    # Free-form values (user tags and the like): soft preferences that re-rank and never filter.
    prefer: dict[str, list[Any]] = field(default_factory=dict)
    avoid: dict[str, list[Any]] = field(default_factory=dict)
    # The person asked for more of the same ("any other suggestions?", "还有别的吗").
    more: bool = False
    # The turn accepts the assistant's offer to drop a filter ("yes, drop it", "好的"): the state loosens it.
    loosen: bool = False
    # Attributes whose filters the person says do not matter ("any year is fine", "类型不限"): the state drops them.
    drop: list[str] = field(default_factory=list)
    # The domain this turn is about (stated, or that of the items or vocabulary it names); a new one resets the topic.
    topic_domain: str | None = None
    # Titles the turn names ("like The Matrix", 《黑客帝国》) that the catalog does not hold.
    unknown_titles: list[str] = field(default_factory=list)
    llm_used: bool = False
    # The request asks for items like the named ones ("something like Amelie and Chocolat", "类似《X》的"), not for
    # what a taste in general leads to ("I love A, B and C, what else?").
    alike: bool = False
    # "Something cheaper" where nothing looked at or asked for has a price (albums): the reply says so.
    unpriced: bool = False
    # A request about the person's connections (understanding/social.py): {"kind", "names"}, else None.
    social: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    text: str = ""

    def liked(self) -> list[str]:
        """Return ids of items the turn speaks well of."""
        return [r.item_id for r in self.referenced_items if r.sentiment == "liked"]

    def disliked(self) -> list[str]:
        """Return ids of items the turn speaks badly of."""
        return [r.item_id for r in self.referenced_items if r.sentiment == "disliked"]

    def has_constraints(self) -> bool:
        return bool(self.include or self.exclude or self.ranges)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["referenced_items"] = [r.to_dict() for r in self.referenced_items]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Understanding":
        data = dict(data or {})
        refs = [ItemRef(**r) for r in data.pop("referenced_items", []) or []]
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["ranges"] = {k: list(v) for k, v in (kwargs.get("ranges") or {}).items()}
        return cls(referenced_items=refs, **kwargs)
