"""Social recommendation: what the person's connections like, picks for a group, and people with similar taste.

Pure: the chat service reads the person's connections and what each of them made visible into a
`SocialContext` (privacy is applied there, before anything reaches the engine: a connection who is not
discoverable arrives as a name in `private`, without likes; only discoverable people are in `discoverable`).

- `friends_like`: items the connections liked that the person has not met, each connection's like weighted by
  the tie's weight times (SIMILARITY_FLOOR + taste similarity to the person): a friend with the same taste counts
  more than one without. Each item's evidence names the connections who liked it (`friend_liked`).
- `group_pick`: items for the person and others together: each member's scores (the trained model over what
  the member liked, else popularity), scaled to [0, 1] per member, then aggregated (`aggregate`, the rule
  rules.GROUP_AGGREGATION); items any member has met are left out.
- `people_like_me`: discoverable people ranked by taste similarity (shrunk cosine of liked sets).
- `connections_who_liked`: which connections liked an item, by the names shown, for explanations.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import replies, rules
from .types import Constraints, Evidence, ItemRecord, Profile, ScoredItem

SIMILARITY_FLOOR = 0.25  # a connection's like counts this much even when no taste is shared
SIMILARITY_SHRINK = 3.0  # overlap needed before a similarity is trusted: cos * n / (n + shrink)
GROUP_POOL = 200  # each member's best items considered for a group
PEOPLE_SHOWN = 5
MIN_SHARED = 1  # people with taste like mine share at least this many likes


@dataclass(frozen=True)
class Person:
    """Someone the person may see: a key (stable, never shown), the name shown and the likes they made visible."""

    key: str
    name: str
    liked: tuple[str, ...] = ()
    relation: str = "friend"  # rules.RELATION_KINDS; "" for someone found only because they are discoverable
    weight: float = 1.0


@dataclass
class SocialContext:
    """What a turn may use of the person's social world, already filtered for privacy by the caller."""

    connections: list[Person] = field(default_factory=list)  # connections who are discoverable, with their likes
    private: list[str] = field(default_factory=list)  # names of connections who keep their likes private
    discoverable: list[Person] = field(default_factory=list)  # people who chose to be found (not the person)
    signed_in: bool = True

    def by_name(self, name: str) -> Person | None:
        """Return the connection called `name` (case-insensitive, a first name is enough), or None."""
        want = name.casefold().strip()
        for person in self.connections:
            full = person.name.casefold()
            if full == want or full.split(" ")[0] == want:
                return person
        return None

    def is_private(self, name: str) -> bool:
        want = name.casefold().strip()
        return any(p.casefold() == want or p.casefold().split(" ")[0] == want for p in self.private)


def taste_similarity(mine: set[str] | frozenset[str], theirs: set[str] | frozenset[str]) -> float:
    """Return the shrunk cosine of two liked sets: |A∩B| / sqrt(|A||B|) * n / (n + SIMILARITY_SHRINK)."""
    if not mine or not theirs:
        return 0.0
    n = len(mine & theirs)
    return n / math.sqrt(len(mine) * len(theirs)) * n / (n + SIMILARITY_SHRINK)


def connections_who_liked(item_id: str, connections: Sequence[Person]) -> list[str]:
    """Return the names (as shown) of the connections who liked item_id, in the order given.

    `connections` must be privacy-filtered already (SocialContext.connections): the explanation "your friend Lea
    liked it" may only cite what Lea made visible."""
    return [p.name for p in connections if item_id in p.liked]


def friend_evidence(
    item_id: str, connections: Sequence[Person], weights: Mapping[str, float] | None = None, total: float = 0.0
) -> list[Evidence]:
    """Return one `friend_liked` fact per connection who liked item_id (value: the name shown, attribute: the tie)."""
    out = []
    for p in connections:
        if item_id in p.liked:
            share = (weights or {}).get(p.key, 0.0) / total if total > 0 else 0.0
            out.append(
                Evidence(
                    kind="friend_liked",
                    weight=share,
                    value=p.name,
                    attribute=p.relation or "friend",
                    detail=f"{p.name} liked it",
                )
            )
    return out


def seen_by(profile: Profile) -> set[str]:
    """Return the items a profile has met (liked, disliked, in its history or excluded)."""
    return set(profile.liked) | set(profile.disliked) | set(profile.history) | set(profile.exclude)


