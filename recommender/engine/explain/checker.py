"""The explanation checker: every title and attribute an explanation claims must be backed by the evidence."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..knowledge import KnowledgeGraph, chain_of, chain_problems
from ..titles import TitleMatcher, has_cjk, normalize_quotes, title_forms, tokens
from ..types import Evidence, ItemRecord
from .cited import HISTORY_KINDS, cited_evidence, is_neighbour, lowers_score
from .lexicon import (
    EN_GENRE_SYNONYMS,
    EXPLORATION_WORDS_EN,
    EXPLORATION_WORDS_ZH,
    INSTRUCTION_PATTERNS_EN,
    INSTRUCTION_PATTERNS_ZH,
    POPULARITY_WORDS_EN,
    POPULARITY_WORDS_ZH,
    REQUEST_WORDS_EN,
    REQUEST_WORDS_ZH,
    SIMILARITY_WORDS_EN,
    SIMILARITY_WORDS_ZH,
    STOCK_WORDS,
    ZH_GENRES,
    zh_forms,
)
from .template import LENGTH_BOUNDS, item_year, value_text

# An attribute is vocabulary (genres, colours, categories) when it has few distinct short values;
# free-text attributes such as user tags are too open to check word by word.
MAX_VOCABULARY_VALUES = 300
MAX_VALUE_TOKENS = 3

_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&#?\w+;|\[[^\]]*\]\([^)]*\)|[<>\[\]{}`*#|\\_~]|javascript:|data:",
                     re.IGNORECASE)
_URL = re.compile(r"https?://|www\.|\b[\w-]+\.(com|org|net|io|cn|ru|info|ly|be|me|co|tv|app)\b|@\w{2,}",
                  re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_DECADE_EN = re.compile(r"(?<![\w'])'?(1[89]|20)?(\d)0s\b", re.IGNORECASE)
_DECADE_ZH = re.compile(r"(\d{2,4})年代")
_ZH_TITLE = re.compile(r"《([^》]{1,60})》")
_SENTENCE_BREAK = re.compile(r"[.!?;:。！？；：]\s*$")

# Evidence kinds that name another item (the text may cite its title).
ITEM_KINDS = (*HISTORY_KINDS, "content_similarity")
NAMING_KINDS = (*ITEM_KINDS, "same_kind")  # facts an explanation may name another item's title for


def _norm(value: Any) -> str:
    return str(value).strip().casefold()


def _flat(raw: Any) -> list[Any]:
    if raw is None or raw == "":
        return []
    return list(raw) if isinstance(raw, (list, tuple, set)) else [raw]


def _plurals(word: str) -> list[str]:
    out = [word]
    if word.isalpha():
        out.append(word[:-1] + "ies" if word.endswith("y") else word + "s")
    return out


@dataclass
class CatalogIndex:
    """What the checker knows about a catalog: titles and aliases, and the attribute vocabulary."""

    matcher: TitleMatcher
    # token tuple -> {(attribute, canonical value)} for English-style values and their synonyms
    vocabulary: dict[tuple[str, ...], set[tuple[str, str]]] = field(default_factory=dict)
    # Chinese word -> {(attribute, canonical value)}
    zh_vocabulary: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    max_vocab_len: int = 1

    @classmethod
    def build(cls, records: Iterable[ItemRecord], extra_titles: Iterable[str] = ()) -> CatalogIndex:
        """Return an index over records plus extra titles that must never be named (e.g. prompt examples)."""
        records = list(records)
        values: dict[str, set[str]] = {}
        for r in records:
            values.setdefault("domain", set()).add(_norm(r.domain))
            for key, raw in r.attributes.items():
                for v in _flat(raw):
                    if isinstance(v, str) and v.strip():
                        values.setdefault(key, set()).add(_norm(v))
        if "genres" in values:
            # Well-known genre names are claims about the item even when no catalog item carries them.
            values["genres"] |= set(ZH_GENRES) - {"children", "imax"}
        vocab_words: set[str] = set()
        index = cls(matcher=TitleMatcher())
        for attribute, seen in values.items():
            if len(seen) > MAX_VOCABULARY_VALUES:
                continue
            for value in seen:
                forms = [value, *EN_GENRE_SYNONYMS.get(value, ())]
                for form in forms:
                    toks = tuple(t for t, _, _ in tokens(form))
                    if not toks or len(toks) > MAX_VALUE_TOKENS:
                        continue
                    for last in _plurals(toks[-1]):
                        index.vocabulary.setdefault(toks[:-1] + (last,), set()).add((attribute, value))
                    vocab_words.update(toks)
                    index.max_vocab_len = max(index.max_vocab_len, len(toks))
                for zh in [*zh_forms(value), *([value] if has_cjk(value) else [])]:
                    index.zh_vocabulary.setdefault(zh, set()).add((attribute, value))
        index.matcher = TitleMatcher(common_words=[*STOCK_WORDS, *vocab_words])
        for r in records:
            index.matcher.add(r.item_id, r.title, r.aliases)
        for i, title in enumerate(extra_titles):
            index.matcher.add(f"__example_{i}", title)
        return index


_CACHE: OrderedDict[int, tuple[Any, CatalogIndex]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def catalog_index(catalog: Any, extra_titles: tuple[str, ...] = ()) -> CatalogIndex:
    """Return a (cached) CatalogIndex for a Catalog, a {id: ItemRecord} map, a list of records, or an index."""
    if isinstance(catalog, CatalogIndex):
        return catalog
    key = hash((id(catalog), len(getattr(catalog, "records", catalog) or ()), extra_titles))
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit[0] is catalog:
            _CACHE.move_to_end(key)
            return hit[1]
    index = CatalogIndex.build(_records_of(catalog), extra_titles)
    with _CACHE_LOCK:
        _CACHE[key] = (catalog, index)
        while len(_CACHE) > 8:
            _CACHE.popitem(last=False)
    return index


_GRAPHS: OrderedDict[int, tuple[Any, KnowledgeGraph]] = OrderedDict()


def knowledge_graph(catalog: Any) -> KnowledgeGraph:
    """Return a (cached) KnowledgeGraph for a Catalog, a {id: ItemRecord} map, a list of records, or a graph."""
    if isinstance(catalog, KnowledgeGraph):
        return catalog
    key = hash((id(catalog), len(getattr(catalog, "records", catalog) or ())))
    with _CACHE_LOCK:
        hit = _GRAPHS.get(key)
        if hit is not None and hit[0] is catalog:
            _GRAPHS.move_to_end(key)
            return hit[1]
    graph = KnowledgeGraph.build(_records_of(catalog))
    with _CACHE_LOCK:
        _GRAPHS[key] = (catalog, graph)
        while len(_GRAPHS) > 8:
            _GRAPHS.popitem(last=False)
    return graph


def _records_of(catalog: Any) -> list[ItemRecord]:
    if catalog is None:
        return []
    if hasattr(catalog, "records"):
        return list(catalog.records.values() if isinstance(catalog.records, Mapping) else catalog.records)
    if isinstance(catalog, Mapping):
        return list(catalog.values())
    return list(catalog)


def _allowed_ids(item: ItemRecord, evidence: list[Evidence]) -> set[str]:
    ids = {item.item_id}
    ids.update(e.item_id for e in evidence if e.item_id and e.kind in NAMING_KINDS)
    return ids


def _allowed_titles(item: ItemRecord, evidence: list[Evidence]) -> set[str]:
    """Return every written form of the item's and the evidence items' titles, normalised."""
    titles = [item.title, *(e.title for e in evidence if e.title and e.kind in NAMING_KINDS)]
    out = {_norm(a.strip("《》 ")) for a in item.aliases}
    for title in titles:
        out.add(_norm(title))
        out.update(_norm(form) for form in title_forms(title))
    return out


def _item_values(item: ItemRecord) -> set[tuple[str, str]]:
    out = {("domain", _norm(item.domain))}
    for key, raw in item.attributes.items():
        out.update((key, _norm(v)) for v in _flat(raw))
    return out


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, min(end, len(chars))):
            chars[i] = " "
    return "".join(chars)


def _has_word(text: str, words: Iterable[str]) -> bool:
    """Return whether text holds any of the words (Chinese ones anywhere, others at a word start)."""
    low = text.casefold()
    return any((w in low) if has_cjk(w) else bool(re.search(rf"(?<![\w]){re.escape(w)}", low)) for w in words)


def _without_popularity_phrases(text: str) -> str:
    """Return text with its popularity phrases blanked (same length), checked by their own rule.

    "很多人都喜欢它" holds 多人, a games genre (multiplayer): read as a genre claim it failed every
    popular product's explanation.
    """
    spans = [m.span() for phrase in (*POPULARITY_WORDS_ZH, *POPULARITY_WORDS_EN)
             for m in re.finditer(re.escape(phrase), text, re.IGNORECASE)]
    return _mask(text, spans) if spans else text


def _claimed_values(text: str, index: CatalogIndex) -> list[tuple[set[tuple[str, str]], int, int]]:
    """Return ({(attribute, value)} it may mean, start, end) for every vocabulary word in text."""
    text = _without_popularity_phrases(text)
    found = []
    toks = tokens(text)
    i = 0
    while i < len(toks):
        for n in range(min(index.max_vocab_len, len(toks) - i), 0, -1):
            key = tuple(t for t, _, _ in toks[i:i + n])
            hit = index.vocabulary.get(key)
            if hit:
                found.append((hit, toks[i][1], toks[i + n - 1][2]))
                i += n - 1
                break
        i += 1
    # Longer Chinese words first, so 纪录片 is one claim rather than 纪录 inside it.
    taken: list[tuple[int, int]] = []
    for word in sorted(index.zh_vocabulary, key=len, reverse=True):
        pos = text.find(word)
        while pos >= 0:
            end = pos + len(word)
            if all(end <= a or pos >= b for a, b in taken):
                taken.append((pos, end))
                found.append((index.zh_vocabulary[word], pos, end))
            pos = text.find(word, pos + 1)
    return found


def _unverified_names(text: str) -> list[str]:
    """Return runs of capitalised words (names, titles) that nothing in the catalog accounts for."""
    stock = set(STOCK_WORDS) | {"i", "i'm", "i'd", "i've", "i'll"}
    out: list[str] = []
    run: list[str] = []
    run_starts_sentence = False
    toks = tokens(text)
    for j, (tok, start, end) in enumerate(toks):
        word = text[start:end]
        capital = word[:1].isupper() and tok not in stock
        prev_end = toks[j - 1][2] if j else 0
        at_sentence_start = j == 0 or bool(_SENTENCE_BREAK.search(text[prev_end:start]))
        adjacent = j > 0 and text[prev_end:start].strip(" -") == "" and bool(run)
        if capital and (adjacent or not run):
            if not run:
                run_starts_sentence = at_sentence_start
            run.append(word)
            continue
        out += _flush(run, run_starts_sentence)
        run = [word] if capital else []
        run_starts_sentence = at_sentence_start
    out += _flush(run, run_starts_sentence)
    return out


def _flush(run: list[str], starts_sentence: bool) -> list[str]:
    # One capitalised word opening a sentence is ordinary writing; anything more is a name.
    if not run or (starts_sentence and len(run) == 1):
        return []
    return [" ".join(run)]


def _title_hits(text: str, index: CatalogIndex) -> tuple[list, list[tuple[int, int]]]:
    """Return the title hits in text and the spans of parentheses that belong to them (year, other name)."""
    hits: list = []
    tails: list[tuple[int, int]] = []
    for hit in index.matcher.find(text):
        if any(a <= hit.start < b for a, b in tails):
            continue  # an alternative name in parentheses after a title already found
        hits.append(hit)
        # Parentheses right after a title (an alternative name, the year) belong to that title, also
        # after the title's own closing punctuation ("When Harry Met Sally... (1989)").
        m = re.match(r"[.!?…]*(\s*\([^()]{1,60}\))+", text[hit.end:])
        if m:
            tails.append((hit.end, hit.end + m.end()))
    return hits, tails


def _title_problems(text: str, index: CatalogIndex, item: ItemRecord, evidence: list[Evidence],
                    problems: list[str], skip: Sequence[tuple[int, int]] = ()) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Add the problems with the titles text names; return (spans of allowed titles, spans of all titles).

    Titles inside skip (a verified chain's tag that is also a title: "Batman") are not titles there.
    """
    allowed_ids = _allowed_ids(item, evidence)
    allowed_titles = _allowed_titles(item, evidence)
    hits, tails = _title_hits(text, index)
    hits = [h for h in hits if not any(a <= h.start and h.end <= b for a, b in skip)]
    named = [hit.item_ids for hit in hits]
    if any(named.count(ids) > 1 for ids in named):
        problems.append("names the same title twice")
    allowed_spans: list[tuple[int, int]] = []
    title_spans: list[tuple[int, int]] = []
    for hit in hits:
        title_spans.append((hit.start, hit.end))
        if hit.item_ids & allowed_ids or _norm(hit.form) in allowed_titles:
            allowed_spans.append((hit.start, hit.end))
        else:
            problems.append(f"names a title not in the evidence: {hit.form!r}")
    quoted = []
    for m in _ZH_TITLE.finditer(text):
        inner = m.group(1).strip()
        inside = [(s, e) for s, e in allowed_spans if s >= m.start(1) and e <= m.end(1)]
        if not inside and _norm(inner) not in allowed_titles and not any(f"{inner!r}" in p for p in problems):
            problems.append(f"names a title not in the evidence: {inner!r}")
        quoted.append(_norm(inner))
        title_spans.append((m.start(), m.end()))
    if len(quoted) != len(set(quoted)) and "names the same title twice" not in problems:
        problems.append("names the same title twice")
    return allowed_spans, title_spans + tails


