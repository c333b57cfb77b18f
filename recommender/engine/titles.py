"""Item titles, in one place: the (YYYY) year, articles, folding, and the ways a catalog title is written.

Catalogs write titles their own way ("Godfather, The (1972)", "Amelie (Fabuleux destin d'Amélie Poulain, Le)
(2001)"); people write "The Godfather", "godfather", "Amélie". Everything that reads or shows a title uses this
module:

- `natural_title`: a catalog title as people write it (shown titles, `rules.display_title`);
- `title_keys` / `TitleLinker`: a "Title (year)" name from an imported file or dataset to a catalog item, by
  folded keys and the year;
- `title_variants`: the ranked forms under which the understanding index (`understanding/catalog.py`) files a
  title, to link what a person types;
- `title_forms` / `TitleMatcher`: titles found in generated text (explanations and their checks).

The three linkers differ on purpose: an imported name carries its year and must match exactly; a person's
message is matched token by token with a weak/strong judgement; generated text is checked for every title it
names, capitalised or quoted.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

# ---------------------------------------------------------------- the year

_YEAR_DIGITS = r"(\d{4})"
_RUNNING_YEARS = r"(?:[-–]\d{0,4})?"


def _year_in_parentheses(running: bool = False) -> str:
    """Return the one "(YYYY)" pattern; running=True also takes a series' running years "(2006–2007)"."""
    until = _RUNNING_YEARS if running else ""
    return rf"\({_YEAR_DIGITS}{until}\)"


YEAR_IN_TEXT = re.compile(_year_in_parentheses())  # "(1995)" anywhere
YEAR_AT_END = re.compile(rf"\s*{_year_in_parentheses()}\s*$")  # "Heat (1995)"
# Imported catalogs also list series by their running years; the first year is the item's year.
YEAR_OR_RUN_AT_END = re.compile(rf"\s*{_year_in_parentheses(running=True)}\s*$")
# A year written as a bare word after a title ("Heat 1995").
YEAR_WORD = re.compile(r"(?:19|20)\d\d")


def split_year(title: str) -> tuple[str, int | None]:
    """Return (title without its trailing "(YYYY)", the year or None): "Heat (1995)" -> ("Heat", 1995)."""
    m = YEAR_AT_END.search(title)
    if not m:
        return title.strip(), None
    return title[: m.start()].strip(), int(m.group(1))


def title_year(title: str) -> int | None:
    """Return the (YYYY) year a catalog title ends with, if any."""
    return split_year(title)[1]


def without_year(title: str) -> str:
    """Return a title without its trailing (YYYY): "Heat (1995)" -> "Heat"."""
    return split_year(title)[0]


def is_year_word(word: str) -> bool:
    """Return whether a word is a year as people write one after a title ("1995")."""
    return YEAR_WORD.fullmatch(word) is not None


# ---------------------------------------------------------------- articles

# Articles that catalogs such as MovieLens move to the end of a title ("Godfather, The", "Chien andalou, Un",
# "Sjunde inseglet, Det"). The first three are the English ones, which people also leave off ("Godfather").
MOVED_ARTICLES = (
    "The",
    "A",
    "An",
    "La",
    "Le",
    "Les",
    "L'",
    "Il",
    "I",
    "Gli",
    "Lo",
    "El",
    "Los",
    "Las",
    "Der",
    "Die",
    "Das",
    "Den",
    "Det",
    "De",
    "Het",
    "Een",
    "Un",
    "Une",
    "Una",
    "O",
    "Os",
    "En",
    "Da",
)
ENGLISH_ARTICLES = frozenset(a.lower() for a in MOVED_ARTICLES[:3])
TRAILING_ARTICLE = re.compile(rf"^(.*\S),\s*({'|'.join(re.escape(a) for a in MOVED_ARTICLES)})$", re.IGNORECASE)
LEADING_ARTICLE = re.compile(rf"^(?:{'|'.join(sorted(ENGLISH_ARTICLES))})\s+", re.IGNORECASE)
_PARENS = re.compile(r"\(([^()]*)\)")


def trailing_article(name: str) -> tuple[str, str] | None:
    """Return (name, article) when a name ends with a moved article ("Matrix, The" -> ("Matrix", "The"))."""
    m = TRAILING_ARTICLE.match(name.strip())
    return (m.group(1), m.group(2)) if m else None


