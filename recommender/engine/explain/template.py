"""The template path: evidence turned into a natural sentence in English or Chinese, always available."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..knowledge import chain_of
from ..rules import display_title as localized_title  # the one rule for the title shown
from ..rules import natural_title, number_text
from ..titles import title_year
from ..types import Evidence, ItemRecord
from .cited import (
    MAX_LIKED,
    cited_evidence,
    was_example,
    was_liked,
    was_shown,
)
from .lexicon import ZH_GENRES, attribute_name, zh_forms

MAX_VALUES = 3
# Shortest and longest explanation, in characters, per language (the checker holds texts to them).
LENGTH_BOUNDS = {"en": (12, 320), "zh": (6, 160)}


def localized_titles(records: Iterable[ItemRecord], language: str) -> dict[str, str]:
    """Return {item_id: title to show} for records in the given language."""
    return {r.item_id: localized_title(r, language) for r in records}


def _title(ev: Evidence, language: str, catalog_titles: dict[str, str] | None) -> str:
    if catalog_titles and ev.item_id in catalog_titles:
        return catalog_titles[ev.item_id]
    raw = ev.title or ev.item_id or ""
    return natural_title(raw, with_year=language != "zh")


def _values(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def value_text(value: Any, language: str, attribute: str | None = None) -> str:
    """Return an attribute value as shown: Chinese words in zh where known, numbers with their attribute name."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if attribute == "year":
            return str(int(value))
        number = number_text(value, language)
        if attribute is None:
            return number
        name = attribute_name(attribute, language)
        return f"{name} {number}" if name else number
    if language == "zh" and isinstance(value, str):
        names = zh_forms(value)
        if names:
            return names[0]
    return str(value)


def _join(parts: list[str], language: str) -> str:
    if language == "zh":
        return "、".join(parts[:-1]) + ("和" if len(parts) > 1 else "") + parts[-1]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _quote(title: str, language: str) -> str:
    return f"《{title}》" if language == "zh" else title


def _attribute_clause(evs: list[Evidence], language: str, lead_en: str, lead_zh: str) -> str | None:
    seen: list[str] = []
    for ev in evs:
        for v in _values(ev.value):
            text = value_text(v, language, ev.attribute)
            if text not in seen:
                seen.append(text)
    if not seen:
        return None
    seen = seen[:MAX_VALUES]
    return f"{lead_zh}{_join(seen, language)}" if language == "zh" else f"{lead_en} {_join(seen, language)}"


def _names(evs: list[Evidence], language: str, catalog_titles: dict[str, str] | None, taken: list[str]) -> list[str]:
    """Return the quoted titles of evs not yet in taken (two items may show the same title), adding them to it."""
    names = []
    for ev in evs:
        name = _quote(_title(ev, language, catalog_titles), language)
        if name not in taken:
            taken.append(name)
            names.append(name)
    return names


def _chain_clauses(chain: dict | None, evidence: list[Evidence], language: str,
                   catalog_titles: dict[str, str] | None, taken: list[str]) -> list[str]:
    """Return the clauses that say the evidence's chain (its first item's title then taken), or none."""
    if chain is None:
        return []
    from .chains import chain_clause, friends_clause  # chains builds on this module's rules

    out = []
    anchor = next((e for e in evidence if e.item_id and e.item_id == chain.get("from")), None)
    if anchor is not None:
        name = _quote(_title(anchor, language, catalog_titles), language)
        clause = chain_clause(chain, evidence, language, name)
        if clause:
            taken.append(name)
            out.append(clause)
    friends = friends_clause(list(chain.get("friends") or []), language)
    return out + ([friends] if friends else [])