def _form_problems(rest: str, language: str) -> list[str]:
    """Return the problems of form: markup, links, instructions."""
    problems = []
    if _MARKUP.search(rest):
        problems.append("contains markup")
    if _URL.search(rest):
        problems.append("contains a link or address")
    patterns = INSTRUCTION_PATTERNS_ZH if language == "zh" else INSTRUCTION_PATTERNS_EN
    if any(re.search(p, rest, re.IGNORECASE) for p in (*patterns, *INSTRUCTION_PATTERNS_EN)):
        problems.append("contains an instruction")
    return problems


def _value_problems(rest: str, item: ItemRecord, claimed: list) -> list[str]:
    """Return the attribute, year and decade claims the item does not bear out."""
    problems = []
    item_values = _item_values(item)
    for meanings, start, end in claimed:
        if not meanings & item_values:
            attribute = sorted(meanings)[0][0]
            problems.append(f"claims {attribute} {rest[start:end]!r}, which the item does not have")
    year = item_year(item)
    for m in _YEAR.finditer(rest):
        if year is None or int(m.group(1)) != year:
            problems.append(f"claims the year {m.group(1)}, which is not the item's")
    for m in _DECADE_EN.finditer(rest):
        century = m.group(1) or "19"
        decade = int(f"{century}{m.group(2)}0")
        if year is None or not decade <= year < decade + 10:
            problems.append(f"claims the {m.group(0)}, which do not include the item's year")
    for m in _DECADE_ZH.finditer(rest):
        digits = m.group(1)
        decade = int(digits) if len(digits) == 4 else 1900 + int(digits)
        if year is None or not decade <= year < decade + 10:
            problems.append(f"claims the {m.group(0)}, which do not include the item's year")
    return problems


