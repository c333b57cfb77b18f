"""CatalogIndex: the vocabulary a turn is grounded in — titles, aliases and attribute values of real items."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ..types import ItemRecord
from .lexicon import ATTRIBUTE_SYNONYMS, DOMAIN_WORDS, EN_STOPWORDS
from .text import is_cjk, key_of, tokenize

_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})\)\s*$")
_PAREN = re.compile(r"\(([^()]*)\)")
# Trailing articles as MovieLens writes them ("Matrix, The"), in the languages its titles use.
_TRAILING_ARTICLE = re.compile(r"^(.*), (the|a|an|le|la|les|l'|il|el|los|las|das|der|die|den|det|lo|un|une)$", re.I)
MAX_TITLE_TOKENS = 12
MAX_SURFACE_TOKENS = 6
# Attribute values longer than this are descriptions, not vocabulary.
MAX_VALUE_WORDS = 4
SKIP_ATTRIBUTES = {"popularity", "rating", "rating_count", "num_ratings", "url", "image", "imdb_url", "id"}


@dataclass(frozen=True)
class TitleKey:
    item_id: str
    via: str  # "title" or "alias"
    rank: int  # 0 full title or alias, 1 article-less form, 2 part before a colon or alternative title


def title_variants(title: str) -> list[tuple[str, int]]:
    """Return (phrase, rank) forms under which a catalog title may be written by a person."""
    base = _YEAR_SUFFIX.sub("", title).strip()
    forms: list[tuple[str, int]] = []
    alts = [a.strip() for a in _PAREN.findall(base) if a.strip() and not a.strip().isdigit()]
    main = _PAREN.sub(" ", base).strip() or base
    for phrase, rank in [(main, 0)] + [(a, 2) for a in alts]:
        m = _TRAILING_ARTICLE.match(phrase)
        if m:
            phrase = f"{m.group(2)} {m.group(1)}"
            forms.append((phrase, rank))
            forms.append((m.group(1), rank if rank else 1))
        else:
            forms.append((phrase, rank))
            first, _, rest = phrase.partition(" ")
            if first.lower() in {"the", "a", "an"} and rest:
                forms.append((rest, max(rank, 1)))
        if ":" in phrase:
            head = phrase.split(":", 1)[0].strip()
            if len(head.split()) >= 2 or len(head) >= 5:
                forms.append((head, 2))
    return forms


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _value_forms(value: str) -> set[str]:
    """Return spelling variants of an attribute value (case, plural, hyphens)."""
    key = key_of(value)
    forms = {key}
    if key and not is_cjk(key[0]):
        forms.add(key.replace(" ", ""))
        if key.endswith("s") and len(key) > 3:
            forms.add(key[:-1])
        else:
            forms.add(key + "s")
    return {f for f in forms if f}


def _canon(value: str) -> str:
    """Return a comparison form of a value: lower-case alphanumerics, trailing plural dropped."""
    flat = re.sub(r"[^0-9a-z\u3400-\u9fff]", "", str(value).lower())
    return flat[:-1] if flat.endswith("s") and len(flat) > 3 else flat


class CatalogIndex:
    """Titles, aliases and attribute vocabulary (per domain) of a catalog, with built-in bilingual synonyms."""

    def __init__(
        self,
        items: Iterable[ItemRecord],
        popularity: Mapping[str, float] | None = None,
        synonyms: Mapping[str, Mapping[str, list[str]]] = ATTRIBUTE_SYNONYMS,
    ):
        self.items: dict[str, ItemRecord] = {}
        self.popularity = dict(popularity or {})
        # domain -> attribute -> set of values as the catalog writes them
        self.values: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
        self.numeric: dict[str, set[str]] = defaultdict(set)  # domain -> numeric attributes (year, price)
        self.titles: dict[str, list[TitleKey]] = defaultdict(list)
        for item in items:
            self._add_item(item)
        self.domains = set(self.values) | {i.domain for i in self.items.values()}
        # surface key -> [(attribute, value, domain)]
        self.surfaces: dict[str, list[tuple[str, Any, str]]] = defaultdict(list)
        self._build_surfaces(synonyms)
        self.domain_words: dict[str, str] = {}
        for domain, words in DOMAIN_WORDS.items():
            for word in words:
                self.domain_words[key_of(word)] = domain
        self.max_title_tokens = MAX_TITLE_TOKENS

    # -- building -------------------------------------------------------------------------------
    def _add_item(self, item: ItemRecord) -> None:
        self.items[item.item_id] = item
        for attr, value in (item.attributes or {}).items():
            if attr in SKIP_ATTRIBUTES or value is None:
                continue
            values = value if isinstance(value, (list, tuple, set)) else [value]
            for v in values:
                if isinstance(v, bool):
                    continue
                if isinstance(v, (int, float)) or (isinstance(v, str) and _is_number(v)):
                    self.numeric[item.domain].add(attr)
                elif isinstance(v, str) and v.strip() and len(v.split()) <= MAX_VALUE_WORDS:
                    self.values[item.domain][attr].add(v.strip())
        for phrase, rank in title_variants(item.title):
            self._add_title(phrase, TitleKey(item.item_id, "title", rank))
        for alias in item.aliases or ():
            for phrase, rank in title_variants(alias):
                self._add_title(phrase, TitleKey(item.item_id, "alias", rank))

    def _add_title(self, phrase: str, key: TitleKey) -> None:
        k = key_of(phrase)
        if not k or len(tokenize(k)) > MAX_TITLE_TOKENS * 2:
            return
        existing = self.titles[k]
        if not any(e.item_id == key.item_id and e.rank <= key.rank for e in existing):
            existing.append(key)

    def _build_surfaces(self, synonyms) -> None:
        by_canon: dict[tuple[str, str], list[tuple[Any, str]]] = defaultdict(list)
        for domain, attrs in self.values.items():
            for attr, vals in attrs.items():
                for v in vals:
                    by_canon[(attr, _canon(v))].append((v, domain))
                    for form in _value_forms(v):
                        self._add_surface(form, attr, v, domain)
        for attr, table in synonyms.items():
            for concept, words in table.items():
                # A synonym counts only where the catalog holds the value it names (under any of its names:
                # books write "science fiction" where MovieLens writes "Sci-Fi").
                targets = []
                for form in {_canon(concept), *(_canon(w) for w in words if not is_cjk(w[0]))}:
                    targets += [t for t in by_canon.get((attr, form), []) if t not in targets]
                for value, domain in targets:
                    for word in [concept, *words]:
                        self._add_surface(key_of(word), attr, value, domain)

    def _add_surface(self, key: str, attr: str, value: Any, domain: str) -> None:
        if not key or key in EN_STOPWORDS or len(tokenize(key)) > MAX_SURFACE_TOKENS:
            return
        entry = (attr, value, domain)
        if entry not in self.surfaces[key]:
            self.surfaces[key].append(entry)

    # -- queries --------------------------------------------------------------------------------
    def has_attribute(self, attr: str, domain: str | None = None) -> bool:
        """Return whether any item (of the domain, if given) carries the attribute."""
        domains = [domain] if domain else list(self.domains)
        return any(attr in self.values.get(d, {}) or attr in self.numeric.get(d, set()) for d in domains)

    def resolve_title(self, key: str) -> list[tuple[str, str, int]]:
        """Return (item_id, via, rank) for a title key, best first: exact forms, popular, then recent, then id."""
        entries = self.titles.get(key, [])
        ranked = sorted(entries, key=lambda e: (e.rank, -self.popularity.get(e.item_id, 0.0),
                                                -self._year(e.item_id), e.item_id))
        return [(e.item_id, e.via, e.rank) for e in ranked]

    def lookup(self, phrase: str) -> ItemRecord | None:
        """Return the best item for a written title or alias, or None."""
        hits = self.resolve_title(key_of(phrase))
        return self.items.get(hits[0][0]) if hits else None

    def _year(self, item_id: str) -> int:
        year = (self.items[item_id].attributes or {}).get("year") if item_id in self.items else None
        try:
            return int(year)
        except (TypeError, ValueError):
            return 0

    def surface(self, key: str) -> list[tuple[str, Any, str]]:
        """Return (attribute, value, domain) entries a written phrase stands for."""
        return self.surfaces.get(key, [])

    def title_of(self, item_id: str) -> str:
        item = self.items.get(item_id)
        return item.title if item else ""

    def domain_of(self, item_id: str) -> str | None:
        item = self.items.get(item_id)
        return item.domain if item else None

    def __len__(self) -> int:
        return len(self.items)


def title_key_is_weak(key: str) -> bool:
    """Return whether a title key reads like ordinary words (one content word at most) and needs more evidence."""
    words = [w for w in key.split(" ") if w]
    if any(is_cjk(ch) for ch in key):
        return len(key.replace(" ", "")) < 3
    content = [w for w in words if w not in EN_STOPWORDS and not w.isdigit()]
    return len(content) < 2
