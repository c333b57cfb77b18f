"""Explanations as chains: the path from an item the evidence names to the recommended one, said and drawn.

`attach_chain` picks the chain for an item from its evidence and the catalog's knowledge graph (only anchors the
template text names); `chain_clause` says it ("because you liked Alien (1979), and both are tagged space");
`chain_view` gives the nodes and labelled links a page draws. Both show, per language, only the entities that
read well in it: in Chinese, values with a Chinese name, series and decades, and proper names (brands, creators).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..knowledge import CHAIN_KIND, FRIEND_KIND, KnowledgeGraph, chain_for, friends_of
from ..rules import display_title, natural_title
from ..types import Evidence, ItemRecord
from .cited import HISTORY_KINDS, cited_evidence, is_neighbour, was_example, was_liked, was_shown
from .lexicon import ZH_GENRES, zh_forms

SHOWN_ENTITIES = 2  # entities a reply and its drawing show of a chain
PROPER_NAMES = ("creator", "brand")  # written as the catalog writes them, in either language

# What each relation is called on a drawn link, and how a sentence says two items share it.
LINK_LABELS = {
    "en": {
        "series": "same series",
        "creator": "by",
        "brand": "brand",
        "tag": "tagged",
        "category": "category",
        "material": "made of",
        "genre": "genre",
        "decade": "from the",
        "friend": "liked by your friend",
        "liked_item": "you liked",
        "history_item": "in your history",
        "content_similarity": "similar to",
        "same_kind": "you named",
    },
    "zh": {
        "series": "同一系列",
        "creator": "出自",
        "brand": "品牌",
        "tag": "标签",
        "category": "类别",
        "material": "材质",
        "genre": "类型",
        "decade": "年代",
        "friend": "你的朋友喜欢",
        "liked_item": "你喜欢",
        "history_item": "你看过",
        "content_similarity": "内容相似",
        "same_kind": "你提到",
    },
}
HEADINGS = {"en": "How it connects", "zh": "推荐的来龙去脉"}


def attach_chain(
    graph: KnowledgeGraph | None, item_id: str, evidence: list[Evidence], friends: Mapping[str, list[str]] | None = None
) -> list[Evidence]:
    """Return the facts to add to an item's evidence for its chain: the `chain` fact, and `friend_liked` facts for
    friends given by the caller that the evidence does not hold yet. Empty without a graph or a chain.

    The chain may only start at an item the template text names (`cited_evidence`), so the sentence that says
    the chain names the same item the drawing starts from.
    """
    if graph is None:
        return []
    cited = cited_evidence(evidence)
    kinds = [e for e in cited if e.item_id and e.kind in (*HISTORY_KINDS, "content_similarity")]
    kinds += [e for e in cited if e.item_id and e.kind == "same_kind"][:1]
    chain = chain_for(graph, item_id, evidence, friends, allowed=[e.item_id for e in kinds if e.item_id])
    if chain is None:
        return []
    known = set(friends_of(evidence, None, item_id))
    added = [n for n in chain["friends"] if n not in known]
    out = [Evidence(kind=CHAIN_KIND, weight=0.0, value=chain, detail="a path through the catalog")]
    if added:
        out.append(Evidence(kind=FRIEND_KIND, weight=0.0, value=added, detail="liked by a friend"))
    return out


def readable(hop: Mapping[str, Any], language: str) -> bool:
    """Return whether an entity reads well in the language (Chinese: a Chinese name, a series, a decade, a name)."""
    if language != "zh" or hop.get("relation") in ("series", "decade", *PROPER_NAMES):
        return True
    return bool(zh_forms(str(hop.get("label", ""))))


def shown_via(chain: Mapping[str, Any], language: str) -> list[dict]:
    """Return the chain's entities a reply in the language shows: the first SHOWN_ENTITIES that read well in it."""
    if chain.get("from") is None:
        return []
    out: list[dict] = []
    said: set[str] = set()
    for hop in chain.get("via") or []:
        text = entity_text(hop, language).casefold()
        if readable(hop, language) and text not in said:  # the tag "sci-fi" beside the genre Sci-Fi says it once
            said.add(text)
            out.append(dict(hop))
    return out[:SHOWN_ENTITIES]


