"""Finding item titles in free text: catalog title forms, display titles, a token-level matcher."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..rules import article_in_front

_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})\)\s*$")
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_LEADING_ARTICLE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
# Latin-script words only: CJK runs are split off, so "dress和summer" yields two tokens.
_TOKEN = re.compile(r"[^\W_\u3400-\u9fff\uf900-\ufaff]+(?:'[^\W_\u3400-\u9fff\uf900-\ufaff]+)*")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ARTICLES = frozenset({"the", "a", "an"})


def has_cjk(text: str) -> bool:
    """Return whether text holds any CJK ideograph."""
    return bool(_CJK.search(text))


def normalize_quotes(text: str) -> str:
    """Return text with curly apostrophes and quotes made straight."""
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


def title_year(title: str) -> int | None:
    """Return the (YYYY) year a catalog title ends with, if any."""
    m = _YEAR_SUFFIX.search(title)
    return int(m.group(1)) if m else None


def title_forms(title: str) -> list[str]:
    """Return the ways a title may be written in text: full, article moved or dropped, alternative names."""
    core = _YEAR_SUFFIX.sub("", title).strip()
    main = _PAREN.sub("", core).strip()
    forms = [core, main, article_in_front(main)]
    forms += [article_in_front(p.strip()) for p in _PAREN.findall(core) if len(p.strip()) >= 3]
    out: list[str] = []
    for form in forms:
        for variant in (form, _LEADING_ARTICLE.sub("", form)):
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
        before, after = text[max(0, start - 2):start], text[end:end + 8]
        if re.match(r"\s*\(\d{4}\)", after):
            return True
        return any(q in before for q in ('"', "'", "《", "“", "「")) and any(
            q in after[:2] for q in ('"', "'", "》", "”", "」"))

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
                key = tuple(t for t, _, _ in toks[i:i + n])
                ids = table.get(key)
                if ids is None or not _joined(text, toks[i:i + n]):
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
    return all(_GAP.fullmatch(text[a[2]:b[1]]) for a, b in zip(run, run[1:]))


def _non_overlapping(hits: list[TitleHit]) -> list[TitleHit]:
    chosen: list[TitleHit] = []
    for hit in sorted(hits, key=lambda h: (-(h.end - h.start), h.start)):
        if all(hit.end <= c.start or hit.start >= c.end for c in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h.start)
