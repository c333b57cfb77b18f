"""A knowledge graph read from the catalog itself, and the chains that connect two of its items.

Nodes are items and the entities their records carry: genres, user tags, creators (director, author,
artist, developer), brands, categories, materials, decades from the year, and series found in the titles
("Toy Story" and "Toy Story 2", "Rocky" and "Rocky II"). An edge joins an item to each of its entities. A
chain explains a recommendation by a path through the graph from an item the ranker's evidence names
(what the person liked, a neighbour) to the recommended item: "Alien -> tagged 'space' -> Aliens". Nothing
is added that the records do not say; the graph is built once per catalog and each chain costs a few set
look-ups.

A social relation ("your friend Lea liked it") is not catalog data: callers pass it as a mapping from item
id to friends' display names, or as `friend_liked` evidence, and it is kept beside the graph's own edges.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .rules import CREATOR_ATTRIBUTES, NOT_A_KIND, natural_title
from .types import Evidence, ItemRecord

# Attributes whose values become entities, and the relation each edge is called by.
RELATION_OF = {
    "genres": "genre",
    "tags": "tag",
    "brand": "brand",
    "category": "category",
    "material": "material",
    **{a: "creator" for a in CREATOR_ATTRIBUTES},
}
# How telling a shared entity of each relation is, most telling first: a series or a creator says more than a
# shared decade. Within a relation the rarer entity comes first (see KnowledgeGraph.shared).
RELATION_ORDER = ("series", "creator", "brand", "tag", "category", "material", "genre", "decade")
# The evidence kinds whose item may start a chain (the item that brought the recommendation about).
ANCHOR_KINDS = ("liked_item", "history_item", "content_similarity", "same_kind")
FRIEND_KIND = "friend_liked"
CHAIN_KIND = "chain"
MAX_SHARED = 4  # entities kept per chain; a reply shows at most two of them
MAX_ANCHORS = 3  # anchors tried per item, in the evidence's order
# A shared entity carried by more than this share of the catalog connects nothing in particular.
MAX_ENTITY_SHARE = 0.5
# Tags that read as words: user tags also hold markup, links and one-letter notes that no sentence should carry.
_TAG_FORM = re.compile(r"^[^\W\d_][\w'&.\- ]{1,38}[\w.]$")
_SEQUEL_NUMBER = re.compile(r"^(?P<base>.*\S)\s+(?P<n>[2-9]|1[0-9]|II|III|IV|V|VI|VII|VIII|IX|X)$", re.IGNORECASE)
_SEQUEL_PART = re.compile(r"^(?P<base>.*?\S)\s*:?\s+Part\s+(?:[2-9]|II|III|IV|V|VI)\b.*$", re.IGNORECASE)
_SUBTITLE = re.compile(r"^(?P<base>[^:]*\S)\s*:\s+\S.*$")
_ALT_TITLE = re.compile(r"\s*\([^()]*\)\s*$")


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _values(raw: Any) -> list[Any]:
    if raw is None or raw == "":
        return []
    return list(raw) if isinstance(raw, (list, tuple, set)) else [raw]


def decade_of(year: Any) -> int | None:
    """Return the decade a year falls in (1994 -> 1990), or None."""
    try:
        value = int(year)
    except (TypeError, ValueError):
        return None
    return value // 10 * 10 if 1800 <= value <= 2100 else None


def plain_title(title: str) -> str:
    """Return a title as people write it, without its year or alternative name, case-folded (for series)."""
    text = natural_title(title, with_year=False)
    while _ALT_TITLE.search(text):
        text = _ALT_TITLE.sub("", text)
    return _norm(text)


_ROMAN = {"ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
MAX_LONE_NUMBER = 4  # "Super 8" is no eighth film: a number above this needs a lower-numbered sibling


def sequel_base(title: str) -> tuple[str, int] | None:
    """Return (the title a sequel continues, its number; 0 for a subtitle) or None.

    "toy story 2" -> ("toy story", 2), "godfather: part ii" -> ("godfather", 2), "alien: resurrection" ->
    ("alien", 0): a subtitle is a weaker sign than a number (see `_series`).
    """
    for pattern in (_SEQUEL_PART, _SEQUEL_NUMBER):
        m = pattern.match(title)
        if m and len(m.group("base")) >= 2:
            marker = (m.groupdict().get("n") or m.group(0).rsplit("part", 1)[-1].split()[0]).casefold()
            number = int(marker) if marker.isdigit() else _ROMAN.get(marker, 2)
            return m.group("base").rstrip(" :-,"), number
    m = _SUBTITLE.match(title)
    if m and len(m.group("base")) >= 2:
        return m.group("base").rstrip(" :-,"), 0
    return None


@dataclass(frozen=True)
class Entity:
    relation: str
    key: str  # normalised value: the entity's id within its relation
    label: str  # the value as the catalog writes it (a series: its first title as people write it)
    items: frozenset[str]


@dataclass
class KnowledgeGraph:
    """Items, their entities and the edges between them, read from catalog records."""

    entities: dict[tuple[str, str], Entity] = field(default_factory=dict)
    of_item: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    n_items: int = 0

    @classmethod
    def build(cls, records: Iterable[ItemRecord]) -> KnowledgeGraph:
        records = list(records)
        members: dict[tuple[str, str], set[str]] = {}
        labels: dict[tuple[str, str], str] = {}
        for record in records:
            for relation, key, label in _record_entities(record):
                members.setdefault((relation, key), set()).add(record.item_id)
                labels.setdefault((relation, key), label)
        for key, (label, items) in _series(records).items():
            members[("series", key)] = items
            labels[("series", key)] = label
        graph = cls(n_items=len(records))
        of_item: dict[str, set[tuple[str, str]]] = {}
        for node, items in members.items():
            if len(items) < 2:  # an entity only one item carries links nothing
                continue
            graph.entities[node] = Entity(node[0], node[1], labels[node], frozenset(items))
            for item_id in items:
                of_item.setdefault(item_id, set()).add(node)
        graph.of_item = {k: frozenset(v) for k, v in of_item.items()}
        return graph

    def has_edge(self, item_id: str, relation: str, key: str) -> bool:
        """Return whether the graph holds the edge item -relation-> entity."""
        entity = self.entities.get((relation, _norm(key)))
        return entity is not None and item_id in entity.items

    def degree(self, relation: str, key: str) -> int:
        entity = self.entities.get((relation, _norm(key)))
        return len(entity.items) if entity is not None else 0

    def specificity(self, relation: str, key: str) -> float:
        """Return how rare an entity is: log(items / its items), 0 for one every item has."""
        degree = self.degree(relation, key)
        return math.log(max(self.n_items, 1) / degree) if degree else 0.0

    def shared(self, a: str, b: str) -> list[Entity]:
        """Return the entities items a and b both carry, most telling first (relation, then rarity)."""
        common = self.of_item.get(a, frozenset()) & self.of_item.get(b, frozenset())
        limit = max(2, int(MAX_ENTITY_SHARE * self.n_items))
        found = [self.entities[n] for n in common if len(self.entities[n].items) <= limit]
        return sorted(found, key=lambda e: (RELATION_ORDER.index(e.relation), len(e.items), e.key))


def _record_entities(record: ItemRecord) -> list[tuple[str, str, str]]:
    """Return (relation, key, label) for each entity a record carries (series aside)."""
    out = []
    for attribute, relation in RELATION_OF.items():
        for value in _values(record.attributes.get(attribute)):
            if not isinstance(value, str) or not value.strip():
                continue
            label = " ".join(value.split())
            if (relation == "tag" and not _TAG_FORM.match(label)) or (
                relation == "genre" and label.casefold() in NOT_A_KIND
            ):
                continue  # "IMAX" says how a film was shown, not what kind it is
            out.append((relation, _norm(label), label))
    decade = decade_of(record.attributes.get("year"))
    if decade is not None:
        out.append(("decade", str(decade), f"{decade}s"))
    return out


def _year(record: ItemRecord) -> int:
    try:
        return int(record.attributes.get("year") or 0)
    except (TypeError, ValueError):
        return 0


def _continues(record: ItemRecord, number: int, numbers: set[int], earliest: int | None, siblings: int) -> bool:
    """Return whether a sequel-like title really continues its base (earliest: the base item's year, None
    without a base item; numbers: the numbers of the base's sequels; siblings: how many titles share the base)."""
    if earliest is not None and earliest and _year(record) and _year(record) <= earliest:
        return False  # made before (or with) the film it would continue
    if number:
        lone_ok = number <= MAX_LONE_NUMBER or any(n < number for n in numbers)
        return lone_ok and (earliest is not None or len(numbers) >= 2)
    return earliest is not None or siblings >= 3


def _series(records: list[ItemRecord]) -> dict[str, tuple[str, set[str]]]:
    """Return {series key: (label, item ids)} for titles that continue another title in the catalog.

    A numbered sequel ("Toy Story 2", "Rocky III", "The Godfather: Part II") joins the items with its base title,
    or other sequels of it. A subtitle alone ("Alien: Resurrection") is weaker: it joins an item with the base
    title from an earlier year, or at least two more subtitled items ("Star Wars: ..."), so that two films about
    one subject ("Robin Hood: ...") are not a series. Remakes that share a title are never sequels, and items of
    different domains never form one series.
    """
    originals: dict[tuple[str, str], list[ItemRecord]] = {}
    sequels: dict[tuple[str, str], list[tuple[ItemRecord, int]]] = {}
    for record in records:
        title = plain_title(record.title)
        originals.setdefault((record.domain, title), []).append(record)
        found = sequel_base(title)
        if found:
            sequels.setdefault((record.domain, found[0]), []).append((record, found[1]))
    out: dict[str, tuple[str, set[str]]] = {}
    for (domain, base), follow in sequels.items():
        first = originals.get((domain, base), [])
        earliest = min((_year(r) for r in first), default=0)
        numbers = {n for _, n in follow if n}
        kept = [r for r, n in follow if _continues(r, n, numbers, earliest if first else None, len(follow))]
        items = {r.item_id for r in first + kept}
        if not kept or len(items) < 2:
            continue
        head = min(first or kept, key=lambda r: (_year(r) or 9999, r.item_id))
        label = _ALT_TITLE.sub("", natural_title(head.title, with_year=False)) if first else base.title()
        out[f"{domain}:{base}"] = (label, items)
    return out


# ---------------------------------------------------------------- chains


def friends_of(evidence: list[Evidence], friends: Mapping[str, list[str]] | None, item_id: str) -> list[str]:
    """Return the friends' display names who liked item_id: from `friend_liked` evidence and the caller's map."""
    names: list[str] = []
    for ev in evidence:
        if ev.kind == FRIEND_KIND:  # the names in its value (one or a list), else its title
            names += [str(v) for v in _values(ev.value) or _values(ev.title) if str(v).strip()]
    if friends:
        names += [str(n) for n in friends.get(item_id, []) if str(n).strip()]
    return list(dict.fromkeys(" ".join(n.split()) for n in names))


def _anchors(evidence: list[Evidence], item_id: str) -> list[Evidence]:
    """Return the evidence facts naming another item, strongest first, one per item (the chain's possible starts)."""
    seen: set[str] = set()
    out = []
    for ev in sorted(
        (e for e in evidence if e.kind in ANCHOR_KINDS and e.item_id and e.weight >= 0), key=lambda e: -e.weight
    ):
        if ev.item_id and ev.item_id != item_id and ev.item_id not in seen:
            seen.add(ev.item_id)
            out.append(ev)
    return out[:MAX_ANCHORS]


def chain_for(
    graph: KnowledgeGraph,
    item_id: str,
    evidence: list[Evidence],
    friends: Mapping[str, list[str]] | None = None,
    *,
    allowed: Iterable[str] | None = None,
) -> dict | None:
    """Return the chain that explains item_id from its evidence, as JSON-safe data, or None.

    The chain starts at an item the evidence names (allowed: the anchors a caller may use, e.g. those its text
    cites) and runs through the entities it shares with item_id: {"item": id, "from": anchor id, "from_kind":
    evidence kind, "via": [{"relation", "key", "label"}], "friends": [names]}. Of the anchors tried, the one
    whose best shared entity is most telling wins; friends who liked the item are kept even without an anchor.
    """
    allow = set(allowed) if allowed is not None else None
    best: tuple[tuple, Evidence, list[Entity]] | None = None
    for rank, anchor in enumerate(_anchors(evidence, item_id)):
        if allow is not None and anchor.item_id not in allow:
            continue
        shared = graph.shared(anchor.item_id or "", item_id)[:MAX_SHARED]
        if not shared:
            continue
        top = shared[0]
        score = (RELATION_ORDER.index(top.relation), len(top.items), rank)
        if best is None or score < best[0]:
            best = (score, anchor, shared)
    names = friends_of(evidence, friends, item_id)
    if best is None and not names:
        return None
    out: dict[str, Any] = {"item": item_id, "from": None, "from_kind": None, "via": [], "friends": names}
    if best is not None:
        _, anchor, shared = best
        out.update(
            {
                "from": anchor.item_id,
                "from_kind": anchor.kind,
                "via": [{"relation": e.relation, "key": e.key, "label": e.label} for e in shared],
            }
        )
    return out


def chain_evidence(
    graph: KnowledgeGraph, item_id: str, evidence: list[Evidence], friends: Mapping[str, list[str]] | None = None
) -> list[Evidence]:
    """Return the chain for item_id as one zero-weight `chain` fact (empty without one): it explains the anchor's
    share, it adds none of its own."""
    chain = chain_for(graph, item_id, evidence, friends)
    if chain is None:
        return []
    return [Evidence(kind=CHAIN_KIND, weight=0.0, value=chain, detail="a path through the catalog")]


def chain_problems(
    chain: Mapping[str, Any], item_id: str, evidence: list[Evidence], graph: KnowledgeGraph | None
) -> list[str]:
    """Return every hop of a chain the graph (or, for friends, the evidence) does not hold; empty when all do."""
    if graph is None:
        return ["the chain cannot be verified without the catalog"]
    problems = []
    if str(chain.get("item")) != item_id:
        problems.append("the chain ends at another item")
    anchor = chain.get("from")
    via = chain.get("via") or []
    if anchor is not None:
        if not any(e.item_id == anchor and e.kind in ANCHOR_KINDS for e in evidence):
            problems.append("the chain starts at an item the evidence does not name")
        for hop in via:
            for end in (anchor, item_id):
                if not graph.has_edge(str(end), str(hop.get("relation")), str(hop.get("key"))):
                    problems.append(f"hop not in the graph: {end} -{hop.get('relation')}-> {hop.get('key')}")
    elif via:
        problems.append("the chain has entities but no starting item")
    known = set(friends_of(evidence, None, item_id))
    problems += [f"friend not in the evidence: {name}" for name in chain.get("friends") or [] if name not in known]
    return problems


def hops(chain: Mapping[str, Any]) -> int:
    """Return the length of a chain's longest path: anchor -> entity -> item is 2, friend -> item is 1."""
    if chain.get("from") is not None and chain.get("via"):
        return 2
    return 1 if chain.get("friends") else 0


def chain_of(evidence: Iterable[Evidence]) -> dict | None:
    """Return the chain fact's chain in evidence, or None."""
    for ev in evidence:
        if ev.kind == CHAIN_KIND and isinstance(ev.value, Mapping):
            return dict(ev.value)
    return None