def _claim_words(language: str) -> dict[str, tuple[str, ...]]:
    zh = language == "zh"
    return {"popularity": POPULARITY_WORDS_ZH if zh else POPULARITY_WORDS_EN,
            "similar": SIMILARITY_WORDS_ZH if zh else SIMILARITY_WORDS_EN,
            "exploration": EXPLORATION_WORDS_ZH if zh else EXPLORATION_WORDS_EN,
            "request": REQUEST_WORDS_ZH if zh else REQUEST_WORDS_EN}


def _claim_problems(rest: str, evidence: list[Evidence], language: str) -> list[str]:
    """Return the popularity, likeness and exploration claims the evidence does not back.

    Only facts that raised the score back a claim: the popularity penalty makes nothing "popular", and a
    likeness needs an item the listed one is a neighbour of (or the request's own text).
    """
    words = _claim_words(language)
    raising = [e for e in evidence if not lowers_score(e)]
    kinds = {e.kind for e in raising}
    problems = []
    if "popularity" not in kinds and _has_word(rest, words["popularity"]):
        problems.append("claims popularity, which is not in the evidence")
    likeness = any(e.kind == "content_similarity" and (is_neighbour(e) or not (e.item_id or e.title))
                   for e in raising)
    if not likeness and _has_word(rest, words["similar"]):
        problems.append("claims a likeness, which is not in the evidence")
    if "exploration" in kinds and not _has_word(rest, words["exploration"]):
        problems.append("does not say the pick is exploratory")
    return problems