def article_in_front(name: str) -> str:
    """Return a name with a catalog's trailing article put back in front ("Godfather, The" -> "The Godfather")."""
    moved = trailing_article(name)
    if moved is None:
        return name.strip()
    rest, article = moved
    joiner = "" if article.endswith("'") else " "
    return f"{article}{joiner}{rest.strip()}"


def natural_title(title: str, with_year: bool = True) -> str:
    """Return a catalog title as people write it: every article in front, the year kept or dropped.

    "Godfather, The (1972)" -> "The Godfather (1972)"; an alternative title in parentheses is turned too
    ("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)" -> "Amelie (Le Fabuleux destin d'Amélie Poulain)
    (2001)"); with_year=False drops the trailing (YYYY).
    """
    core, year = split_year(title)
    head = core.split("(", 1)[0].strip()
    rest = _PARENS.sub(lambda part: f"({article_in_front(part.group(1))})", core[len(head) :])
    out = f"{article_in_front(head)} {rest.strip()}".strip() if head else core
    if with_year and year is not None:
        out = f"{out} ({year})"
    return out


# ---------------------------------------------------------------- folding and exact keys (imported names)


def clean_name(name: str) -> str:
    """Return a name with its runs of white space made single ("A Scanner Darkly  (2006)")."""
    return re.sub(r"\s+", " ", name or "").strip()