def friends_like(
    ctx: SocialContext,
    me: Profile,
    *,
    allowed: Callable[[list[str]], list[str]],
    n: int,
    popularity: Mapping[str, float] | None = None,
    only: Sequence[Person] | None = None,
) -> list[ScoredItem]:
    """Return up to n items the connections (or `only` some of them) liked and the person has not met."""
    people = list(only) if only is not None else ctx.connections
    mine, met = set(me.liked), seen_by(me)
    weights = {p.key: p.weight * (SIMILARITY_FLOOR + taste_similarity(mine, set(p.liked))) for p in people}
    scores: dict[str, float] = {}
    for p in people:
        for item_id in p.liked:
            if item_id not in met:
                scores[item_id] = scores.get(item_id, 0.0) + weights[p.key]
    top = max((popularity or {}).values(), default=1.0) or 1.0
    ranked = sorted(allowed(list(scores)), key=lambda i: (-scores[i], -(popularity or {}).get(i, 0.0) / top, i))
    return [
        ScoredItem(
            item_id=i,
            score=scores[i],
            sources={"social": scores[i]},
            evidence=friend_evidence(i, people, weights, scores[i]),
        )
        for i in ranked[:n]
    ]


def aggregate(scores: np.ndarray, how: str = rules.GROUP_AGGREGATION) -> np.ndarray:
    """Return a group's scores from its members' (rows: members, scaled to [0, 1]): their mean, or their minimum
    ("least misery": an item is as good as it is for the member who likes it least)."""
    if how not in rules.GROUP_AGGREGATIONS:
        raise ValueError(f"unknown aggregation {how!r}; expected one of {rules.GROUP_AGGREGATIONS}")
    return scores.min(axis=0) if how == "least_misery" else scores.mean(axis=0)


def scaled(values: Mapping[str, float]) -> dict[str, float]:
    """Return scores scaled to [0, 1] (min-max; all 1 when they are equal)."""
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    span = high - low
    return {k: (v - low) / span if span > 0 else 1.0 for k, v in values.items()}


def member_scores(
    member: Profile, *, bundle: Any, user_key: str | None, constraints: Constraints, popularity: Mapping[str, float]
) -> dict[str, float]:
    """Return one member's scores over their best GROUP_POOL items, scaled to [0, 1]."""
    if bundle is not None:
        try:
            found = bundle.recommend(
                user_key=user_key, profile=member, constraints=constraints, n=GROUP_POOL, with_evidence=False
            )
            return scaled({s.item_id: s.score for s in found})
        except Exception:  # noqa: BLE001 - popularity answers when the model cannot
            pass
    met = seen_by(member)
    best = sorted((i for i in popularity if i not in met), key=lambda i: -popularity[i])[:GROUP_POOL]
    return scaled({i: popularity[i] for i in best})


def group_pick(
    members: list[tuple[Profile, str | None]],
    *,
    bundle: Any,
    constraints: Constraints,
    allowed: Callable[[list[str]], list[str]],
    popularity: Mapping[str, float],
    n: int,
    how: str = rules.GROUP_AGGREGATION,
) -> list[ScoredItem]:
    """Return up to n items for a group: members are (taste profile, user key or None); see `aggregate`."""
    per_member = [
        member_scores(p, bundle=bundle, user_key=key, constraints=constraints, popularity=popularity)
        for p, key in members
    ]
    met = set().union(*(seen_by(p) for p, _ in members))
    pool = [i for i in dict.fromkeys(i for scores in per_member for i in scores) if i not in met]
    pool = allowed(pool)
    if not pool:
        return []
    matrix = np.array([[scores.get(i, 0.0) for i in pool] for scores in per_member], dtype=np.float64)
    group = aggregate(matrix, how)
    order = sorted(range(len(pool)), key=lambda j: (-group[j], pool[j]))[:n]
    return [ScoredItem(item_id=pool[j], score=float(group[j]), sources={"group": float(group[j])}) for j in order]


def people_like_me(
    me: Profile, discoverable: Sequence[Person], n: int = PEOPLE_SHOWN
) -> list[tuple[Person, float, list[str]]]:
    """Return (person, similarity, items both liked) for the discoverable people closest in taste, best first."""
    mine = set(me.liked)
    found = []
    for person in discoverable:
        shared = [i for i in person.liked if i in mine]
        if len(shared) >= MIN_SHARED:
            found.append((person, taste_similarity(mine, set(person.liked)), shared))
    found.sort(key=lambda t: (-t[1], t[0].name))
    return found[:n]


# ---------------------------------------------------------------- the turn's social branch