def _item_clauses(by_kind: dict[str, list[Evidence]], language: str, catalog_titles: dict[str, str] | None,
                  evidence: list[Evidence] | None = None, beside: int = MAX_LIKED - 1) -> list[str]:
    """Return the clauses that name items: the chain, liked, other history, content neighbours; each title once.

    beside: how many history items are named besides the one a chain starts from.
    """
    evidence = evidence or []
    chain = chain_of(evidence)
    zh = language == "zh"
    taken: list[str] = []
    out = _chain_clauses(chain, evidence, language, catalog_titles, taken)
    chained = bool(taken)  # the chain's clause was said (it takes its first item's title)
    history = by_kind.get("liked_item", []) + by_kind.get("history_item", [])
    history.sort(key=lambda e: -e.weight)
    began = ""  # how the chain's clause spoke of the person: "liked", "history" or not at all
    if chained and chain is not None:
        anchor = next((e for e in history if e.item_id == chain["from"]), None)
        began = ("" if anchor is None else "liked" if was_liked(anchor) else "shown" if was_shown(anchor)
                 else "example" if was_example(anchor) else "history")
        history = [e for e in history if e.item_id != chain["from"]][:beside]
    # Only what the person liked is called liked; other history is named as history.
    liked = _names([e for e in history if was_liked(e)], language, catalog_titles, taken)
    seen = _names([e for e in history if not (was_liked(e) or was_shown(e) or was_example(e))], language,
                  catalog_titles, taken)
    examples = _names([e for e in history if was_example(e)], language, catalog_titles, taken)
    shown = _names([e for e in history if was_shown(e)], language, catalog_titles, taken)
    if liked:
        also = began == "liked"
        out.append(("你也喜欢" if also else "因为你喜欢") + _join(liked, language) if zh
                   else ("you also liked " if also else "because you liked ") + _join(liked, language))
    if examples:
        also = began == "example"
        out.append(f"{'也' if also else '它'}和你提到的{'、'.join(examples)}相近" if zh
                   else f"it is also close to {_join(examples, language)}" if also
                   else f"it is close to {_join(examples, language)}")
    if seen:
        also = began == "history"
        out.append(("你之前也接触过" if also else "你之前接触过") + _join(seen, language) if zh
                   else ("your history also holds " if also else "it relates to your history with ")
                   + _join(seen, language))
    if shown:
        also = began == "shown"
        out.append(f"{'也' if also else '它'}与之前推荐的{'、'.join(shown)}相近" if zh
                   else f"it is also close to {_join(shown, language)}" if also
                   else f"it is close to {_join(shown, language)}, suggested earlier")
    similar = _names([e for e in by_kind.get("content_similarity", []) if e.item_id or e.title],
                     language, catalog_titles, taken)
    if similar:
        out.append(f"它的内容与{'、'.join(similar)}相似" if zh else f"it is similar to {_join(similar, language)}")
    said = _chain_said(chain, language) if chained else set()
    out += _same_kind_clauses(by_kind.get("same_kind", []), language, catalog_titles, taken, said)
    return out


def _chain_said(chain: dict | None, language: str) -> set[str]:
    """Return the entity words a chain's clause says (case-folded), so no later clause says them again."""
    if chain is None:
        return set()
    from .chains import entity_text, shown_via

    return {entity_text(hop, language).casefold() for hop in shown_via(chain, language)}