def _language_problems(text: str, rest: str, words_only: str, language: str) -> list[str]:
    """Return the problems with the language: Chinese text with English words, English text with Chinese."""
    problems = []
    if language == "zh":
        if not has_cjk(text):
            problems.append("not written in Chinese")
        latin = [t for t, _, _ in tokens(words_only) if re.search(r"[a-z]", t)]
        if latin:
            problems.append(f"contains words the evidence does not account for: {' '.join(latin[:5])!r}")
        return problems
    if has_cjk(rest):
        problems.append("not written in English")
    for name in _unverified_names(words_only):
        problems.append(f"names something not in the evidence: {name!r}")
    return problems


def _chain_spans(text: str, chain: dict | None, language: str) -> list[tuple[int, int]]:
    """Return the spans of text that say the chain's shown entities and friends (verified hop by hop apart)."""
    if chain is None:
        return []
    from .chains import entity_text, shown_via

    words = [entity_text(hop, language) for hop in shown_via(chain, language)]
    words += [str(hop.get("label", "")) for hop in shown_via(chain, language)]
    words += [str(name) for name in chain.get("friends") or []]
    spans: list[tuple[int, int]] = []
    low = text.casefold()
    for word in sorted({w for w in words if w.strip()}, key=len, reverse=True):
        pattern = re.escape(word.casefold()) if has_cjk(word) else rf"(?<!\w){re.escape(word.casefold())}(?!\w)"
        spans += [m.span() for m in re.finditer(pattern, low)
                  if not any(a <= m.start() < b for a, b in spans)]
    return spans