def _repair(text: str) -> str:
    """Return UTF-8 text that was decoded as Latin-1 ("WALL\u00c2\u00b7E") as it was written; other text as is."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def fold(text: str) -> str:
    """Return text lower-cased, without diacritics, '&' as 'and', punctuation as single spaces."""
    text = unicodedata.normalize("NFKD", _repair(unquote(text)))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower().replace("&", " and ")
    text = re.sub(r"['\u2019`]", "", text)
    text = re.sub(r"[^0-9a-z\u3400-\u9fff]+", " ", text).strip()
    return re.sub(r"\bvolume\b", "vol", text)


def title_keys(name: str) -> tuple[list[str], int | None]:
    """Return (comparison keys, year) of a "Title (year)" name; the first key is the main title.

    Articles are dropped wherever they stand ("Dark Knight, The" and "The Dark Knight" share "dark knight");
    MovieLens's parenthesised alternative titles ("Amelie (Fabuleux destin d'Amélie Poulain, Le)") are extra keys.
    """
    name, year = split_year(clean_name(name))
    alternatives = [a.strip() for a in _PARENS.findall(name) if a.strip() and not a.strip().isdigit()]
    main = _PARENS.sub(" ", name).strip() or name
    # The part before a colon ("Star Wars: Episode IV - A New Hope" -> "Star Wars") as a weaker key.
    heads = [p.split(":", 1)[0] for p in [main] if ":" in p and len(p.split(":", 1)[0].strip()) >= 4]
    keys = []
    for phrase in [main, *alternatives, *heads]:
        phrase = clean_name(phrase)
        moved = trailing_article(phrase)
        if moved is not None:
            phrase = moved[0]
        key = LEADING_ARTICLE.sub("", fold(phrase))
        if key and key not in keys:
            keys.append(key)
    return keys, year


class TitleLinker:
    """Link "Title (year)" names to catalog item ids; the year must match when both sides have one."""

    def __init__(self, items: Iterable[tuple[str, str, int | None]], popularity: dict[str, float] | None = None):
        """items: (item_id, title, year or None; a year in the title is read when None)."""
        self.popularity = popularity or {}
        self.index: dict[str, list[tuple[int, str, int | None]]] = {}
        for item_id, title, year in items:
            keys, year_in_title = title_keys(title)
            year = year if year is not None else year_in_title
            for rank, key in enumerate(keys):
                self.index.setdefault(key, []).append((min(rank, 1), item_id, year))

    def link(self, name: str) -> str | None:
        """Return the item id for a name, or None: main titles before alternatives, then the more popular."""
        keys, year = title_keys(name)
        best = None
        for key in keys[:1]:
            for rank, item_id, item_year in self.index.get(key, ()):
                if year is not None and item_year is not None and year != item_year:
                    continue
                order = (rank, item_year is None, -self.popularity.get(item_id, 0.0), item_id)
                if best is None or order < best[0]:
                    best = (order, item_id)
        return best[1] if best else None


_WORD = re.compile(r"\S+")
MAX_TITLE_WORDS = 12


def titles_in_text(text: str, linker: TitleLinker) -> list[str]:
    """Return item ids of the "Title (year)" phrases in free text, in order: before each "(year)" the longest
    run of up to MAX_TITLE_WORDS preceding words that names a catalog item of that year."""
    found: list[str] = []
    start = 0
    for hit in YEAR_IN_TEXT.finditer(text):
        words = _WORD.findall(text[start : hit.start()])
        for n in range(min(len(words), MAX_TITLE_WORDS), 0, -1):
            item = linker.link(f"{' '.join(words[-n:])} ({hit.group(1)})")
            if item is not None:
                if item not in found:
                    found.append(item)
                break
        start = hit.end()
    return found


# ---------------------------------------------------------------- ranked forms (what a person types)

_SEQUEL_PART = re.compile(r"\bpart\s+(?=\d)")
_QUALIFIER = re.compile(
    r"\b(?:soundtrack|ost|score|edition|remaster(?:ed)?|deluxe|version|remix(?:es)?|live)\b|原声", re.IGNORECASE
)


def _article_forms(phrase: str, rank: int) -> list[tuple[str, int]]:
    """Return a phrase with its moved article in front (rank kept) and without any article (rank 1 at best)."""
    moved = trailing_article(phrase)
    if moved is not None:
        rest, article = moved
        return [(f"{article} {rest}", rank), (rest, rank if rank else 1)]
    first, _, rest = phrase.partition(" ")
    if first.lower() in ENGLISH_ARTICLES and rest:
        return [(phrase, rank), (rest, max(rank, 1))]
    return [(phrase, rank)]


def _shortened_forms(phrase: str, rank: int) -> list[tuple[str, int]]:
    """Return the shorter ways a long title is written: before its colon, before " - "."""
    forms = []
    if ":" in phrase:
        head = phrase.split(":", 1)[0].strip()
        if len(head.split()) >= 2 or len(head) >= 5:
            forms.append((head, 2))
    if " - " in phrase:  # "Avengers: Infinity War - Part I" is written without its part
        head = phrase.split(" - ", 1)[0].strip()
        if len(head) >= 4:
            forms.append((head, max(rank, 1)))
    return forms


def title_variants(title: str, key: Callable[[str], str]) -> list[tuple[str, int]]:
    """Return (phrase, rank) forms under which a catalog title may be written by a person.

    rank 0 is the full title or alias, 1 an article-less or otherwise looser form, 2 the part before a colon or an
    alternative title. key is the index's own folding, used to find a sequel's "part" ("Godfather: Part II" is
    also "Godfather 2"; numerals are folded to digits when keys are made).
    """
    base = without_year(title)
    alts = [a.strip() for a in _PARENS.findall(base) if a.strip() and not a.strip().isdigit()]
    main = _PARENS.sub(" ", base).strip() or base
    # A qualifier in parentheses ("Interstellar (Original Motion Picture Soundtrack)") makes the bare name a
    # less exact match than an item that is that name itself (the film "Interstellar (2014)").
    qualified = any(_QUALIFIER.search(a) for a in alts)
    alts = [a for a in alts if not _QUALIFIER.search(a)]
    forms: list[tuple[str, int]] = []
    for phrase, rank in [(main, 1 if qualified else 0)] + [(a, 2) for a in alts]:
        turned = _article_forms(phrase, rank)
        forms += turned
        forms += _shortened_forms(turned[0][0], rank)
    for phrase, rank in list(forms):
        lowered = key(phrase)
        if "part " in lowered and _SEQUEL_PART.search(lowered):
            forms.append((_SEQUEL_PART.sub("", lowered), max(rank, 1)))
    return forms


# ---------------------------------------------------------------- titles in generated text

# Latin-script words only: CJK runs are split off, so "dress和summer" yields two tokens.
_TOKEN = re.compile(r"[^\W_\u3400-\u9fff\uf900-\ufaff]+(?:'[^\W_\u3400-\u9fff\uf900-\ufaff]+)*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ARTICLES = ENGLISH_ARTICLES


def has_cjk(text: str) -> bool:
    """Return whether text holds any CJK ideograph."""
    return bool(_CJK.search(text))


def normalize_quotes(text: str) -> str:
    """Return text with curly apostrophes and quotes made straight."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