def entity_text(hop: Mapping[str, Any], language: str) -> str:
    """Return an entity as a reader sees it: "1990s" / "1990年代", a Chinese genre name, a tag as written."""
    relation, label = hop.get("relation"), str(hop.get("label", ""))
    if relation == "decade":
        return f"{hop.get('key')}年代" if language == "zh" else label
    if language == "zh" and relation not in PROPER_NAMES:
        forms = zh_forms(label)
        if forms:
            return forms[0]
    return label


def _join(parts: list[str], language: str) -> str:
    if language == "zh":
        return "、".join(parts)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _shared_phrase(relation: str, values: list[str], language: str) -> str:
    """Return how a sentence says that the two items share these entities of one relation."""
    zh = language == "zh"
    joined = _join(values, language)
    if relation == "series":
        return "两者属于同一系列" if zh else "both are in the same series"
    if relation == "decade":
        return f"两者都是{joined}的作品" if zh else f"both are from the {joined}"
    if zh:
        if relation == "genre":
            suffix = "片" if all(v in {f for g in ZH_GENRES.values() for f in g} for v in values) else ""
            return f"两者同为{joined}{suffix}"
        return {
            "creator": f"两者都出自{joined}",
            "brand": f"两者都来自{joined}品牌",
            "tag": f"两者都有{joined}标签",
            "category": f"两者同属{joined}类别",
            "material": f"两者都是{joined}材质",
        }.get(relation, f"两者都有{joined}")
    noun = "genres" if len(values) > 1 else "genre"
    return {
        "creator": f"both are by {joined}",
        "brand": f"both are from {joined}",
        "tag": f"both are tagged {joined}",
        "category": f"both are in the category {joined}",
        "material": f"both are made of {joined}",
        "genre": f"both share the {noun} {joined}",
    }.get(relation, f"both have {joined}")


def connection_text(via: list[dict], language: str) -> str:
    """Return what the shown entities say, one phrase per relation in the chain's order."""
    groups: dict[str, list[str]] = {}
    for hop in via:
        groups.setdefault(str(hop["relation"]), []).append(entity_text(hop, language))
    phrases = [_shared_phrase(rel, values, language) for rel, values in groups.items()]
    return "，".join(phrases) if language == "zh" else " and ".join(phrases)


def _lead(kind: str, liked: bool, name: str, language: str, neighbour: bool = True, shown: bool = False,
          example: bool = False) -> str:
    """Return the clause that names the chain's first item by how the evidence knows it; a text likeness too weak
    to make the item a neighbour of the first one says only that they connect (the chain says how)."""
    if shown:  # suggested earlier in the conversation: not the person's history
        return f"它与之前推荐的{name}相近" if language == "zh" else f"it is close to {name}, suggested earlier"
    if example:  # named only as an example ("something like X"): not a stated like
        return f"它和你提到的{name}相近" if language == "zh" else f"like {name}"
    if kind == "content_similarity" and not neighbour:
        return f"它和{name}有关联" if language == "zh" else f"it connects to {name}"
    if language == "zh":
        if kind == "content_similarity":
            return f"它的内容与{name}相似"
        if kind == "same_kind":
            return f"它和你提到的{name}是同一类"
        return f"因为你喜欢{name}" if liked else f"你之前接触过{name}"
    if kind == "content_similarity":
        return f"it is similar to {name}"
    if kind == "same_kind":
        return f"like {name}"
    return f"because you liked {name}" if liked else f"it relates to your history with {name}"


def chain_clause(chain: Mapping[str, Any], evidence: list[Evidence], language: str, name: str) -> str | None:
    """Return the clause that says the chain (name: the anchor's title as the text quotes it), or None."""
    via = shown_via(chain, language)
    if not via:
        return None
    anchor = next((e for e in evidence if e.item_id == chain.get("from") and e.kind == chain.get("from_kind")), None)
    liked = anchor is not None and was_liked(anchor)
    neighbour = anchor is not None and is_neighbour(anchor)
    lead = _lead(str(chain.get("from_kind")), liked, name, language, neighbour,
                 shown=anchor is not None and was_shown(anchor), example=anchor is not None and was_example(anchor))
    return (
        f"{lead}，{connection_text(via, language)}"
        if language == "zh"
        # "Like The Matrix (1999): both share the genres Sci-Fi and Thriller"
        else (f"{lead}: {connection_text(via, language)}" if chain.get("from_kind") == "same_kind"
              else f"{lead}, and {connection_text(via, language)}")
    )


