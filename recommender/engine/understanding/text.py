"""Text helpers shared by the parser: cleaning, tokenizing, language detection, clause boundaries."""
from __future__ import annotations

import bisect
import html
import re
import unicodedata
from dataclasses import dataclass

import nh3

MAX_CHARS = 2000  # longer turns are cut: nobody asks for a film in more words than this
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
CLAUSE_PUNCT = set(",.;!?，。；！？、\n…")
# "anything but war films": this "but" means "except" and keeps the refusal in one clause.
_BUT_MEANS_EXCEPT = {"anything", "everything", "all", "nothing"}
CLAUSE_WORDS = {"but", "however", "though", "although", "但", "但是", "不过", "可是", "只是", "然而"}
# Sequel numerals as people and catalogs write them ("Part II", "2"); "i", "v" and "x" are left alone (words, "X-Men").
ROMAN_NUMERALS = {"ii": "2", "iii": "3", "iv": "4", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
# "Part II", "Vol. 2", "Episode IV": the word goes and the number stays, on both the catalog's and the person's side,
# so "Godfather Part II", "Godfather 2" and "Guardians of the Galaxy Vol. 2" meet their titles.
SEQUEL_WORDS = {"part", "pt", "vol", "volume", "chapter", "episode"}
_AFTER_SEQUEL_WORD = {"i": "1", "v": "5", "x": "10", "one": "1", "two": "2", "three": "3", "four": "4"}


class _FoldTable(dict):
    """str.translate table folding one character to one: diacritics dropped, traditional Chinese to simplified.

    One character in, one out, so token offsets into the cleaned text stay valid. Filled lazily and cached.
    """

    _converter = None

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = ch
        if code >= 0x80:
            if _CJK.match(ch):
                out = self._to_simplified(ch)
            else:
                base = unicodedata.normalize("NFKD", ch)
                if base and base[0].isascii() and all(unicodedata.combining(c) for c in base[1:]):
                    out = base[0]
                else:
                    out = _LIGATURES.get(ch, ch)
        self[code] = out
        return out

    @classmethod
    def _to_simplified(cls, ch: str) -> str:
        if cls._converter is None:
            try:
                import opencc

                cls._converter = opencc.OpenCC("t2s")
            except (ImportError, OSError, RuntimeError):  # conversion is an improvement, not a requirement
                cls._converter = False
        if not cls._converter:
            return ch
        out = cls._converter.convert(ch)
        return out if len(out) == 1 else ch


_LIGATURES = {"ø": "o", "ß": "s", "æ": "a", "œ": "o", "ł": "l", "đ": "d", "ı": "i"}
_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Return the text lower-cased with diacritics and traditional characters folded, length preserved."""
    return text.lower().translate(_FOLD)


def strip_markup(text: str) -> str:
    """Return the text with HTML elements removed (script and style with their content) and entities decoded.

    An HTML parser decides what is a tag, so a "<" that opens none stays: "rating <4, year >2000" and
    "价格<200元" keep their limits. Tags become spaces so words on either side of one stay apart."""
    if "<" not in text and "&" not in text:
        return text
    spaced = re.sub(r"<(?=/?[A-Za-z!])", " <", text)
    return html.unescape(nh3.clean(spaced, tags=set(), clean_content_tags={"script", "style"}, strip_comments=True))


def clean(text: str | None) -> str:
    """Return the turn as plain text: HTML tags and entities removed, width-normalised, spaces collapsed, capped."""
    if not text:
        return ""
    text = strip_markup(str(text)[: MAX_CHARS * 2])
    text = unicodedata.normalize("NFKC", text)
    # Curly quotes and apostrophes are folded so "don’t" and "don't" read alike.
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS]


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def detect_language(text: str, default: str = "en") -> str:
    """Return "zh" when Chinese characters carry the turn, "en" when Latin words do, else the default."""
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    if cjk == 0 and words == 0:
        return default
    # One Chinese character carries roughly half an English word.
    return "zh" if cjk * 0.5 >= words else "en"


@dataclass(frozen=True)
class Token:
    text: str  # lower-cased form used for matching
    start: int  # character offsets into the cleaned text
    end: int

    @property
    def cjk(self) -> bool:
        return is_cjk(self.text[0])


def tokenize(text: str) -> list[Token]:
    """Return match tokens: Latin words and digits (apostrophes dropped, hyphens split) and single Chinese characters."""
    lowered = fold(text)
    # Removing apostrophes keeps offsets only if we map them; replace with a joiner-free placeholder instead.
    masked = lowered.replace("'", "\x00")
    tokens = []
    for m in re.finditer(r"[a-z0-9\x00]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]", masked):
        word = m.group().replace("\x00", "")
        word = ROMAN_NUMERALS.get(word, word)
        if word:
            if tokens and tokens[-1].text in SEQUEL_WORDS:
                number = _AFTER_SEQUEL_WORD.get(word, word)
                if number.isdigit():
                    tokens[-1] = Token(number, tokens[-1].start, m.end())
                    continue
            tokens.append(Token(word, m.start(), m.end()))
    return tokens


def join_tokens(words: list[str]) -> str:
    """Return the lookup key for a token sequence: Latin words spaced, Chinese characters run together."""
    out = ""
    prev_latin = False
    for word in words:
        latin = not is_cjk(word[0])
        if out and latin and prev_latin:
            out += " "
        out += word
        prev_latin = latin
    return out


def key_of(text: str) -> str:
    """Return the normalised lookup key of a phrase."""
    return join_tokens([t.text for t in tokenize(clean(text))])


def clause_ids(text: str, tokens: list[Token]) -> list[int]:
    """Return, per token, the index of the clause it sits in (split at punctuation and contrast words)."""
    ids = []
    clause = 0
    prev_end = 0
    prev_word = ""
    for tok in tokens:
        between = text[prev_end : tok.start]
        if any(ch in CLAUSE_PUNCT for ch in between):
            clause += 1
        if (tok.text in CLAUSE_WORDS or text[tok.start : tok.start + 2] in CLAUSE_WORDS) and not (
                tok.text == "but" and prev_word in _BUT_MEANS_EXCEPT):
            clause += 1
        ids.append(clause)
        prev_word = tok.text
        prev_end = tok.end
    return ids


def token_index(tokens: list[Token], char_pos: int) -> int:
    """Return the index of the token at or after a character offset (the last token past the end)."""
    ends = [t.end for t in tokens]
    return min(bisect.bisect_right(ends, char_pos), len(tokens) - 1)


def clause_starts(tokens: list[Token], clauses: list[int]) -> dict[int, int]:
    """Return the character offset where each clause begins."""
    starts: dict[int, int] = {}
    for tok, clause in zip(tokens, clauses):
        starts.setdefault(clause, tok.start)
    return starts