def title_forms(title: str) -> list[str]:
    """Return the ways a title may be written in text: full, article moved or dropped, alternative names."""
    core = without_year(title)
    main = re.sub(r"\s*\(([^()]*)\)", "", core).strip()
    forms = [core, main, article_in_front(main)]
    forms += [article_in_front(p.strip()) for p in _PARENS.findall(core) if len(p.strip()) >= 3]
    out: list[str] = []
    for form in forms:
        for variant in (form, LEADING_ARTICLE.sub("", form)):
            variant = variant.strip(" ,.")
            if variant and variant not in out:
                out.append(variant)
    return out


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Return (lower-cased token, start, end) for the non-CJK words of text."""
    out = []
    for m in _TOKEN.finditer(normalize_quotes(text)):
        word = m.group(0)
        if has_cjk(word):
            continue
        out.append((word.casefold(), m.start(), m.end()))
    return out


@dataclass(frozen=True)
class TitleHit:
    """A title found in text: its character span and the items it may name."""

    start: int
    end: int
    item_ids: frozenset[str]
    form: str
    strong: bool  # followed by a year or wrapped in quotes / 《》, so surely meant as a title


class TitleMatcher:
    """Finds catalog titles and aliases in text by comparing token sequences.

    Short or one-word titles ("Heat", "Big") are common words, so they count only when
    capitalised in the text, and the shortest only when marked as titles (year, quotes, 《》).
    """

    def __init__(self, common_words: Iterable[str] = ()) -> None:
        self._by_first: dict[str, dict[tuple[str, ...], set[str]]] = {}
        self._cjk: dict[str, set[str]] = {}
        self._common = {w.casefold() for w in common_words}
        self.max_len = 1

    def add(self, item_id: str, title: str, aliases: Iterable[str] = ()) -> None:
        """Index one item's title forms and aliases."""
        for form in [*title_forms(title), *aliases]:
            if has_cjk(form):
                key = form.strip("《》 ")
                if len(key) >= 2:
                    self._cjk.setdefault(key, set()).add(item_id)
                continue
            toks = tuple(t for t, _, _ in tokens(form))
            if not toks:
                continue
            self._by_first.setdefault(toks[0], {}).setdefault(toks, set()).add(item_id)
            self.max_len = max(self.max_len, len(toks))

    def _strong(self, text: str, start: int, end: int) -> bool:
        before, after = text[max(0, start - 2) : start], text[end : end + 8]
        if YEAR_IN_TEXT.match(after.lstrip()):
            return True
        return any(q in before for q in ('"', "'", "《", "“", "「")) and any(
            q in after[:2] for q in ('"', "'", "》", "”", "」")
        )

    def _accept(self, text: str, toks: tuple[str, ...], start: int, end: int) -> tuple[bool, bool]:
        strong = self._strong(text, start, end)
        if strong:
            return True, True
        significant = [t for t in toks if t not in ARTICLES]
        if len(significant) >= 3:
            return True, False
        word = text[start:end]
        first = next((w for w in word.split() if w.casefold() not in ARTICLES), word)
        if not first[:1].isupper():
            return False, False
        if len(significant) == 1 and (len(significant[0]) < 4 or significant[0] in self._common):
            return False, False
        return True, False

    def find(self, text: str) -> list[TitleHit]:
        """Return non-overlapping title hits, longest first, in text order."""
        text = normalize_quotes(text)
        toks = tokens(text)
        hits: list[TitleHit] = []
        for i, (tok, start, _) in enumerate(toks):
            table = self._by_first.get(tok)
            if not table:
                continue
            for n in range(min(self.max_len, len(toks) - i), 0, -1):
                key = tuple(t for t, _, _ in toks[i : i + n])
                ids = table.get(key)
                if ids is None or not _joined(text, toks[i : i + n]):
                    continue
                end = toks[i + n - 1][2]
                ok, strong = self._accept(text, key, start, end)
                if ok:
                    hits.append(TitleHit(start, end, frozenset(ids), text[start:end], strong))
                    break
        for alias, ids in self._cjk.items():
            pos = text.find(alias)
            while pos >= 0:
                hits.append(TitleHit(pos, pos + len(alias), frozenset(ids), alias, True))
                pos = text.find(alias, pos + 1)
        return _non_overlapping(hits)


_GAP = re.compile(r"[\s,:.\-\u2013'&/!?*]{1,3}")


def _joined(text: str, run: list[tuple[str, int, int]]) -> bool:
    """Return whether consecutive tokens are separated only as words of one title can be."""
    return all(_GAP.fullmatch(text[a[2] : b[1]]) for a, b in zip(run, run[1:]))


def _non_overlapping(hits: list[TitleHit]) -> list[TitleHit]:
    chosen: list[TitleHit] = []
    for hit in sorted(hits, key=lambda h: (-(h.end - h.start), h.start)):
        if all(hit.end <= c.start or hit.start >= c.end for c in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)
