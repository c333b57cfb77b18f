"""CatalogIndex: the vocabulary a turn is grounded in — titles, aliases and attribute values of real items."""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .. import titles
from ..rules import attribute_value, attribute_values
from ..types import ItemRecord
from .lexicon import ATTRIBUTE_SYNONYMS, DOMAIN_WORDS, EN_STOPWORDS
from .text import is_cjk, key_of, tokenize

MAX_TITLE_TOKENS = 12
MAX_SURFACE_TOKENS = 6
# Attribute values longer than this are descriptions, not vocabulary.
MAX_VALUE_WORDS = 4
SKIP_ATTRIBUTES = {"popularity", "rating", "rating_count", "num_ratings", "url", "image", "imdb_url", "id"}
# An attribute is free-form (user tags, keywords) when it has many distinct values and they are either sparse over
# the catalog (carried by under half the items) or, like tags, several per item and barely shared (the median value
# is carried by under three items); such values re-rank as soft preferences and never filter. Few values (genres, colours) and
# one-per-item names (author, brand) are structured.
FREE_FORM_MIN_VALUES = 20
FREE_FORM_MAX_COVERAGE = 0.5
FREE_FORM_MIN_SUPPORT = 3.0
FREE_FORM_MIN_VALUES_PER_ITEM = 1.5


@dataclass(frozen=True)
class TitleKey:
    item_id: str
    via: str  # "title" or "alias"
    rank: int  # 0 full title or alias, 1 article-less form, 2 part before a colon or alternative title


# A two-word possessive credit before a title's own name ("Sid Meier's Civilization VI"); one word is too often
# the name itself ("Schindler's List", "Ocean's Eleven").
_CREDIT = re.compile(r"^(?!(?:The|A|An|No)\s)[A-Z][\w.-]*\s+[A-Z][\w.-]*['\u2019]s\s+(?P<rest>\S.*)$")


def title_variants(title: str) -> list[tuple[str, int]]:
    """Return (phrase, rank) forms under which a catalog title may be written by a person (`titles.title_variants`)."""
    return titles.title_variants(title, key_of)


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


def _usable_free_value(value: str) -> bool:
    """Return whether a free-form value carries a content word (not "i love", "good", "must see")."""
    words = key_of(value).split(" ")
    return any(w and w not in EN_STOPWORDS and w not in _FREE_FORM_NOISE and not w.isdigit() for w in words) \
        and len(key_of(value)) >= 3


