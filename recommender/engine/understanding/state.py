"""ConversationState: what a conversation has asked for so far, merged turn by turn and serialisable."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..types import Constraints, Profile
from .result import Understanding

MAX_KEYWORDS = 12


def _add(values: list, new: list) -> list:
    return values + [v for v in new if v not in values]


@dataclass
class ConversationState:
    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, list[float | None]] = field(default_factory=dict)
    domain: str | None = None
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # shown items turned down as a group
    keywords: list[str] = field(default_factory=list)
    last_items: list[str] = field(default_factory=list)
    focus_item: str | None = None  # the item "it" / "that one" points to
    language: str = "en"
    turns: int = 0

    def set_last_items(self, item_ids) -> None:
        """Record the list just shown, in order, so "the second one" resolves next turn."""
        self.last_items = [str(i) for i in item_ids]

    def item_at(self, position: int) -> str | None:
        """Return the id at a 1-based position of the last list (-1 for the last), or None."""
        if not self.last_items:
            return None
        if position == -1:
            return self.last_items[-1]
        return self.last_items[position - 1] if 1 <= position <= len(self.last_items) else None

    def apply(self, u: Understanding) -> None:
        """Merge one turn: new values refine (same attribute: replaced), negation removes positives, likes persist."""
        self.turns += 1
        self.language = u.language or self.language
        for ref in u.referenced_items:
            self.focus_item = ref.item_id
            if ref.sentiment == "liked":
                self.liked = _add([i for i in self.liked if i != ref.item_id], [ref.item_id])
                self.disliked = [i for i in self.disliked if i != ref.item_id]
            elif ref.sentiment == "disliked":
                self.disliked = _add([i for i in self.disliked if i != ref.item_id], [ref.item_id])
                self.liked = [i for i in self.liked if i != ref.item_id]
        if u.reject_all:
            self.rejected = _add(self.rejected, [i for i in self.last_items if i not in self.liked])
        if u.intent not in ("recommend", "feedback"):
            return
        if u.replace:
            # "算了，我更想看动画片": earlier wishes go, exclusions and ranges stay.
            self.include = {}
            self.keywords = []
        for attr, values in u.include.items():
            self.include[attr] = list(values)
            if attr in self.exclude:
                self.exclude[attr] = [v for v in self.exclude[attr] if v not in values]
                if not self.exclude[attr]:
                    del self.exclude[attr]
        for attr, values in u.exclude.items():
            self.exclude[attr] = _add(self.exclude.get(attr, []), list(values))
            if attr in self.include:
                self.include[attr] = [v for v in self.include[attr] if v not in values]
                if not self.include[attr]:
                    del self.include[attr]
        for attr, bounds in u.ranges.items():
            self.ranges[attr] = list(bounds)
        if u.domain:
            self.domain = u.domain
        if u.keywords:
            self.keywords = _add(self.keywords, u.keywords)[-MAX_KEYWORDS:]

    def constraints(self) -> Constraints:
        """Return the hard filters the conversation has set."""
        excluded = _add(list(self.disliked), self.rejected)
        return Constraints(
            include={k: list(v) for k, v in self.include.items()},
            exclude={k: list(v) for k, v in self.exclude.items()},
            ranges={k: (v[0], v[1]) for k, v in self.ranges.items()},
            domain=self.domain,
            exclude_items=excluded,
        )

    def profile(self) -> Profile:
        """Return the taste the conversation reveals: liked/disliked ids and free text for retrieval."""
        return Profile(liked=list(self.liked), disliked=list(self.disliked), query_text=" ".join(self.keywords))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ConversationState":
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