def _chain_check(text: str, item: ItemRecord, evidence: list[Evidence], catalog: Any,
                 language: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Return the chain's problems (every hop must be in the catalog's graph) and the spans that say it."""
    chain = chain_of(evidence)
    if chain is None:
        return [], []
    graph = knowledge_graph(catalog) if catalog is not None else None
    return chain_problems(chain, item.item_id, evidence, graph), _chain_spans(text, chain, language)


def _form_of_text(text: str, language: str) -> list[str]:
    """Return the problems of length and ending; "too short" alone ends the check."""
    low, high = LENGTH_BOUNDS.get(language, LENGTH_BOUNDS["en"])
    if len(text) < low:
        return ["too short"]
    problems = []
    if len(text) > high:
        problems.append(f"too long ({len(text)} characters, at most {high})")
    if text[-1] not in ".!?。！？":
        problems.append("unfinished sentence")
    return problems


def _cites_something(rest: str, evidence: list[Evidence], language: str, allowed_spans: list, claimed: list,
                     chain_spans: list) -> bool:
    """Return whether a text cites any evidence: a title, a value, a marked kind, a verified chain."""
    words = _claim_words(language)
    kinds = {e.kind for e in evidence}
    markers = {"popularity": words["popularity"], "exploration": words["exploration"],
               "content_similarity": words["request"]}
    return bool(allowed_spans) or bool(claimed) or bool(chain_spans) or any(
        kind in kinds and _has_word(rest, marker) for kind, marker in markers.items())


def check_explanation(text: str, item: ItemRecord, evidence: list[Evidence], catalog: Any = None, *,
                      language: str | None = None, extra_titles: tuple[str, ...] = ()) -> list[str]:
    """Return the problems found in an explanation (empty when every claim is backed by the evidence).

    A chain in the evidence is checked hop by hop against the catalog's knowledge graph; the words that say its
    entities and friends are then taken as verified, like titles in the evidence.
    """
    text = normalize_quotes(text or "").strip()
    language = language or ("zh" if has_cjk(text) else "en")
    problems = _form_of_text(text, language)
    if problems == ["too short"]:
        return problems
    index = catalog_index(catalog, extra_titles)
    chain_found, chain_spans = _chain_check(text, item, evidence, catalog, language)
    problems += chain_found
    # Title spans, allowed or not, are taken out before the word-level checks below.
    allowed_spans, title_spans = _title_problems(text, index, item, evidence, problems, skip=chain_spans)
    rest = _mask(text, title_spans + chain_spans)
    problems += _form_problems(rest, language)
    claimed = _claimed_values(rest, index)
    problems += _value_problems(rest, item, claimed)
    problems += _claim_problems(rest, evidence, language)
    words_only = _mask(rest, [(start, end) for _, start, end in claimed])
    problems += _language_problems(text, rest, words_only, language)
    # With nothing citable, a sentence that claims nothing is right.
    if cited_evidence(evidence) and not _cites_something(rest, evidence, language, allowed_spans, claimed,
                                                          chain_spans):
        problems.append("cites none of the evidence")
    return list(dict.fromkeys(problems))


def cited_in_text(text: str, evidence: list[Evidence], catalog: Any = None, *, language: str | None = None,
                  ) -> list[Evidence]:
    """Return the evidence an explanation actually cites: named items, claimed values, marked kinds."""
    text = normalize_quotes(text or "")
    language = language or ("zh" if has_cjk(text) else "en")
    index = catalog_index(catalog)
    named: set[str] = set()
    for hit in index.matcher.find(text):
        named |= hit.item_ids
    named_titles = {_norm(m.group(1)) for m in _ZH_TITLE.finditer(text)}
    claimed = {pair for meanings, _, _ in _claimed_values(text, index) for pair in meanings}
    years = {int(y) for y in _YEAR.findall(text)}
    zh = language == "zh"
    markers = {
        "popularity": POPULARITY_WORDS_ZH if zh else POPULARITY_WORDS_EN,
        "exploration": EXPLORATION_WORDS_ZH if zh else EXPLORATION_WORDS_EN,
    }
    out = []
    for ev in evidence:
        if ev.kind in ITEM_KINDS and (ev.item_id or ev.title):
            forms = {_norm(f) for f in title_forms(ev.title or "")}
            if ev.item_id in named or forms & named_titles:
                out.append(ev)
        elif ev.kind == "content_similarity":
            if _has_word(text, REQUEST_WORDS_ZH if zh else REQUEST_WORDS_EN):
                out.append(ev)
        elif ev.kind in ("attribute_match", "same_kind", "constraint"):
            values = _flat(ev.value)
            if any((ev.attribute, _norm(v)) in claimed or (isinstance(v, (int, float)) and int(v) in years)
                   or (isinstance(v, (int, float)) and value_text(v, language) in text) for v in values):
                out.append(ev)
        elif ev.kind in markers and _has_word(text, markers[ev.kind]):
            out.append(ev)
    return out