_FREE_FORM_NOISE = {"love", "loved", "like", "liked", "favorite", "favourite", "awesome", "amazing", "seen", "owned",
                    "queue", "netflix", "dvd", "watchlist", "want", "must", "see", "rewatch", "boring", "overrated",
                    "underrated", "classic", "masterpiece"}


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
        free_form: Iterable[str] | None = None,
    ):
        """free_form names attributes to treat as free-form regardless of the statistics (None: decide from them)."""
        self.items: dict[str, ItemRecord] = {}
        # domain -> attribute -> number of items carrying it; domain -> item count
        self._carriers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._domain_sizes: dict[str, int] = defaultdict(int)
        self._assignments: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # item-value pairs
        # (domain, attribute) -> value -> items carrying it
        self._value_counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._forced_free = set(free_form or ())
        self.popularity = dict(popularity or {})
        # domain -> attribute -> set of values as the catalog writes them
        self.values: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
        self.numeric: dict[str, set[str]] = defaultdict(set)  # domain -> numeric attributes (year, price)
        self.titles: dict[str, list[TitleKey]] = defaultdict(list)
        for item in items:
            self._add_item(item)
        self.domains = set(self.values) | {i.domain for i in self.items.values()}
        self.free_form: set[tuple[str, str]] = {
            (domain, attr) for domain, attrs in self.values.items() for attr in attrs if self._looks_free(domain, attr)}
        self._fuzzy_keys: list[str] | None = None
        self._title_keys_sorted: list[str] | None = None
        self._credit_free: dict[str, list[str]] | None = None
        # surface key -> [(attribute, value, domain)]
        self.surfaces: dict[str, list[tuple[str, Any, str]]] = defaultdict(list)
        self._build_surfaces(synonyms)
        self.domain_words: dict[str, str] = {}
        for domain, words in DOMAIN_WORDS.items():
            for word in words:
                self.domain_words[key_of(word)] = domain
        self.max_title_tokens = MAX_TITLE_TOKENS

    # -- building -------------------------------------------------------------------------------
    def _looks_free(self, domain: str, attr: str) -> bool:
        """Return whether an attribute's values are free-form, from the catalog's own statistics."""
        if attr in self._forced_free:
            return True
        distinct = len(self.values[domain][attr])
        carriers = self._carriers[domain][attr] or 1
        coverage = carriers / (self._domain_sizes[domain] or 1)
        assignments = self._assignments[domain][attr]
        # The median item count per value: a long tail of one-off tags keeps it low even when a few tags are common.
        counts = sorted(self._value_counts[(domain, attr)].values())
        support = counts[len(counts) // 2] if counts else 0
        per_item = assignments / carriers
        return distinct >= FREE_FORM_MIN_VALUES and (
            coverage < FREE_FORM_MAX_COVERAGE
            or (support < FREE_FORM_MIN_SUPPORT and per_item >= FREE_FORM_MIN_VALUES_PER_ITEM))

    def is_free_form(self, attr: str, domain: str | None = None) -> bool:
        """Return whether an attribute is free-form (soft preference only) in the domain, or in any domain."""
        if domain is not None:
            return (domain, attr) in self.free_form
        return any(a == attr for _, a in self.free_form)

    def _add_item(self, item: ItemRecord) -> None:
        self.items[item.item_id] = item
        self._domain_sizes[item.domain] += 1
        for attr, value in (item.attributes or {}).items():
            if attr in SKIP_ATTRIBUTES or value is None:
                continue
            values = value if isinstance(value, (list, tuple, set)) else [value]
            if values:
                self._carriers[item.domain][attr] += 1
            for v in values:
                if isinstance(v, bool):
                    continue
                if isinstance(v, (int, float)) or (isinstance(v, str) and _is_number(v)):
                    self.numeric[item.domain].add(attr)
                elif isinstance(v, str) and v.strip() and len(v.split()) <= MAX_VALUE_WORDS:
                    self.values[item.domain][attr].add(v.strip())
                    self._assignments[item.domain][attr] += 1
                    self._value_counts[(item.domain, attr)][v.strip()] += 1
        for phrase, rank in title_variants(item.title):
            self._add_title(phrase, TitleKey(item.item_id, "title", rank))
        for alias in item.aliases or ():
            for phrase, rank in title_variants(alias):
                self._add_title(phrase, TitleKey(item.item_id, "alias", rank))

    def _add_title(self, phrase: str, key: TitleKey) -> None:
        k = key_of(phrase)
        if not k or len(tokenize(k)) > MAX_TITLE_TOKENS * 2:
            return
        if key.rank >= 2 and all(w in EN_STOPWORDS or w.isdigit() for w in k.split(" ")):
            return  # an alternative title or a head like "(Not)" or "The" would name nothing by itself
        existing = self.titles[k]
        if not any(e.item_id == key.item_id and e.rank <= key.rank for e in existing):
            existing.append(key)

    def _build_surfaces(self, synonyms) -> None:
        by_canon: dict[str, list[tuple[str, Any, str]]] = defaultdict(list)
        for domain, attrs in self.values.items():
            for attr, vals in attrs.items():
                free = (domain, attr) in self.free_form
                for v in vals:
                    if free:
                        if _usable_free_value(v):
                            self._add_surface(key_of(v), attr, v, domain)
                        continue
                    by_canon[_canon(v)].append((attr, v, domain))
                    for form in _value_forms(v):
                        self._add_surface(form, attr, v, domain)
        for table in synonyms.values():
            for concept, words in table.items():
                # A synonym counts only where the catalog holds, in a structured attribute of any name, the value it
                # names under any of its spellings (books write "science fiction" where MovieLens writes "Sci-Fi").
                targets: list[tuple[str, Any, str]] = []
                for form in {_canon(concept), *(_canon(w) for w in words if not is_cjk(w[0]))}:
                    targets += [t for t in by_canon.get(form, []) if t not in targets]
                for attr, value, domain in targets:
                    for word in [concept, *words]:
                        self._add_surface(key_of(word), attr, value, domain)
        # A phrase that names a structured value never stands for a free-form one ("science fiction" is the genre,
        # not the tag one person once typed).
        for key, entries in self.surfaces.items():
            structured = [e for e in entries if (e[2], e[0]) not in self.free_form]
            if structured and len(structured) < len(entries):
                self.surfaces[key] = structured

    def is_structured_surface(self, key: str) -> bool:
        """Return whether a phrase names a value of a structured attribute."""
        return any((d, a) not in self.free_form for a, _, d in self.surfaces.get(key, []))

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

    def works_of(self, attr: str, value: Any, domain: str, limit: int) -> list[str]:
        """Return ids of the domain's items whose attr holds value (as filters compare it), most popular first."""
        wanted = attribute_value(value)
        found = [item.item_id for item in self.items.values()
                 if item.domain == domain and wanted in attribute_values((item.attributes or {}).get(attr))]
        found.sort(key=lambda i: (-self.popularity.get(i, 0.0), i))
        return found[:limit]

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

    def titles_starting_with(self, phrase: str, limit: int = 5) -> list[str]:
        """Return ids of items whose full title begins with a written name of six letters or more, most popular first.

        Ordinary words never qualify ("the best", "love"), so only distinctive heads such as "Shawshank" do.
        """
        key = key_of(phrase)
        if len(key.replace(" ", "")) < 6 or any(is_cjk(ch) for ch in key):
            return []
        words = key.split(" ")
        if all(w in EN_STOPWORDS or self.is_structured_surface(w) or w in self.surfaces for w in words):
            return []
        if self._title_keys_sorted is None:
            self._title_keys_sorted = sorted(k for k, entries in self.titles.items()
                                             if any(e.rank <= 1 for e in entries))
        import bisect

        found: list[str] = []
        start = bisect.bisect_left(self._title_keys_sorted, key + " ")
        for title_key in self._title_keys_sorted[start:start + 200]:
            if not title_key.startswith(key + " "):
                break
            found += [h[0] for h in self.resolve_title(title_key) if h[0] not in found]
        # "like Civilization": the name after a credit ("Sid Meier's Civilization VI") begins the title too.
        found += [i for i in self._credited().get(key, []) if i not in found]
        found.sort(key=lambda i: (-self.popularity.get(i, 0.0), i))
        return found[:limit]

    def _credited(self) -> dict[str, list[str]]:
        """Return {the first word, or two, of a title after its credit: item ids} for titles that open with a
        two-word possessive credit ("Sid Meier's Civilization VI", "Tom Clancy's Rainbow Six Siege")."""
        if self._credit_free is None:
            self._credit_free = defaultdict(list)
            for item in self.items.values():
                m = _CREDIT.match(titles.without_year(item.title))
                if m:
                    words = key_of(m.group("rest")).split(" ")
                    for n in (1, 2):
                        if len(words) >= n:
                            self._credit_free[" ".join(words[:n])].append(item.item_id)
        return self._credit_free

    def fuzzy_titles(self, phrase: str, limit: int = 5) -> list[tuple[str, float]]:
        """Return (item_id, score) for titles within a small typo of a written name, best first.

        The threshold grows as the name gets shorter, and names under five letters or made only of ordinary words
        never match: "war" or "the dark" must not become a film.
        """
        key = key_of(phrase)
        letters = key.replace(" ", "")
        if len(letters) < 5 or any(is_cjk(ch) for ch in key):
            return []
        words = key.split(" ")
        if all(w in EN_STOPWORDS or self.is_structured_surface(w) or w.isdigit() for w in words):
            return []
        from rapidfuzz import fuzz, process

        if self._fuzzy_keys is None:
            self._fuzzy_keys = [k for k, entries in self.titles.items()
                                if len(k) >= 4 and not any(is_cjk(ch) for ch in k)
                                and any(e.rank <= 1 for e in entries)]
        cutoff = 92.0 if len(letters) < 8 else 88.0 if len(letters) < 13 else 85.0
        found: dict[str, float] = {}
        for title_key, score, _ in process.extract(key, self._fuzzy_keys, scorer=fuzz.ratio, score_cutoff=cutoff,
                                                   limit=limit * 3):
            if title_key[:1] != key[:1] and title_key.split(" ", 1)[-1][:1] != key.split(" ", 1)[-1][:1]:
                continue  # typos rarely hit the first letter of both the title and its main word
            for item_id, _, _ in self.resolve_title(title_key):
                found[item_id] = max(found.get(item_id, 0.0), float(score))
        ranked = sorted(found.items(), key=lambda kv: (-kv[1], -self.popularity.get(kv[0], 0.0), kv[0]))
        return ranked[:limit]

    def _year(self, item_id: str) -> int:
        year = (self.items[item_id].attributes or {}).get("year") if item_id in self.items else None
        try:
            return int(year)
        except (TypeError, ValueError):
            return 0

    def year_of(self, item_id: str) -> int:
        """Return the item's year attribute, or 0 when it has none."""
        return self._year(item_id)

    def price_of(self, item_id: str) -> float | None:
        """Return the item's price attribute as a number, or None when it has none."""
        item = self.items.get(item_id)
        value = item.attributes.get("price") if item else None
        try:
            price = float(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None
        return price if price is not None and math.isfinite(price) and price > 0 else None

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
