"""ConversationState: what a conversation has asked for so far, merged turn by turn and serialisable.

It records both sides: the person's turns (apply) and the assistant's (note_assistant, as read by
assistant.read_assistant), so suggestions and the reactions to them shape the profile. The rules are written down in docs/dialogue.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..types import Constraints, Profile
from .result import Understanding

if TYPE_CHECKING:
    from .assistant import AssistantReading

MAX_KEYWORDS = 12
MAX_PREFERENCES = 12
# What a reaction to a suggestion means for taste: liked ones (and accepted ones) seed the profile.
POSITIVE_REACTIONS = ("liked", "accepted")


def _add(values: list, new: list) -> list:
    return values + [v for v in new if v not in values]


ASSISTANT_TEXT_LIMIT = 500


@dataclass
class ConversationState:
    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, list[float | None]] = field(default_factory=dict)
    # Attributes whose included values must all hold ("romantic comedy": Romance and Comedy).
    all_of: list[str] = field(default_factory=list)
    domain: str | None = None
    liked: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # shown items turned down as a group
    keywords: list[str] = field(default_factory=list)
    last_items: list[str] = field(default_factory=list)
    focus_item: str | None = None  # the item "it" / "that one" points to
    language: str = "en"
    turns: int = 0
    # Items the person named: item id -> "liked", "disliked", "seen", "asked" or "neutral".
    mentions: dict[str, str] = field(default_factory=dict)
    # Items the assistant suggested, in order: {"item_id", "reaction"}; reaction is "" until the person reacts
    # ("liked", "disliked", "seen", "accepted", "unseen", "rejected").
    suggestions: list[dict[str, str]] = field(default_factory=list)
    prefer: dict[str, list[Any]] = field(default_factory=dict)
    avoid: dict[str, list[Any]] = field(default_factory=dict)
    topic_domain: str | None = None
    # The assistant has just suggested items and the person has not answered yet: a bare reaction ("loved it",
    # "看过了") is about them.
    awaiting_reaction: bool = False
    # The conversation is about recommendations: the person asked for some or the assistant suggested some.
    # Then a bare answer ("other?", "I haven't seen it", "yes please") asks for a refreshed list.
    recommending: bool = False
    # The last request that named items asked for items like them ("something like A and B").
    alike: bool = False
    # Liked items the person named only as examples ("something like The Matrix"), not as a stated taste.
    examples: list[str] = field(default_factory=list)
    # The assistant's last message asked something ("Want another?"): a bare "yes" answers it.
    assistant_asked: bool = False
    # The assistant's last message (its start), which a learned reading of the reply takes as context.
    assistant_text: str = ""
    # The filter the assistant offered to drop when nothing matched ({"include"/"exclude"/"ranges": ...}), until the
    # person's next turn: "yes" / "drop it" / "好的" loosens it.
    offered_relax: dict[str, Any] = field(default_factory=dict)
    # What the latest turn changed (for replies and debugging): keys such as "liked", "include", "topic_reset".
    changed: dict[str, Any] = field(default_factory=dict)

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

    def suggested_ids(self) -> list[str]:
        return [entry["item_id"] for entry in self.suggestions]

    def reshowable_items(self) -> list[str]:
        """Return earlier suggestions the person did not turn down: kept out of a new list while other items
        can fill it, shown again (after the new ones) when a refinement leaves too few."""
        refused = set(self.disliked) | set(self.rejected) | set(self.mentions)
        return [entry["item_id"] for entry in self.suggestions
                if entry["item_id"] not in refused and entry["reaction"] not in ("disliked", "rejected", "seen")]

    def _reset_topic(self) -> None:
        """Drop what the old topic asked for; named items, suggestions and exclusions of items stay."""
        self.include, self.exclude, self.ranges, self.all_of = {}, {}, {}, []
        self.prefer, self.avoid = {}, {}
        self.keywords = []
        self.domain = None

    def _react(self, item_id: str, sentiment: str, reaction: str, changed: dict) -> bool:
        """Record a reaction if the item was suggested; return whether it was."""
        for entry in self.suggestions:
            if entry["item_id"] == item_id:
                value = sentiment if sentiment in ("liked", "disliked") else reaction
                if reaction == "unseen":
                    value = entry["reaction"]  # not seen yet and no opinion: nothing changes
                if reaction == "accepted" and sentiment != "disliked":
                    value = "accepted"
                if value:
                    entry["reaction"] = value
                    changed.setdefault("reactions", {})[item_id] = value
                return True
        return False

    def apply(self, u: Understanding) -> None:
        """Merge one person's turn: new values refine (same attribute: replaced), negation removes positives, likes
        persist, reactions update suggestions, and a new topic or domain drops the old topic's constraints."""
        self.turns += 1
        self.language = u.language or self.language
        offered, self.offered_relax = self.offered_relax, {}  # an offer is answered by the next turn or lapses
        self.awaiting_reaction = self.assistant_asked = False
        self.recommending = self.recommending or u.intent == "recommend"
        changed: dict[str, Any] = {}
        topic = getattr(u, "topic_domain", None)
        if u.intent == "recommend" and topic:
            if self.topic_domain and topic != self.topic_domain:
                changed["topic_reset"] = {"from": self.topic_domain, "to": topic}
                self._reset_topic()
            self.topic_domain = topic
        if u.intent == "recommend" and any(r.via not in ("context", "ordinal") for r in u.referenced_items):
            self.alike = u.alike
        for ref in u.referenced_items:
            self.focus_item = ref.item_id
            reaction = getattr(ref, "reaction", "")
            suggested = self._react(ref.item_id, ref.sentiment, reaction, changed)
            if not suggested:
                if ref.sentiment in ("liked", "disliked"):
                    self.mentions[ref.item_id] = ref.sentiment
                elif reaction == "seen":
                    self.mentions[ref.item_id] = "seen"
                elif ref.item_id not in self.mentions:
                    self.mentions[ref.item_id] = "asked" if u.intent == "ask_info" else "neutral"
            self.examples = [i for i in self.examples if i != ref.item_id]
            if ref.sentiment == "liked" and getattr(ref, "implied", False):
                self.examples.append(ref.item_id)
            if ref.sentiment == "liked":
                self.liked = _add([i for i in self.liked if i != ref.item_id], [ref.item_id])
                self.disliked = [i for i in self.disliked if i != ref.item_id]
                changed.setdefault("liked", []).append(ref.item_id)
            elif ref.sentiment == "disliked":
                self.disliked = _add([i for i in self.disliked if i != ref.item_id], [ref.item_id])
                self.liked = [i for i in self.liked if i != ref.item_id]
                changed.setdefault("disliked", []).append(ref.item_id)
        if u.reject_all:
            turned_down = [i for i in self.last_items if i not in self.liked]
            self.rejected = _add(self.rejected, turned_down)
            for entry in self.suggestions:
                if entry["item_id"] in turned_down and not entry["reaction"]:
                    entry["reaction"] = "rejected"
            changed["rejected"] = turned_down
        self.changed = changed
        if u.intent not in ("recommend", "feedback"):
            return
        if u.loosen and offered:
            changed["loosened"] = self.loosen(offered)
        if u.drop:  # "any year is fine": the wishes on those attributes go, refusals stay
            held = {attr: True for attr in u.drop}
            dropped = self.loosen({"include": held, "ranges": held})
            if any(dropped.values()):
                changed["loosened"] = {**changed.get("loosened", {}), **dropped}
        self._merge_wishes(u)
        if u.domain:
            self.domain = u.domain
        if u.keywords:
            self.keywords = _add(self.keywords, u.keywords)[-MAX_KEYWORDS:]
        for key in ("include", "exclude", "ranges", "prefer", "avoid"):
            value = getattr(u, key, None)
            if value:
                changed[key] = {k: list(v) for k, v in value.items()}

    def _merge_wishes(self, u: Understanding) -> None:
        """Merge the turn's filters and soft preferences: same attribute replaced, a refusal removes the wish."""
        if u.replace:
            # "算了，我更想看动画片": earlier wishes go, exclusions and ranges stay.
            self.include, self.all_of = {}, []
            self.keywords = []
            self.prefer = {}
        for attr, values in u.include.items():
            self.include[attr] = list(values)
            self.all_of = [a for a in self.all_of if a != attr] + ([attr] if attr in u.all_of else [])
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
        for attr, values in (getattr(u, "prefer", None) or {}).items():
            self.prefer[attr] = _add(self.prefer.get(attr, []), list(values))[-MAX_PREFERENCES:]
            if attr in self.avoid:
                self.avoid[attr] = [v for v in self.avoid[attr] if v not in values]
        for attr, values in (getattr(u, "avoid", None) or {}).items():
            self.avoid[attr] = _add(self.avoid.get(attr, []), list(values))[-MAX_PREFERENCES:]
            if attr in self.prefer:
                self.prefer[attr] = [v for v in self.prefer[attr] if v not in values]
        self.prefer = {k: v for k, v in self.prefer.items() if v}
        self.avoid = {k: v for k, v in self.avoid.items() if v}
        self.all_of = [a for a in self.all_of if len(self.include.get(a, [])) > 1]

    def loosen(self, part: dict[str, Any]) -> dict[str, Any]:
        """Drop the filters in part ({"include": {attr: values}, "exclude": ..., "ranges": ...}); return what went."""
        dropped: dict[str, Any] = {"all_of": [a for a in self.all_of if a in (part.get("include") or {})]}
        for kind in ("include", "exclude", "ranges"):
            held = getattr(self, kind)
            for attr in (part.get(kind) or {}):
                if attr in held:
                    dropped.setdefault(kind, {})[attr] = held.pop(attr)
        self.all_of = [a for a in self.all_of if a in self.include]
        return dropped

    def offer_relax(self, part: dict[str, Any]) -> None:
        """Remember that the assistant offered to drop a filter (part as Constraints.to_dict()) and asked."""
        self.offered_relax = {k: dict(part[k]) for k in ("include", "exclude", "ranges") if part.get(k)}
        self.assistant_asked = self.recommending = True

    def note_assistant(self, reading: AssistantReading, *, offered_relax: dict[str, Any] | None = None) -> list[str]:
        """Record one assistant message (`assistant.read_assistant`): remember the items it suggests and return the
        ones it shows; the first becomes "it" for the next turn. offered_relax is the filter it offered to drop."""
        found = list(reading.item_ids)
        named = set(self.mentions)
        known = set(self.suggested_ids())
        new = [i for i in found if i not in named and i not in known]
        self.suggestions += [{"item_id": i, "reaction": ""} for i in new]
        shown = [i for i in found if i not in named]
        self.assistant_asked = reading.asks
        self.assistant_text = reading.text[:ASSISTANT_TEXT_LIMIT]
        # The assistant offering suggestions ("May I suggest some comedies?") makes it a recommendation conversation.
        self.recommending = self.recommending or bool(found) or reading.offers
        if shown:
            self.last_items = shown
            self.focus_item = shown[0]
            self.awaiting_reaction = True
        self.changed = {"suggested": shown}
        if offered_relax:
            self.offer_relax(offered_relax)
        return shown

    def reactions(self) -> dict[str, str]:
        """Return suggested item id -> the person's reaction ("" when none yet)."""
        return {entry["item_id"]: entry["reaction"] for entry in self.suggestions}

    def excluded_items(self) -> list[str]:
        """Return items not to recommend again: disliked, turned down, named by the person, or already suggested."""
        return _add(_add(_add(list(self.disliked), self.rejected), list(self.mentions)), self.suggested_ids())

    def constraints(self) -> Constraints:
        """Return the hard filters the conversation has set."""
        excluded = self.excluded_items()
        return Constraints(
            include={k: list(v) for k, v in self.include.items()},
            all_of=[a for a in self.all_of if a in self.include],
            exclude={k: list(v) for k, v in self.exclude.items()},
            ranges={k: (v[0], v[1]) for k, v in self.ranges.items()},
            # "Something like The Terminator" keeps to films even in a catalog that also sells frying pans.
            domain=self.domain or self.topic_domain,
            exclude_items=excluded,
        )

    def profile(self) -> Profile:
        """Return the taste the conversation reveals: liked ids (named and liked, or suggested and liked or
        accepted), disliked ids, soft preferences, items to exclude, and free text for retrieval."""
        reacted = self.reactions()
        liked = _add(list(self.liked), [i for i, r in reacted.items() if r in POSITIVE_REACTIONS])
        liked = [i for i in liked if reacted.get(i) not in ("disliked", "rejected") and i not in self.disliked]
        disliked = _add(list(self.disliked), [i for i, r in reacted.items() if r == "disliked"])
        return Profile(liked=liked, disliked=disliked, query_text=" ".join(self.keywords),
                       prefer={k: list(v) for k, v in self.prefer.items()},
                       avoid={k: list(v) for k, v in self.avoid.items()}, exclude=self.excluded_items(),
                       alike=self.alike, suggested=self.suggested_ids(),
                       examples=[i for i in self.examples if i in liked])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ConversationState":
        data = dict(data or {})
        known = set(cls.__dataclass_fields__)
        state = cls(**{k: v for k, v in data.items() if k in known})
        state.suggestions = [dict(e) for e in state.suggestions]
        return state