def social_constraints(state_constraints: Constraints, u: Any) -> Constraints:
    """Return the filters a social turn ranks under: the conversation's, with the turn's own kind and values."""
    include = {**state_constraints.include, **(getattr(u, "include", None) or {})}
    return Constraints(
        include=include,
        exclude=dict(state_constraints.exclude),
        ranges=dict(state_constraints.ranges),
        domain=getattr(u, "domain", None) or state_constraints.domain,
        exclude_items=list(state_constraints.exclude_items),
        all_of=list(state_constraints.all_of),
    )


def read_context(source: Any) -> SocialContext:
    """Return the turn's social context from a TurnInput's `social` (a context, a callable returning one, or None)."""
    if source is None:
        return SocialContext(signed_in=False)
    return source() if callable(source) else source


def answer(inp: Any, plan: Any, request: dict | None, me: Profile, constraints: Constraints) -> None:
    """Fill a plan (reply, items, suggestions) for a social request; `inp` is the turn's TurnInput."""
    ctx, language = read_context(inp.social), plan.language
    records: Mapping[str, ItemRecord] = inp.catalog.records
    kind = (request or {}).get("kind") or rules.FRIENDS_LIKE
    plan.suggestions = replies.social_suggestions(language)
    plan.extra["social"] = {"kind": kind}
    if not ctx.signed_in:  # connections and being found belong to signed-in people
        plan.reply = replies.no_connections_reply(False, language)
        return
    if kind == rules.PEOPLE_LIKE_ME:
        found = people_like_me(me, ctx.discoverable)
        plan.reply = replies.people_reply(
            [
                (p.name, [rules.display_title(records[i], language) for i in shared if i in records])
                for p, _, shared in found
            ],
            language,
        )
        plan.extra["social"]["people"] = [p.name for p, _, _ in found]
        return
    if not ctx.connections and not ctx.private:
        plan.reply = replies.no_connections_reply(ctx.signed_in, language)
        return
    named = [str(x) for x in (request or {}).get("names") or []]
    chosen = [p for name in named if (p := ctx.by_name(name)) is not None]
    private = [name for name in named if ctx.by_name(name) is None and ctx.is_private(name)]
    unknown = [name for name in named if ctx.by_name(name) is None and not ctx.is_private(name)]
    if not named:
        private = list(ctx.private)

    def allowed(ids: list[str]) -> list[str]:
        return inp.catalog.satisfying(constraints, ids)

    if named and not chosen:  # nobody named can be used: say why, list nothing
        plan.reply = replies.social_notes(private, unknown, language).strip()
        return
    plan.listing = True
    if kind != rules.FRIENDS_LIKE and not constraints.domain:  # what the group likes, not the whole catalog
        people = chosen or ctx.connections
        constraints = replace(
            constraints, domain=main_domain([*me.liked, *(i for p in people for i in p.liked)], records)
        )
    if kind == rules.FRIENDS_LIKE:
        items = friends_like(ctx, me, allowed=allowed, n=inp.k, popularity=inp.catalog.popularity, only=chosen or None)
    else:
        group = chosen if kind == rules.TOGETHER else ctx.connections
        members = [(me, inp.user_key)] + [(Profile(liked=list(p.liked)), None) for p in group]
        items = (
            group_pick(
                members,
                bundle=inp.bundle,
                constraints=constraints,
                allowed=allowed,
                popularity=inp.catalog.popularity,
                n=inp.k,
            )
            if group
            else []
        )
        _add_evidence(items, inp, me, constraints, group)
    plan.items = items
    plan.strategy = "social"
    names = [p.name for p in chosen]
    plan.reply = replies.social_notes(private, unknown, language) + replies.social_reply(
        kind, len(items), names, language
    )


def main_domain(item_ids: Sequence[str], records: Mapping[str, ItemRecord]) -> str | None:
    """Return the domain most of these items belong to (None without any known item)."""
    counts = Counter(records[i].domain for i in item_ids if i in records)
    return counts.most_common(1)[0][0] if counts else None


def _add_evidence(
    items: list[ScoredItem], inp: Any, me: Profile, constraints: Constraints, group: Sequence[Person]
) -> None:
    """Give group picks the model's evidence for the person (their own likes), never another member's history."""
    if inp.bundle is None or not items:
        for s in items:
            s.evidence = [Evidence(kind="popularity", weight=1.0, item_id=s.item_id)]
        return
    try:
        found = inp.bundle.evidence_for(
            [s.item_id for s in items], user_key=inp.user_key, profile=me, constraints=constraints
        )
    except Exception:  # noqa: BLE001 - items stay, explanations fall back to their generic text
        return
    for s in items:
        s.evidence = list(found.get(s.item_id, []))