def _same_kind_clauses(evs: list[Evidence], language: str, catalog_titles: dict[str, str] | None,
                       taken: list[str], said: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Return "like X, it is Action and Sci-Fi" (or "of the same kind: ..." when X is already named).

    Kinds a chain's clause already said (said, case-folded) are left out: "both share the genre Action" needs
    no "both are also Action" after it.
    """
    zh = language == "zh"
    out = []
    for ev in evs[:1]:
        values = [v for v in _values(ev.value) if value_text(v, language, ev.attribute).casefold() not in said]
        kinds = [value_text(v, language, ev.attribute) for v in values][:MAX_VALUES]
        if not kinds:
            continue
        named = _quote(_title(ev, language, catalog_titles), language)
        if zh:
            joined = "、".join(kinds) + ("片" if all(str(v).casefold() in ZH_GENRES for v in values) else "")
            out.append(f"同为{joined}" if named in taken else f"它和{named}一样是{joined}")
        else:
            # The named item was already said: the kinds are ones they share ("both are also Action").
            out.append(f"both are also {_join(kinds, language)}" if named in taken
                       else f"like {named}, it is {_join(kinds, language)}")
        taken.append(named)
    return out


def _clauses(item: ItemRecord, evidence: list[Evidence], language: str,
             catalog_titles: dict[str, str] | None, beside: int = MAX_LIKED - 1) -> list[str]:
    cited = cited_evidence(evidence)
    by_kind: dict[str, list[Evidence]] = {}
    for ev in cited:
        by_kind.setdefault(ev.kind, []).append(ev)
    zh = language == "zh"
    out: list[str] = []
    out += _item_clauses(by_kind, language, catalog_titles, evidence, beside)
    if any(not (e.item_id or e.title) for e in by_kind.get("content_similarity", [])):
        out.append("它的简介和你描述的很接近" if zh else "its description is close to what you asked for")
    matches = by_kind.get("attribute_match", [])
    genre_like = zh and all(isinstance(v, str) and v.casefold() in ZH_GENRES for e in matches for v in _values(e.value))
    asked = _attribute_clause(matches, language, "it matches your request for",
                              "它正是你想看的" if genre_like else "它符合你的要求：")
    if asked and genre_like:
        asked += "片"
    if asked:
        out.append(asked)
    said = {v.casefold() for e in by_kind.get("attribute_match", []) for v in map(str, _values(e.value))}
    constraints = [e for e in by_kind.get("constraint", [])
                   if not any(str(v).casefold() in said for v in _values(e.value))]
    fits = _attribute_clause(constraints, language, "it fits your filters:", "它满足你的筛选条件：")
    if fits:
        out.append(fits)
    if by_kind.get("friend_liked"):  # value: the connection's name as shown; attribute: the tie
        out.append(friends_phrase([(str(e.value), e.attribute or "friend") for e in by_kind["friend_liked"]], zh))
    if by_kind.get("popularity"):
        out.append(popularity_phrase(item.domain, zh))
    if by_kind.get("exploration"):
        out.append("这是一次新的尝试，帮你探索口味" if zh else "it is something new, picked to explore your taste")
    if by_kind.get("llm_suggestion"):  # the language model's pick: said plainly, never dressed up as the model's
        named = any(e.value == "titles" for e in by_kind["llm_suggestion"])
        if zh:
            out.append("它是根据对你提到的作品的一般了解推荐的" if named else "它是根据对你的要求的一般了解推荐的")
        else:
            out.append("it was suggested from general knowledge of the titles you named" if named
                       else "it was suggested from general knowledge of what you asked for")
    return out


def explain_text(item: ItemRecord, evidence: list[Evidence], *, language: str = "en",
                 request_summary: str = "", catalog_titles: dict[str, str] | None = None) -> str:
    """Return a one-sentence explanation built only from the evidence, in "en" or "zh"."""
    del request_summary  # user words are never echoed: the checker could not vouch for them
    high = LENGTH_BOUNDS.get(language, LENGTH_BOUNDS["en"])[1]
    # A chain's clause is long: beside it, fewer history items are named until the sentence fits.
    for beside in range(MAX_LIKED - 1, -1, -1):
        text = _sentence(_clauses(item, evidence, language, catalog_titles, beside), language)
        if len(text) <= high or chain_of(evidence) is None:
            break
    return text


def _sentence(clauses: list[str], language: str) -> str:
    if language == "zh":
        if not clauses:
            return "这是你还没看过的作品里评分最高的推荐。"
        return "；".join(clauses) + "。"
    if not clauses:
        return "It is the top-scoring pick among the items you have not seen yet."
    text = "; ".join(clauses) + "."
    return text[0].upper() + text[1:]


def item_year(item: ItemRecord) -> int | None:
    """Return the item's year attribute, or the year in its title."""
    year = item.attributes.get("year")
    try:
        return int(year) if year not in (None, "") else title_year(item.title)
    except (TypeError, ValueError):
        return title_year(item.title)


def lookup_record(catalog, item_id: str | None) -> ItemRecord | None:
    """Return the record for item_id from a Catalog, a {id: record} map or a list of records."""
    if catalog is None or item_id is None:
        return None
    if hasattr(catalog, "item_index") and hasattr(catalog, "records"):
        idx = catalog.item_index.get(item_id)
        return catalog.records[idx] if idx is not None else None
    if hasattr(catalog, "get"):
        return catalog.get(item_id)
    return next((r for r in catalog if r.item_id == item_id), None)


def evidence_titles(evidence: list[Evidence], catalog, language: str) -> dict[str, str]:
    """Return {item_id: title to show} for the items the evidence names, using catalog aliases when known."""
    out = {}
    for ev in evidence:
        record = lookup_record(catalog, ev.item_id)
        if record is not None:
            out[record.item_id] = localized_title(record, language)
    return out


# Who the "many people" are, by domain; every phrase uses words the checker knows as popularity claims.
AUDIENCE = {"movie": ("viewers", "很多观众都喜欢它"), "book": ("readers", "很多读者都喜欢它"),
            "music": ("listeners", "很多听众都喜欢它"), "game": ("players", "很多玩家都喜欢它"),
            "product": ("shoppers", "很多人都喜欢它")}


def popularity_phrase(domain: str, zh: bool) -> str:
    """Return "it is popular with many viewers" (or readers, shoppers...) in the reply's language."""
    english, chinese = AUDIENCE.get(domain, ("people", "很多人都喜欢它"))
    return chinese if zh else f"it is popular with many {english}"


FRIEND_TIES = {"friend": ("your friend", "your friends", "你的朋友"), "follows": ("", "", "你关注的"),
               "trusts": ("", "", "你信任的")}


def friends_phrase(people: list[tuple[str, str]], zh: bool) -> str:
    """Return "your friend Lea liked it" / "你的朋友Lea喜欢它" for (name, tie) pairs (ties: rules.RELATION_KINDS)."""
    names = list(dict.fromkeys(name for name, _ in people))[:MAX_VALUES]
    ties = {tie for _, tie in people}
    tie = ties.pop() if len(ties) == 1 else "friend"
    one, many, lead_zh = FRIEND_TIES.get(tie, FRIEND_TIES["friend"])
    if zh:
        return f"{lead_zh}{'、'.join(names)}{'都' if len(names) > 1 else ''}喜欢它"
    if not one:
        verb = "follow" if tie == "follows" else "trust"
        return f"{_join(names, 'en')}, whom you {verb}, liked it"
    return f"{many if len(names) > 1 else one} {_join(names, 'en')} liked it"