def friends_clause(names: list[str], language: str) -> str | None:
    """Return "your friend Lea liked it" in the language, or None without friends."""
    if not names:
        return None
    shown = names[:3]
    if language == "zh":
        return f"你的朋友{'、'.join(shown)}也喜欢它"
    word = "friend" if len(shown) == 1 else "friends"
    return f"your {word} {_join(shown, language)} liked it"


# ---------------------------------------------------------------- the drawing


def _item_label(item_id: str, records: Mapping[str, ItemRecord] | None, language: str, fallback: str = "") -> str:
    record = records.get(item_id) if records is not None else None
    if record is not None:
        return display_title(record, language)
    return natural_title(fallback or item_id, with_year=language != "zh")


def stored_chain(evidence: list[Evidence] | list[dict]) -> dict | None:
    """Return the chain in evidence given as records or as stored dicts, or None without a well-formed one
    (a stored message's payload is read back as it was written, whatever version wrote it)."""
    for fact in evidence:
        kind: Any
        if isinstance(fact, Evidence):
            kind, value = fact.kind, fact.value
        elif isinstance(fact, Mapping):
            kind, value = fact.get("kind"), fact.get("value")
        else:
            continue
        if kind != CHAIN_KIND or not isinstance(value, Mapping) or value.get("item") is None:
            continue
        via = [
            dict(h)
            for h in value.get("via") or []
            if isinstance(h, Mapping) and all(isinstance(h.get(k), str) for k in ("relation", "key", "label"))
        ]
        friends = [str(n) for n in value.get("friends") or [] if str(n).strip()]
        return {**value, "via": via, "friends": friends}
    return None


def chain_view(
    evidence: list[Evidence] | list[dict], records: Mapping[str, ItemRecord] | None, language: str
) -> dict | None:
    """Return the chain in an item's evidence as a page draws it, in the language; None without one.

    {"heading", "summary" (the chain in one line), "hops" (the longest path's length), "nodes": [{"id", "kind":
    "item" | "entity" | "person", "role": "start" | "via" | "end" | "friend", "label"}], "links": [{"source",
    "target", "label"}], "paths": [[node id, link label, node id, ...]]}: each path runs from a start (the item the
    person liked, or a friend) to the recommended item.
    """
    chain = stored_chain(evidence)
    if chain is None:
        return None
    zh = language == "zh"
    labels = LINK_LABELS["zh" if zh else "en"]
    end = f"item:{chain['item']}"
    nodes = {
        end: {"id": end, "kind": "item", "role": "end", "label": _item_label(str(chain["item"]), records, language)}
    }
    links: list[dict] = []
    paths: list[list[str]] = []
    via = shown_via(chain, language)
    if via:
        start = f"item:{chain['from']}"
        nodes[start] = {
            "id": start,
            "kind": "item",
            "role": "start",
            "label": _item_label(str(chain["from"]), records, language),
        }
        for hop in via:
            node = f"{hop['relation']}:{hop['key']}"
            nodes[node] = {
                "id": node,
                "kind": "entity",
                "role": "via",
                "relation": hop["relation"],
                "label": entity_text(hop, language),
            }
            label = labels.get(str(hop["relation"]), "")
            links += [
                {"source": start, "target": node, "label": label},
                {"source": node, "target": end, "label": label},
            ]
            paths.append([start, label, node, label, end])
    for name in chain.get("friends") or []:
        node = f"person:{name}"
        nodes[node] = {"id": node, "kind": "person", "role": "friend", "label": name}
        links.append({"source": node, "target": end, "label": labels["friend"]})
        paths.append([node, labels["friend"], end])
    if not paths:
        return None
    lead = labels.get(str(chain.get("from_kind")), "") if via else ""
    summary = "；".join(_path_text(p, nodes) for p in paths) if zh else "; ".join(_path_text(p, nodes) for p in paths)
    return {
        "heading": HEADINGS["zh" if zh else "en"],
        "start_label": lead,
        "summary": summary,
        "hops": max((len(p) - 1) // 2 for p in paths),
        "nodes": list(nodes.values()),
        "links": links,
        "paths": paths,
    }


def _path_text(path: list[str], nodes: Mapping[str, dict]) -> str:
    parts = []
    for k, part in enumerate(path):
        parts.append(nodes[part]["label"] if k % 2 == 0 else f"→ {part} →")
    return " ".join(parts)
