"""Rule-based reading of one turn, grounded in a CatalogIndex: intent, slots, referenced items, keywords.

Everything here is deterministic; the LLM (see keywords.py) only adds English keywords for leftovers.
"""
from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..rules import CREATOR_ATTRIBUTES, attribute_values
from ..titles import is_year_word
from . import lexicon as lx
from .catalog import CatalogIndex, title_key_is_weak
from .phrases import earliest as _earliest
from .phrases import has_phrase as _has_phrase
from .result import ItemRef, Understanding
from .slots import find_bare_bounds, find_positions, find_ranges, numbers_to_digits
from .state import ConversationState
from .text import (
    Token,
    clause_ids,
    clause_starts,
    clean,
    detect_language,
    fold,
    is_cjk,
    join_tokens,
    key_of,
    token_index,
    tokenize,
)

MAX_NGRAM = 14
DOMAIN_ORDER = ("movie", "product", "book", "music", "game")
# "Something like Radiohead": how many of the maker's works stand in as the named items (the most popular first;
# as many as likeness compares with, so none of them is listed back).
MAKER_WORKS = 10
TITLE_CUES = {"like", "liked", "love", "loved", "loves", "enjoyed", "enjoy", "seen", "watched", "saw", "hated", "hate",
              "about", "than", "to", "as", "is", "was", "did", "does", "watch", "rewatch"}
# Only these make a lower-case ordinary word a title ("loved heat"); "was", "to", "about" do not ("it was perfect").
STRONG_TITLE_CUES = {"like", "liked", "love", "loved", "loves", "enjoyed", "enjoy", "seen", "watched", "saw", "hated",
                     "hate", "watch", "rewatch"}
ZH_TITLE_CUES = ("喜欢", "看过", "像", "讨厌", "类似", "和", "跟", "比", "爱")
_EN_PRONOUN = re.compile(r"\b(it|that one|this one|that movie|that film|this movie|this film|that|this|them)\b")
_ZH_PRONOUN = re.compile(r"(这个|这部|那部|那个|它|这款|那款|这件|那件|这本|那本)")
_SIMILAR_TO_PRONOUN = re.compile(r"\b(like|similar to) (that|this|it)\b|(类似|像)(这个|那个|这部|那部|它)")
_ZH_NEG_NOISE = re.compile(r"有没有|是不是|要不要|好不好|行不行|没有别的")
_ABOUT_ME = ["your favorite", "your favourite", "do you like", "are you a", "you're a", "you are a", "你最喜欢", "你喜欢什么", "你是"]
_NEGATION = re.compile("|".join(
    [re.escape(c) if is_cjk(c[0]) else r"(?<![a-z0-9'])" + re.escape(c) + r"(?![a-z0-9'])"
     for c in sorted(lx.NEGATION_CUES, key=len, reverse=True)] + [lx.LESS_CUE, lx.TOO_CUE]))



def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# A yes-word that begins the answer and is a word of its own: "好的", "ok fine", not "好看的" or "yesterday".
_LOOSEN_ANSWER = re.compile(r"\s*(?:" + _alternatives(lx.LOOSEN_ANSWERS) + r")(?![a-z0-9\u4e00-\u9fff])")
# "any year is fine", "the genre doesn't matter", "don't mind the price", "whatever decade"; "年代不限", "什么类型都行".
_EN_ANY = _alternatives([w for w in lx.ANY_VALUE_WORDS if not is_cjk(w[0])])
_ZH_ANY = _alternatives([w for w in lx.ANY_VALUE_WORDS if is_cjk(w[0])])
_ANY_VALUE = re.compile(
    r"(?<![a-z0-9'])(?:any|whatever|whichever) (?P<a>" + _EN_ANY + r")s?(?![a-z0-9'])(?! (?:of|after|before|since|"
    r"from|between|in|under|over|below|above))"
    r"|(?<![a-z0-9'])(?:the )?(?P<b>" + _EN_ANY + r")s? (?:doesn't|does not|don't|do not|won't|will not) matter"
    r"|(?<![a-z0-9'])no matter (?:the|what) (?P<c>" + _EN_ANY + r")"
    r"|(?<![a-z0-9'])(?:don't|do not|didn't) (?:really )?(?:mind|care about|care which) (?:the |what |which )?"
    r"(?P<d>" + _EN_ANY + r")"
    r"|(?P<e>" + _ZH_ANY + r")(?:不限|无所谓|随便|都行|都可以|都好|没关系)|不限(?P<f>" + _ZH_ANY + r")"
    r"|什么(?P<g>" + _ZH_ANY + r")都(?:行|可以|好)")
# "anything newer?", "older ones", "有没有新一点的": newer or older than what the conversation is about ("newer than
# 2000" is a range of its own; "my older brother" is a person).
_RELATIVE_AGE = re.compile(
    r"(?<![a-z0-9'])(?P<new>newer|more recent|more modern)(?![a-z0-9'])(?! than)"
    r"|(?<![a-z0-9'])(?P<old>older|more classic)(?![a-z0-9'])(?! than| brother| sister| son| daughter| kid| child"
    r"| people| person| viewer| audience| folk| relative| cousin)"
    r"|(?P<znew>新一点|新一些|更新一点|更新的|近一点|近一些|较新|新点)"
    r"|(?P<zold>老一点|老一些|更老|旧一点|旧一些|早一点|早一些|更早|老点)")
# Asking for items like the named ones: "something like X", "films similar to X and Y", "类似《X》的", "像《X》那样的".
_ALIKE = re.compile(r"(?<![a-z0-9'])(?:similar to|along the lines of|in the vein of|the likes of|reminds? me of)"
                    r"(?![a-z0-9'])|(?<![a-z0-9'])(?:something|anything|stuff|more|movies?|films?|shows?|books?|"
                    r"novels?|albums?|records?|music|songs?|games?|ones|others|products|items)\s+(?:like|similar)(?![a-z0-9'])"
                    r"|(?<![a-z0-9'])similar ones(?![a-z0-9'])"
                    r"|类似|相似|像《|(?:跟|和)《[^》]*》(?:一样|差不多|类似)")
# "something cheaper", "便宜一点的": a price below what the conversation is looking at ("cheaper than $50" is a bound).
_CHEAPER = re.compile(r"(?<![a-z0-9'])(?:cheaper|less expensive|more affordable|lower[- ]priced|a lower price)"
                      r"(?![a-z0-9'])(?! than \$?\d)|便宜一?点|便宜些|便宜一些|更便宜|再便宜|便宜的|实惠一?点|价格低一?点")
# "cheap headphones", "平价的耳机": a price in the lower half of what the request asks for.
_CHEAP = re.compile(r"(?<![a-z0-9'])(?:cheap|inexpensive|affordable|budget|low[- ]cost)(?![a-z0-9'])|平价|实惠的")
# Someone else's taste: "my sister (really) loves", "she is into", "我女朋友(很)喜欢"; "其他" is not "他".
_OTHER_TASTE = re.compile(
    r"(?<![a-z0-9'])(?:" + _alternatives([w for w in lx.OTHER_PEOPLE if not is_cjk(w[0])]) + r")"
    r"\s+(?:really |also |absolutely |totally |just |still )?(?:" +
    _alternatives([w for w in lx.OTHER_TASTE_VERBS if not is_cjk(w[0])]) + r")(?![a-z0-9'])"
    r"|(?<!其)(?:" + _alternatives([w for w in lx.OTHER_PEOPLE if is_cjk(w[0])]) + r")"
    r"(?:很|也|特别|超|最|非常|一直|都|超级)?(?:" + _alternatives([w for w in lx.OTHER_TASTE_VERBS if is_cjk(w[0])]) + ")")
# The speaker's own taste set against someone else's ("but I prefer", "但我更喜欢"), and a request for both.
_OWN_TASTE = re.compile(r"\b(but|while|whereas) (i|i'm|me|personally)\b|\bi (prefer|would rather|'d rather)\b|"
                        r"(但|可|而)(是)?我(自己)?|我(更|比较|倒是)(喜欢|爱|想)")
_FOR_BOTH = re.compile(r"\b(both|all of us|together|everyone|the whole family)\b|一起|都(能|可以|爱|喜欢)|我们(俩|两个)")
# "didn't love", "not a fan", "不太爱": praise under a negation is criticism.
_NEGATED_LIKE = re.compile(r"\b(didn't|did not|don't|do not|doesn't|not|never|wasn't|isn't|wasnt|didnt|dont)\s+(\w+\s+)?"
                           r"(like|love|enjoy|enjoyed|loved|liked|great|good|a fan|interested|impressed)\b|不(太|怎么|是很)?(爱|好看|喜欢|精彩)")
# "too dude humor for me", "a bit too slow for us": a complaint whatever the adjective.
_TOO_FOR_ME = re.compile(r"\btoo( \w+){1,3} for (me|us|my taste)\b")
# "something like Star Wars but not Star Trek", "anything except Titanic", "除了《泰坦尼克号》".
_NEGATED_BEFORE = re.compile(r"(\b(not|no|except|except for|apart from|aside from|besides|other than|anything but|"
                             r"rather than|instead of|nothing like|better than)|除了|不要|别)"
                             r"\s*(the\s+|a\s+)?$")
# A clause that only goes on with the list before it ("..., or any space stuff").
_GOES_ON = re.compile(r"\s*(?:[A-Z0-9][\w'’:-]*\s+)*(?:or|nor)\s")
_ASK_AB = re.compile(r"^(is|was|are|does|did|isn't)\b(?! there\b)|还是|是不是")
# A capitalised run after a liking cue names a title: "something like The Matrix", "fan of Harry Potter".
_TITLE_AFTER_CUE = re.compile(
    r"\b(?:like|similar to|such as|as good as|fan of|loved|enjoyed|liked)\s+"
    r"((?:(?:The|A|An)\s+)?[A-Z0-9][\w'’:&.-]*(?:\s+(?:[A-Z0-9][\w'’:&.-]*|of|the|and|in|on|a|an|to|at|for|with|&))*)")
_NOT_TITLES = {"i", "i'm", "i've", "it", "this", "that", "these", "those", "something", "anything", "me", "you", "we",
               "they", "he", "she", "them", "him", "her", "one", "some", "any", "more", "what", "the", "a", "an"}
_NEWER = {"new", "newer", "latest", "recent", "remake", "reboot"}
_OLDER = {"old", "older", "original", "classic", "first"}
_VERDICT_VERBS = {"was", "is", "has", "had", "looks", "seems", "sounds", "remains", "wasnt", "isnt", "will"}
_SUBJECT_PRONOUNS = {"i", "you", "we", "they", "he", "she", "it", "to", "will", "would", "dont", "do", "did", "didnt",
                     "really", "also"}
# Words around a title that is the whole message ("Amelie, please", "hmm, Godfather 2?").
_TITLE_ONLY_FILLERS = {"please", "pls", "maybe", "hmm", "hm", "um", "uh", "yes", "yeah", "oh", "ah", "well", "and",
                       "also", "too", "or", "perhaps", "again"}
_TITLE_TAIL = re.compile(r"(\s+(?:of|the|and|in|on|a|an|to|at|for|with|&))+$")


# "Can you suggest something like X?" is a request, whatever its question mark.
_REQUEST_IN_QUESTION = ["suggest", "recommend", "like", "similar", "lines of", "along the lines", "推荐", "类似", "像"]
# Asking the other side whether they have seen something is not a reaction.
_ASKED_IF_SEEN = re.compile(r"\b(have|did|do|had) you (ever |already )?(seen|see|watched|watch|heard)\b|\byou seen\b|你看过")


_OPENS_WITH_SEEN = re.compile(r"\s*(?:already )?(?:seen|watched|saw)\b(?! (?:any|anything|something|nothing)\b)")


# Words that describe what the person asks for, not how they felt about what they named: "any good sci-fi?",
# "is there a great crime film I haven't seen?", "有什么好看的科幻片".
_WISH_QUALIFIERS = re.compile(
    r"\b(?:any|some|anything|something|another|other|more)\s+(?:really\s+|very\s+|truly\s+)?"
    r"(?:good|great|nice|excellent|amazing|awesome|fantastic|interesting|best)\b"
    r"|\b(?:is there|are there|recommend|suggest|want|need|looking for|find me|give me|show me)\s+(?:a|an|some)\s+"
    r"(?:really\s+|very\s+)?(?:good|great|nice|excellent|amazing|awesome|fantastic|interesting)\b"
    r"|\b(?:films?|movies?|ones?|something|anything|shows?|series|books?|albums?|songs?|games?|titles?)\s+"
    r"(?:that\s+|which\s+)?i\s+(?:haven't|have not|havent|didn't|did not)\s+(?:seen|see|watched|watch|read|heard|"
    r"played)(?:\s+(?:yet|before))?\b"
    r"|(?:什么|啥|有没有|一些|一点|几部|一部|些|点)好看的"
)


def _seen_state(low: str) -> str | None:
    """Return "unseen" ("haven't seen it"), "seen" ("seen it", "看过了") or None (read on TurnText.felt, where "a
    film I haven't seen" is blanked: it says what is wished for, not what was seen)."""
    low = _ASKED_IF_SEEN.sub(" ", low)
    if _has_phrase(low, lx.UNSEEN_CUES):
        return "unseen"
    # "Seen Contact and Gattaca, anything similar?": a message that opens with the verb says the speaker saw them.
    return "seen" if _has_phrase(low, lx.SEEN_CUES) or _OPENS_WITH_SEEN.match(low) else None


@dataclass
class Leftovers:
    """Tokens no slot claimed: (token index, token, clause id), plus negation cue offsets."""

    text: str
    tokens: list
    negations: list[int]
    clauses: list[int]
    all_tokens: list
    starts: dict | None = None


@dataclass
class Match:
    start: int  # token indices [start, end)
    end: int
    kind: str  # "title", "attr", "domain"
    key: str
    entries: list = field(default_factory=list)
    via: str = "title"
    negated: bool = False
    dropped: bool = False

    @property
    def names_a_person(self) -> bool:
        """Whether the words name a person ("my dad", "我女朋友"), which the clothes vocabulary files as a gender."""
        return all(entry[0] == "gender" for entry in self.entries)


_SIMILAR_WORDS = ["similar", "类似", "像", "差不多", "一样"]


def _clause_polarity(span: str, similar_is_liking: bool = True) -> str | None:
    """Return "disliked", "liked" or None for what a clause says about liking ("something similar" counts as
    liking the item unless similar_is_liking is False)."""
    if _has_phrase(span, lx.DISLIKE_WORDS) or _NEGATED_LIKE.search(span) or _TOO_FOR_ME.search(span):
        return "disliked"
    if _has_phrase(span, lx.LIKE_WORDS) or (similar_is_liking and _has_phrase(span, _SIMILAR_WORDS)):
        return "liked"
    return None


def _sentence_start(text: str, pos: int) -> int:
    """Return where the sentence around a character offset starts (after . ! ? ; and their Chinese forms)."""
    return max(text.rfind(ch, 0, pos) for ch in ".!?;。！？；") + 1


def _sentence_at(text: str, pos: int) -> str:
    """Return the sentence around a character offset (split at . ! ? ; and their Chinese forms)."""
    start = _sentence_start(text, pos)
    ends = [i for i in (text.find(ch, pos) for ch in ".!?;。！？；") if i >= 0]
    return text[start : min(ends) if ends else len(text)]


# The next name of a list that began with a title: "Fargo and Inception", "Heat, Alien and Up".
_NEXT_IN_LIST = re.compile(r"(?:\s*,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)((?:(?:The|A|An)\s+)?[A-Z0-9][\w'’:.-]*"
                           r"(?:\s+(?:[A-Z0-9][\w'’:.-]*|of|the|in|on|a|an|to|at|for|with))*)")
_LIST_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*")


def _take_chars(tokens: list[Token], taken: list[bool], start: int, end: int) -> None:
    """Mark the tokens between two character offsets as claimed."""
    k = bisect.bisect_right([t.end for t in tokens], start)
    while k < len(tokens) and tokens[k].start < end:
        taken[k] = True
        k += 1


@dataclass
class _ClauseSpans:
    """The character span of each clause of a turn, to read what a clause says of liking."""

    text: str
    low: str
    spans: dict[int, tuple[int, int]]

    @classmethod
    def of(cls, text: str, low: str, tokens: list[Token], clauses: list[int]) -> "_ClauseSpans":
        spans: dict[int, tuple[int, int]] = {}
        for k, t in enumerate(tokens):
            s, e = spans.get(clauses[k], (t.start, t.end))
            spans[clauses[k]] = (min(s, t.start), max(e, t.end))
        return cls(text, low, spans)

    def polarity(self, c: int, own: bool = True) -> str | None:
        """Return "liked" / "disliked" as clause c says it, or None; own=False reads someone else's clause."""
        if c not in self.spans:
            return None
        start, end = self.spans[c]
        if not own and self.text[end : end + 1] in ("?", "？"):
            return None  # "he loves Heat, but what would I like?" asks; it says nothing of Heat
        return _clause_polarity(self.low[start:end], own)

    def says_liking(self, c: int) -> bool:
        """Return whether clause c says a like in words of liking, not only by asking for similar items."""
        return c in self.spans and _clause_polarity(_ALIKE.sub(" ", self.low[slice(*self.spans[c])]), False) == "liked"

    def beside(self, c: int, step: int) -> int:
        """Return the nearest clause with words before (-1) or after (+1) c: ", but" leaves one empty."""
        near = [k for k in self.spans if (k - c) * step > 0]
        return (min(near) if step > 0 else max(near)) if near else c + step


def _title_wins(tokens: list[Token], matches: list[Match], span) -> bool:
    """Return whether a title match overlapping a span (a range, a list position) is the longer of the two."""
    for m in matches:
        m_start, m_end = tokens[m.start].start, tokens[m.end - 1].end
        if m_start < span.end and span.start < m_end:
            return (m_end - m_start) > (span.end - span.start)
    return False


def _name_list(name: str) -> list[tuple[str, int]]:
    """Return the names of a written list with their offsets: "The Matrix and Inception", "A, B and C".

    A lone "X and Y" of two single words stays one name ("Pride and Prejudice"); a list with a comma, or with a
    name of several words on either side of the "and", splits."""
    parts, start = [], 0
    for sep in list(_LIST_SEPARATOR.finditer(name)) + [None]:
        end = sep.start() if sep else len(name)
        if name[start:end].strip():
            parts.append((name[start:end].strip(), start + len(name[start:end]) - len(name[start:end].lstrip())))
        start = sep.end() if sep else end
    for k in range(len(parts) - 1, 0, -1):
        if parts[k][0][:1].islower():  # "Beauty and the Beast": "the Beast" goes on the name before it
            parts[k - 1] = (name[parts[k - 1][1] : parts[k][1] + len(parts[k][0])], parts[k - 1][1])
            del parts[k]
    if len(parts) < 2:
        return [(name, 0)]
    if "," not in name and len(parts) == 2 and all(len(p.split()) == 1 for p, _ in parts):
        return [(name, 0)]
    return parts


@dataclass
class _Cues:
    """What the words of a turn signal, read once by the intent step and used again for the items."""

    ask_field: str | None = None
    has_question: bool = False
    request: bool = False
    seen_state: str | None = None
    more: bool = False
    accepted: bool = False
    pronoun: bool = False
    focus: str | None = None
    slots: bool = False
    reacted: bool = False


@dataclass
class TurnText:
    """One turn as the parse steps share it: the text and its folded form, tokens and clauses, the words claimed
    so far, the items named (by token index) and the character spans of names, whose words carry no sentiment."""

    text: str
    low: str  # lower case, diacritics and traditional characters folded, same offsets
    tokens: list[Token]
    clauses: list[int]
    state: ConversationState
    u: Understanding
    taken: list[bool]
    refs: list[tuple[int, ItemRef]] = field(default_factory=list)
    title_spans: list[tuple[int, int]] = field(default_factory=list)
    theirs: list[tuple[int, int]] = field(default_factory=list)  # someone else's taste: "my sister loves"
    said: str = ""  # low with names and other people's taste blanked out
    felt: str = ""  # said with what qualifies a wish blanked too ("any good sci-fi?"): what is said of items named
    bare_bounds: list = field(default_factory=list)  # "under 100": a price once the domain is known to have prices

    def take(self, start: int, end: int) -> None:
        """Claim the tokens overlapping the character span [start, end)."""
        _take_chars(self.tokens, self.taken, start, end)

    def name_at(self, start: int, end: int) -> None:
        """Claim a name's words and remember its span."""
        self.take(start, end)
        self.title_spans.append((start, end))


class Parser:
    """Parses turns against one catalog: `parse` runs one small method per step over a TurnText."""

    def __init__(self, catalog: CatalogIndex):
        self.catalog = catalog

    # -- matching ---------------------------------------------------------------------------------
    def _ngram_keys(self, tokens: list[Token], taken: list[bool], i: int) -> list[str]:
        """Return lookup keys of sizes 1..MAX_NGRAM starting at token i, stopping at a claimed token."""
        keys: list[str] = []
        for j in range(i, min(i + MAX_NGRAM, len(tokens))):
            if taken[j]:
                break
            tok = tokens[j]
            if not keys:
                keys.append(tok.text)
            else:
                sep = " " if not tok.cjk and not tokens[j - 1].cjk else ""
                keys.append(keys[-1] + sep + tok.text)
        return keys

    def _longest_first(self, tokens: list[Token], taken: list[bool],
                       match_at: Callable[[int, int, list[str]], Match | None]) -> list[Match]:
        """Return the matches `match_at(start, size, keys)` accepts among unclaimed words (keys[size - 1] is the
        phrase of `size` words), trying the longest phrase first at each position and going on after each match."""
        matches = []
        i, n = 0, len(tokens)
        while i < n:
            if taken[i]:
                i += 1
                continue
            keys = self._ngram_keys(tokens, taken, i)
            found = next((m for size in range(len(keys), 0, -1) if (m := match_at(i, size, keys))), None)
            if found:
                matches.append(found)
                i = found.end
            else:
                i += 1
        return matches

    def _scan_titles(self, text: str, tokens: list[Token], taken: list[bool]) -> list[Match]:
        """Return believable title matches, longest first at each position; they claim their words first."""
        return self._longest_first(tokens, taken, functools.partial(self._title_at, text, tokens, taken))

    def _title_at(self, text: str, tokens: list[Token], taken: list[bool], i: int, size: int,
                  keys: list[str]) -> Match | None:
        """Return the title match of the `size` words at token i, or None when they do not believably name one."""
        key = keys[size - 1]
        hits = self.catalog.resolve_title(key)
        if not hits:
            return None
        # A phrase that is a structured value or a domain word ("horror", "music") is read as that.
        if self.catalog.is_structured_surface(key) or self.catalog.domain_words.get(key):
            return None
        if not (self._title_ok(text, tokens, i, size, key) or self._year_follows(tokens, i + size, hits)):
            return None
        found = Match(i, i + size, "title", key, hits, via=hits[0][1])
        self._year_after(tokens, taken, found)
        self._prefer_by_age(tokens, found)
        return found

    def _year_follows(self, tokens: list[Token], end: int, hits) -> bool:
        """Return whether the words are followed by the year of one of the titles they match ("Arrival (2016)")."""
        if end >= len(tokens) or not is_year_word(tokens[end].text):
            return False
        return any(self.catalog.year_of(h[0]) == int(tokens[end].text) for h in hits)

    def _year_after(self, tokens: list[Token], taken: list[bool], m: Match) -> None:
        """Let a year written after a title ("Heat (1995)", "Heat 1972") pick the item and claim the year."""
        if m.end >= len(tokens) or taken[m.end] or not is_year_word(tokens[m.end].text):
            return
        year = int(tokens[m.end].text)
        same = [h for h in m.entries if self.catalog.year_of(h[0]) == year]
        if same:
            m.entries = same + [h for h in m.entries if h not in same]
            m.end += 1

    def _prefer_by_age(self, tokens: list[Token], m: Match) -> None:
        """Let "the new X" / "the original X" pick the latest / earliest of items sharing a name."""
        k = m.start - 1
        while k >= 0 and tokens[k].text in ("the", "a"):
            k -= 1
        word = tokens[k].text if k >= 0 else ""
        if word not in _NEWER and word not in _OLDER or len(m.entries) < 2:
            return
        best_rank = m.entries[0][2]
        same = [h for h in m.entries if h[2] == best_rank]
        same.sort(key=lambda h: self.catalog.year_of(h[0]), reverse=word in _NEWER)
        m.entries = same + [h for h in m.entries if h not in same]

    def _scan_vocabulary(self, tokens: list[Token], taken: list[bool]) -> list[Match]:
        """Return attribute-value and domain-word matches among unclaimed words, longest first at each position."""
        return self._longest_first(tokens, taken, functools.partial(self._value_at, tokens))

    def _value_at(self, tokens: list[Token], i: int, size: int, keys: list[str]) -> Match | None:
        """Return the attribute-value or domain-word match of the `size` words at token i, or None."""
        key = keys[size - 1]
        surface = self.catalog.surface(key)
        if surface and size > 1 and not self.catalog.is_structured_surface(key) and (
                any(self.catalog.is_structured_surface(tokens[k].text) for k in range(i, i + size))
                or any(self.catalog.is_structured_surface(keys[k]) for k in range(size - 1))):
            return None  # "romantic comedy" is Romance + Comedy, not the tag that spells it out
        if surface and i > 0 and tokens[i - 1].text in _SUBJECT_PRONOUNS and not any(
                (e[2], e[0]) not in self.catalog.free_form for e in surface):
            return None  # "I hope you ..." uses the word as a verb, not the tag "hope"
        if surface:
            return Match(i, i + size, "attr", key, surface)
        if self.catalog.domain_words.get(key):
            return Match(i, i + size, "domain", key, [self.catalog.domain_words[key]])
        return None

    def _title_ok(self, text, tokens, i, size, key, strict: bool = False) -> bool:
        """Return whether a title match is believable: distinctive, capitalised mid-sentence, or after a cue."""
        words = key.split(" ")
        first = tokens[i]
        original = text[first.start : tokens[i + size - 1].end]
        mid_sentence = not (first.start == 0 or text[: first.start].rstrip()[-1:] in ".!?。！？")
        # "Get Out", "Saw": ordinary words written as a name, capitalised word by word in mid-sentence.
        title_cased = mid_sentence and all(w[:1].isupper() or w.lower() in ("of", "the", "a", "an", "and", "in", "on")
                                           for w in original.split()) and original[:1].isupper()
        if not is_cjk(key[0]) and not title_cased and all(
                w in lx.EN_STOPWORDS or self.catalog.is_structured_surface(w) or self.catalog.domain_words.get(w)
                for w in words):
            return False  # "red summer dress" describes; it does not name one product
        if not strict and not title_key_is_weak(key) and (
                first.cjk or any(ch.isupper() for ch in original) or size >= 3 or any(ch.isdigit() for ch in key)):
            return True
        if first.cjk:
            before = text[max(0, first.start - 3) : first.start]
            return any(c in before for c in ZH_TITLE_CUES) and len(key) >= 2
        rest = [t.text for k, t in enumerate(tokens) if not i <= k < i + size]
        if all(w in _TITLE_ONLY_FILLERS or w in lx.GREETINGS for w in rest) and (
                len(key.replace(" ", "")) >= 4):
            return True  # the message is the title ("Amelie", "Godfather 2 please")
        if any(ch.isdigit() for ch in key) and original[:1].isupper():
            return True  # "Godfather 2", "Toy Story 3": a sequel number makes a capitalised name distinctive
        sentence_start = first.start == 0 or text[: first.start].rstrip()[-1:] in ".!?。！？"
        capitalised = original[:1].isupper() and not sentence_start
        if self._inside_longer_name(text, tokens, i, size):
            return False  # "Girls" in "Girls Trip (2017)": part of a longer name the catalog does not hold
        # An uncapitalised ordinary word names a title only right after a cue ("loved heat", "like the heat"),
        # not a few words later ("watch something with aliens").
        k = i - 1
        while k >= 0 and tokens[k].text in ("the", "a", "an", "really", "also", "too"):
            k -= 1
        cued = k >= 0 and tokens[k].text in STRONG_TITLE_CUES
        # A capitalised name as the subject of a verdict ("Casablanca was too slow", "Arrival is great").
        after = tokens[i + size].text if i + size < len(tokens) else ""
        cued = cued or (original[:1].isupper() and after in _VERDICT_VERBS)
        if not title_key_is_weak(key):  # "date night, need a comedy": two lower-case words need a cue nearby
            cued = cued or bool({t.text for t in tokens[max(0, i - 3) : i]} & TITLE_CUES)
        return capitalised or cued

    def _inside_longer_name(self, text: str, tokens: list[Token], i: int, size: int) -> bool:
        """Return whether capitalised words run on either side of a short name, or a different year follows it."""
        end = i + size
        if end < len(tokens):
            nxt = tokens[end]
            between = text[tokens[end - 1].end : nxt.start]
            if not between.strip() and text[nxt.start : nxt.start + 1].isupper():
                return True
            if not between.strip(" (") and is_year_word(nxt.text):
                return True  # a year follows that matched none of the items (_year_follows would have accepted)
        if i > 0:
            prev = tokens[i - 1]
            between = text[prev.end : tokens[i].start]
            word = text[prev.start : prev.end]
            sentence_start = prev.start == 0 or text[: prev.start].rstrip()[-1:] in ".!?。！？"
            if not between.strip() and word[:1].isupper() and word != "I" and not sentence_start:
                return True
        return False

    def _describes(self, key: str) -> bool:
        """Return whether every word of a phrase is an ordinary word or part of a structured value or domain word."""
        words = key.split(" ")
        covered = [w in lx.EN_STOPWORDS or w in _NOT_TITLES for w in words]
        for size in range(min(4, len(words)), 0, -1):
            for i in range(len(words) - size + 1):
                phrase = " ".join(words[i:i + size])
                if self.catalog.is_structured_surface(phrase) or self.catalog.domain_words.get(phrase):
                    covered[i:i + size] = [True] * size
        return all(covered)

    def _link_name(self, name: str) -> tuple[ItemRef | None, list[str]]:
        """Return (a reference for a written name, by exact key or within a typo; other close candidates)."""
        hits = self.catalog.resolve_title(key_of(name))
        if hits:
            item_id, via, _ = hits[0]
            others = [h[0] for h in hits[1:4] if h[2] == hits[0][2]]
            return ItemRef(item_id, self.catalog.title_of(item_id), via=via, match="exact" if not others else
                           "ambiguous", alternatives=others), others
        prefixed = self.catalog.titles_starting_with(name)
        if prefixed:
            # "like Shawshank": a distinctive name that begins exactly one title (or several: the most popular).
            item_id = prefixed[0]
            return ItemRef(item_id, self.catalog.title_of(item_id), via="partial",
                           match="partial" if len(prefixed) == 1 else "ambiguous",
                           alternatives=prefixed[1:4]), prefixed[1:4]
        close = self.catalog.fuzzy_titles(name)
        if not close:
            return None, []
        best = close[0][1]
        near = [item_id for item_id, score in close if score >= best - 2.0]
        # Equally close candidates: the most popular wins and the others are reported.
        near.sort(key=lambda i: -self.catalog.popularity.get(i, 0.0))
        item_id = near[0]
        return ItemRef(item_id, self.catalog.title_of(item_id), via="fuzzy",
                       match="fuzzy" if len(near) == 1 else "ambiguous", alternatives=near[1:4]), near[1:4]

    def _unlinked_titles(self, text: str, tokens, taken: list[bool]) -> list[tuple[str, list[int]]]:
        """Return (title-shaped name after a liking cue, its token indices) where no title claimed the words."""
        out = []
        for m in _TITLE_AFTER_CUE.finditer(text):
            name = _TITLE_TAIL.sub("", m.group(1)).strip(" .:-")
            start, end = m.start(1), m.start(1) + len(name)
            if not name or name.split()[0].lower() in _NOT_TITLES and len(name.split()) == 1:
                continue
            covered = [k for k, t in enumerate(tokens) if t.start < end and t.end > start]
            if covered and not any(taken[k] for k in covered):
                out.append((name, covered))
        return out

    def titles_in(self, raw: str) -> list[str]:
        """Return ids of the catalog items a message names, in order (quoted names, titles, cued names in a typo)."""
        text = clean(raw)
        tokens = tokenize(text)
        taken = [False] * len(tokens)
        found: list[tuple[int, str]] = []
        ends = [t.end for t in tokens]
        for m in re.finditer(r"《([^》]{1,80})》|\"([^\"]{1,80})\"|\*\*([^*]{1,80})\*\*", text):
            ref, _ = self._link_name(next(g for g in m.groups() if g))
            k = bisect.bisect_right(ends, m.start())
            if ref is not None:
                found.append((m.start(), ref.item_id))
            while k < len(tokens) and tokens[k].start < m.end():
                taken[k] = True
                k += 1
        for m in self._scan_titles(text, tokens, taken):
            self._year_after(tokens, taken, m)
            for k in range(m.start, m.end):
                taken[k] = True
            found.append((tokens[m.start].start, m.entries[0][0]))
        for name, covered in self._unlinked_titles(text, tokens, taken):
            ref, _ = self._link_name(name) if not self._describes(key_of(name)) else (None, [])
            if ref is not None:
                found.append((tokens[covered[0]].start, ref.item_id))
        out: list[str] = []
        for _, item_id in sorted(found):
            if item_id not in out:
                out.append(item_id)
        return out

    # -- main -------------------------------------------------------------------------------------
    def parse(self, raw: str, state: ConversationState | None = None) -> tuple[Understanding, "Leftovers"]:
        """Return the turn's Understanding (keywords not yet filled) and its unclaimed words."""
        t = self._turn_text(raw, state or ConversationState())
        if not t.tokens:
            t.u.intent = "chitchat"
            return t.u, Leftovers(t.text, [], [], [], [])
        # 1. Titles in 《》 or quotes are unambiguous mentions; their words are never read as anything else.
        self._quoted_titles(t)
        # 2. Titles first, then numeric ranges and list positions; 3. then names after a liking cue (linked within a
        # typo, else reported as unknown), and only then attribute values and domain words among unclaimed words.
        matches = self._titles_ranges_positions(t)
        self._cued_names(t)
        matches = sorted(matches + self._vocabulary(t), key=lambda m: m.start)
        self._polarity(t.text, t.low, t.tokens, t.clauses, matches)
        # 4. The domain the words ask for; 5. attribute values, resolved to one domain's vocabulary.
        attr_matches, structured, chosen = self._values(t, matches)
        # 6. Intent, then sentiment and pronouns, which depend on it; read with the names (and other people's
        # taste, "my sister loves") blanked out, so that "A Bad Moms Christmas" is not criticism and "Who Framed
        # Roger Rabbit" is not a question.
        self._blank_names(t)
        self._read_dropped(t)
        self._read_relative_age(t)
        self._read_cheaper(t)
        self._read_bare_price(t, chosen)
        cues = self._read_intent(t, attr_matches)
        self._read_items(t, cues)
        self._settle(t.u, structured, chosen, t.said, t.state)
        # Unclaimed words go on to keyword extraction, with the negations that may cover them.
        return t.u, self._leftovers(t)

    def _turn_text(self, raw: str, state: ConversationState) -> TurnText:
        """Return the turn cleaned, folded, tokenised and split into clauses, with nothing claimed yet."""
        text = numbers_to_digits(clean(raw))
        tokens = tokenize(text)
        u = Understanding(language=detect_language(text, default=state.language), text=text)
        return TurnText(text=text, low=fold(text), tokens=tokens, clauses=clause_ids(text, tokens) if tokens else [],
                        state=state, u=u, taken=[False] * len(tokens))

    def _vocabulary(self, t: TurnText) -> list[Match]:
        """Return attribute values and domain words among unclaimed words (structured ones claim their words);
        words that only say whose taste it is ("my wife and I loved Titanic") are dropped."""
        t.theirs = self._other_taste_spans(t.low)
        vocabulary = self._scan_vocabulary(t.tokens, t.taken)
        self._whose_words(vocabulary, t.tokens, t.refs, t.theirs)
        self._their_kinds(vocabulary, t)
        for m in vocabulary:
            if m.kind == "attr" and not any((e[2], e[0]) not in self.catalog.free_form for e in m.entries):
                continue  # a free-form value's words also serve content retrieval as keywords
            for k in range(m.start, m.end):
                t.taken[k] = True
        return vocabulary

    def _values(self, t: TurnText, matches: list[Match]) -> tuple[list[Match], list[Match], str | None]:
        """Set the domain and the attribute values the words ask for; return (attribute matches, the structured
        ones, the domain they are read in)."""
        context_domain = self._stated_domain(t.u, matches, t.tokens, t.refs, t.state)
        attr_matches = [m for m in matches if m.kind == "attr" and not m.dropped]
        structured = [m for m in attr_matches
                      if any((e[2], e[0]) not in self.catalog.free_form for e in m.entries)]
        chosen = self._choose_domain(structured or attr_matches, context_domain, stated=t.u.domain)
        self._attribute_values(t.u, attr_matches, structured, chosen, t.taken, t.low, t.tokens)
        self._avoid_intensity(t, chosen or context_domain)
        return attr_matches, structured, chosen

    def _blank_names(self, t: TurnText) -> None:
        """Claim other people's taste words ("my boyfriend is obsessed with": no words to look for) and set
        t.said: the folded text with names and other people's taste blanked out; t.felt: that text with the words
        that qualify a wish blanked too (same length: offsets hold)."""
        for span_start, span_end in t.theirs:
            t.take(span_start, span_end)
        said = t.low
        for span_start, span_end in t.title_spans + t.theirs:
            said = said[:span_start] + " " * (span_end - span_start) + said[span_end:]
        t.said = said
        t.felt = _WISH_QUALIFIERS.sub(lambda m: " " * len(m.group(0)), said)

    def _leftovers(self, t: TurnText) -> Leftovers:
        """Return the unclaimed words, with the negations that may cover them."""
        return Leftovers(t.text, [(k, tok, t.clauses[k]) for k, tok in enumerate(t.tokens) if not t.taken[k]],
                         self._negation_starts(t.low, t.tokens), t.clauses, t.tokens)

    # -- steps of parse -----------------------------------------------------------------------------
    def _quoted_titles(self, t: TurnText) -> None:
        """Link names in 《》 or quotes (unknown capitalised ones are reported); their words are claimed."""
        for m in re.finditer(r"《([^》]{1,80})》|\"([^\"]{1,80})\"|'([^']{2,80})'", t.text):
            inner = next(g for g in m.groups() if g)
            titled = bool(m.group(1)) or inner[:1].isupper()
            ref, _ = self._link_name(inner) if titled or self.catalog.resolve_title(key_of(inner)) else (None, [])
            if ref is None:
                if titled:
                    t.u.unknown_titles.append(inner.strip())
                    t.name_at(m.start(), m.end())
                continue
            t.refs.append((token_index(t.tokens, m.start()), ref))
            t.name_at(m.start(), m.end())

    def _titles_ranges_positions(self, t: TurnText) -> list[Match]:
        """Read catalog titles, numeric ranges and list positions; a longer span wins a clash ("Close Encounters of
        the Third Kind" is not "the third one"). Return the title matches kept."""
        text, low, tokens, taken, refs, u = t.text, t.low, t.tokens, t.taken, t.refs, t.u
        range_hits = find_ranges(low, price=self.catalog.has_attribute("price"), year=self.catalog.has_attribute("year"))
        position_hits = find_positions(low)
        matches = self._scan_titles(text, tokens, taken)
        kept = []
        for m in matches:
            m_start, m_end = tokens[m.start].start, tokens[m.end - 1].end
            clash = [h.span for h in list(range_hits) + list(position_hits)
                     if h.span.start < m_end and m_start < h.span.end]
            if all((m_end - m_start) > (c.end - c.start) for c in clash):
                kept.append(m)
        matches = kept
        for hit in range_hits:
            if _title_wins(tokens, matches, hit.span):
                continue
            low_b, high_b = hit.low, hit.high
            before = low[max(0, hit.span.start - 10) : hit.span.start]
            # "nothing before 1990" asks for the other side of the bound.
            if re.search(r"(nothing|no|not|不要|别)\s*$", before) and (low_b is None) != (high_b is None):
                low_b, high_b = (high_b + 1, None) if low_b is None else (None, low_b - 1)
            u.ranges[hit.attr] = [low_b, high_b]
            _take_chars(tokens, taken, hit.span.start, hit.span.end)
        if self.catalog.has_attribute("price"):
            t.bare_bounds = [h for h in find_bare_bounds(low) if not _title_wins(tokens, matches, h.span)
                             and not any(h.span.overlaps(r.span) for r in range_hits)]
        for pos in position_hits:
            if _title_wins(tokens, matches, pos.span):
                continue
            item_id = t.state.item_at(pos.index)
            _take_chars(tokens, taken, pos.span.start, pos.span.end)
            if item_id:
                refs.append((token_index(tokens, pos.span.start),
                             ItemRef(item_id, self.catalog.title_of(item_id), via="ordinal")))
        for m in matches:
            for k in range(m.start, m.end):
                taken[k] = True
            t.title_spans.append((tokens[m.start].start, tokens[m.end - 1].end))
            item_id, via, _ = m.entries[0]
            others = [h[0] for h in m.entries[1:4] if h[2] == m.entries[0][2]]
            refs.append((m.start, ItemRef(item_id, self.catalog.title_of(item_id), via=via,
                                          match="ambiguous" if others else "exact", alternatives=others)))
        return matches

    def _cued_names(self, t: TurnText) -> None:
        """Link names after a liking cue that no title claimed; a list of them ("The Matrix and Inception",
        "A, B and C") links name by name, and what the catalog does not hold is reported as unknown."""
        text, tokens, taken, refs, u, title_spans = t.text, t.tokens, t.taken, t.refs, t.u, t.title_spans
        for name, covered in self._unlinked_titles(text, tokens, taken):
            if self._describes(key_of(name)):
                continue  # "I like Horror movies": vocabulary, not a name
            for k in covered:
                taken[k] = True
            title_spans.append((tokens[covered[0]].start, tokens[covered[-1]].end))
            ref, _ = self._link_name(name)
            if ref is not None:
                refs.append((covered[0], ref))
                continue
            offset = text.index(name, tokens[covered[0]].start)
            for part, start in _name_list(name):
                part_ref, _ = self._link_name(part)
                if part_ref is not None:
                    refs.append((token_index(tokens, offset + start), part_ref))
                elif part not in u.unknown_titles:
                    u.unknown_titles.append(part)
        self._names_after_titles(t)

    def _names_after_titles(self, t: TurnText) -> None:
        """Link (or report) capitalised names that go on a list begun by a title: "I loved Fargo and Inception"."""
        text, tokens, taken, refs, u, title_spans = t.text, t.tokens, t.taken, t.refs, t.u, t.title_spans
        ends = sorted(end for _, end in title_spans)
        while ends:
            end = ends.pop(0)
            m = _NEXT_IN_LIST.match(text, end)
            if m is None:
                continue
            name = _TITLE_TAIL.sub("", m.group(1)).strip(" .:-")
            start = m.start(1)
            covered = [k for k, t in enumerate(tokens) if t.start < start + len(name) and t.end > start]
            if not name or not covered or any(taken[k] for k in covered) or self._describes(key_of(name)):
                continue
            for k in covered:
                taken[k] = True
            title_spans.append((start, start + len(name)))
            ends.append(start + len(name))
            ref, _ = self._link_name(name)
            if ref is not None:
                refs.append((covered[0], ref))
            elif name not in u.unknown_titles:
                u.unknown_titles.append(name)

    def _whose_words(self, vocabulary: list[Match], tokens, refs, theirs: list[tuple[int, int]]) -> None:
        """Drop person words that only say whose taste it is: "my sister loves Titanic" and "my wife and I loved
        Titanic" ask for no women's sizes (the named items' domain has no such value), while "my kids loved Aladdin"
        still asks for children's films; the same holds for a domain the words name ("我妈妈喜欢老电影")."""
        named = {self.catalog.domain_of(r.item_id) for _, r in refs}
        named |= {m.entries[0] for m in vocabulary if m.kind == "domain" and not m.negated}
        for m in vocabulary:
            inside = any(s <= tokens[m.start].start < e for s, e in theirs)
            people = m.names_a_person  # "my wife and I loved Titanic"
            if (inside or people) and named and not any(entry[2] in named for entry in m.entries):
                m.dropped = True

    def _their_kinds(self, vocabulary: list[Match], t: TurnText) -> None:
        """Drop the values of someone else's taste when the speaker sets their own against it ("my sister loves
        horror but I prefer comedies", "我老公喜欢动作片，但我更喜欢爱情片"); a request for both of them keeps all."""
        if not t.theirs or not _OWN_TASTE.search(t.low) or _FOR_BOTH.search(t.low):
            return
        theirs = {t.clauses[token_index(t.tokens, s)] for s, _ in t.theirs}
        for m in vocabulary:
            if m.kind == "attr" and t.clauses[m.start] in theirs:
                m.dropped = True

    def _other_taste_spans(self, low: str) -> list[tuple[int, int]]:
        """Return the character spans of someone else's taste ("my sister loves", "我女朋友喜欢")."""
        return [m.span() for m in _OTHER_TASTE.finditer(low)]

    def _stated_domain(self, u: Understanding, matches, tokens, refs, state: ConversationState) -> str | None:
        """Set the domain the words ask for (stated words, Chinese genre compounds in 片, else the items' domains);
        return the domain the attribute words are read in."""
        domains = []
        ends = {m.end for m in matches if m.kind == "attr" and not m.dropped}
        for m in matches:
            if m.kind == "domain" and m.negated and m.start in ends:
                domains.append(m.entries[0])  # "不要恐怖游戏", "no horror games": the refused kind's own domain
                continue
            if m.negated or m.dropped:
                continue
            if m.kind == "domain":
                domains.append(m.entries[0])
            elif m.kind == "attr" and (m.key.endswith("片") or (m.end < len(tokens) and tokens[m.end].text == "片")):
                domains.append("movie")
            elif m.kind == "attr":
                # "流行音乐", "sci-fi novel" style compounds carry their domain inside the matched words.
                entry_domains = {e[2] for e in m.entries}
                own = " ".join(join_tokens([t.text for t in tokenize(str(e[1]))]) for e in m.entries)
                for word, d in self.catalog.domain_words.items():
                    if word in own or d not in entry_domains:
                        continue  # "film noir" is a genre's own name, not a request for films
                    if word in m.key.split(" ") or (is_cjk(word[0]) and len(word) > 1 and word in m.key):
                        domains.append(d)
        domains = [d for d in domains if d in self.catalog.domains]
        ref_domains = {self.catalog.domain_of(r.item_id) for _, r in refs}
        target = next((d for d in domains if d not in ref_domains), None) or (domains[0] if domains else None)
        u.domain = target
        return target or state.domain

    def _attribute_values(self, u: Understanding, attr_matches, structured, chosen, taken, low: str, tokens) -> None:
        """Fill include/exclude (structured values) and prefer/avoid (free-form ones) in the chosen domain; values
        written as one compound ("romantic comedy", "爱情喜剧") must all hold (all_of)."""
        # A domain the words name ("适合全家一起看的电影") is the chosen one and reads every value in its own vocabulary.
        chosen_elsewhere = bool(u.domain) or any(e[2] == chosen for m in structured for e in m.entries)
        kept: list[tuple[Match, str, object]] = []
        for m in attr_matches:
            entries = [e for e in m.entries if e[2] == chosen]
            if not entries and chosen_elsewhere:
                # "a tent for camping with my family": a word only another domain files as a value stays a keyword;
                # a person it is for ("my dad" beside "who likes jazz") is not a word the items should contain.
                if not m.names_a_person:
                    for k in range(m.start, m.end):
                        taken[k] = False
                continue
            entries = entries or m.entries[:1]
            attr, value, domain = entries[0]
            if self.catalog.is_free_form(attr, domain):
                # Free-form values (user tags) are soft preferences: they re-rank and never filter.
                bucket = u.avoid if m.negated else u.prefer
                value = str(value).lower()
            else:
                bucket = u.exclude if m.negated else u.include
                if not m.negated:
                    kept.append((m, attr, value))
            if value not in bucket.setdefault(attr, []):
                bucket[attr].append(value)
        for attr in list(u.include):
            u.include[attr] = [v for v in u.include[attr] if v not in u.exclude.get(attr, [])]
            if not u.include[attr]:
                del u.include[attr]
        u.all_of = self._compounds(kept, low, tokens, u)

    def _compounds(self, kept, low: str, tokens, u: Understanding) -> list[str]:
        """Return the attributes whose wished values are written as one compound: side by side ("sci-fi horror",
        "爱情喜剧") or joined by "both ... and"; "comedy or romance" stays either."""
        out: list[str] = []
        for (a, attr, value), (b, attr_b, value_b) in zip(kept, kept[1:]):
            if attr != attr_b or value == value_b or attr in out or len(u.include.get(attr, [])) < 2:
                continue
            between = low[tokens[a.end - 1].end : tokens[b.start].start]
            before = low[max(0, tokens[a.start].start - 6) : tokens[a.start].start]
            if not between.strip(" -") or (between.strip() in ("and", "&", "和", "又") and "both" in before):
                out.append(attr)
        return out

    def _read_intent(self, t: TurnText, attr_matches: list[Match]) -> _Cues:
        """Set the turn's intent (and more / reject_all / loosen); return the cues the item reading needs."""
        u, said, text, tokens, taken, refs, state = t.u, t.said, t.text, t.tokens, t.taken, t.refs, t.state
        cues = _Cues(ask_field=_earliest(said, lx.ASK_FIELDS), has_question=bool(_has_phrase(said, lx.QUESTION_MARKERS)),
                     request=bool(_has_phrase(said, lx.REQUEST_CUES)), seen_state=_seen_state(t.felt),
                     more=bool(_has_phrase(said, lx.MORE_CUES)), accepted=bool(_has_phrase(said, lx.ACCEPT_CUES)),
                     pronoun=bool(_EN_PRONOUN.search(said) or _ZH_PRONOUN.search(text)), focus=state.focus_item)
        rejection = _has_phrase(said, lx.LIST_REJECTION)
        slots = bool(u.include or u.exclude or u.ranges or u.domain)
        cues.slots = slots
        cues.reacted = bool(cues.seen_state or cues.accepted or _has_phrase(said, lx.LIKE_WORDS)
                            or _has_phrase(said, lx.DISLIKE_WORDS) or _NEGATED_LIKE.search(said))
        ab_question = cues.has_question and attr_matches and refs and _ASK_AB.search(said)
        # "Yes please" / "sure" answering the assistant's offer or suggestion in a recommendation conversation.
        answers_offer = bool(state.recommending and (state.assistant_asked or state.awaiting_reaction)
                             and _has_phrase(said, lx.AFFIRMATIVES) and not cues.has_question)
        u.loosen = self._loosens(said, state)
        if _has_phrase(said, lx.OFF_TOPIC) and not (slots or refs):
            intent = "chitchat"
        elif u.loosen or u.drop:
            intent = "recommend"  # "yes, drop it" after "shall I drop it?": the filter goes and the list comes
        elif _has_phrase(said, _ABOUT_ME) and cues.has_question and not (
                refs or cues.request or (slots and state.recommending)):
            # Asking the assistant's own taste is small talk, except inside a recommendation conversation, where
            # "do you like horror?" / "what's your favourite comedy?" asks what to watch.
            intent = "chitchat"
        elif ab_question:
            intent = "ask_info"
            cues.ask_field = attr_matches[0].entries[0][0]
        elif cues.ask_field and (refs or (cues.pronoun and cues.focus)) and (
                cues.has_question or cues.ask_field == "description"):
            intent = "ask_info"
        elif rejection and not (cues.more and rejection in lx.WEAK_REJECTION) and (
                state.last_items or state.suggestions or not slots):
            # Turning the shown list down asks for a fresh one.
            intent = "recommend"
            u.reject_all = True
        elif slots or cues.request or refs or cues.more or u.unknown_titles:
            # Stating taste, naming liked items and asking for more all want a (refreshed) list.
            intent = "recommend"
        elif _has_phrase(said, lx.CLOSINGS):
            intent = "chitchat"
        elif (cues.focus and cues.reacted) or answers_offer:
            # Reacting to a suggestion ("haven't seen it", "ok, seen that one") asks for the next ones.
            intent = "recommend"
        elif self._is_chat(said, tokens, taken):
            intent = "chitchat"
        elif u.prefer or u.avoid:
            intent = "recommend"
        else:
            # Inside a recommendation conversation, what is neither small talk nor a question about an item
            # answers the assistant ("other?", "not so old", "any kind really") and gets a refreshed list.
            intent = "recommend" if (state.recommending or state.assistant_asked
                                     or self._content_left(tokens, taken)) else "chitchat"
        u.intent = intent
        u.more = cues.more and intent == "recommend"
        if intent == "ask_info":
            u.ask_field = cues.ask_field
        return cues

    def _read_dropped(self, t: TurnText) -> None:
        """Note the filters the turn says do not matter ("any year is fine"); their words say nothing else."""
        for m in _ANY_VALUE.finditer(t.said):
            word = next(g for g in m.groups() if g)
            t.u.drop += [attr for attr in lx.ANY_VALUE_WORDS[word] if attr not in t.u.drop]
            t.take(m.start(), m.end())

    def _read_relative_age(self, t: TurnText) -> None:
        """Read "anything newer?" / "older ones" as a year range beyond the middle year of what the conversation is
        about: the items the person liked ("like Alien, but newer"), else the last list, else the items named;
        without any, the words stay keywords."""
        m = _RELATIVE_AGE.search(t.said)
        if m is None or t.refs or "year" in t.u.ranges:
            return
        state = t.state
        years = sorted(y for y in (self.catalog.year_of(i) for i in (state.liked or state.last_items
                                                                      or list(state.mentions))) if y)
        if not years:
            return
        middle = years[len(years) // 2]
        newer = bool(m.group("new") or m.group("znew"))
        t.u.ranges["year"] = (middle + 1, None) if newer else (None, middle - 1)
        t.take(m.start(), m.end())

    def _read_cheaper(self, t: TurnText) -> None:
        """Read "something cheaper" as a price ceiling below what the person is looking at: the item they last spoke
        of ("cheaper than that one"), else the middle price of the last list, else of the liked items, else of the
        kind asked for; "cheap headphones" as a ceiling below the middle price of the kind asked for."""
        m = _CHEAPER.search(t.said) or _CHEAP.search(t.said)
        if m is None or "price" in t.u.ranges:
            return
        state = t.state
        # "cheaper than that": the item the person last spoke of, else the one in focus.
        reacted = [s["item_id"] for s in state.suggestions if s.get("reaction")]
        spoken_of = (reacted or list(state.mentions) or [state.focus_item])[-1]
        pointed = spoken_of if _EN_PRONOUN.search(t.low) or _ZH_PRONOUN.search(t.low) else None
        looked_at = [r.item_id for _, r in t.refs] or ([pointed] if pointed else []) or state.last_items or state.liked
        prices = sorted(p for p in (self.catalog.price_of(i) for i in looked_at) if p is not None)
        t.take(m.start(), m.end())  # a word about price, never a keyword to look for
        if looked_at and not prices and m.re is not _CHEAP:
            t.u.unpriced = True  # what the person looks at has no prices (albums): nothing to be cheaper than
            return
        if not prices or m.re is _CHEAP:
            # "cheap headphones": the lower half of the headphones' prices
            prices = self._kind_prices(t.u, t.u.domain or state.topic_domain or state.domain)
            if len(prices) < 2:
                t.u.unpriced = not prices
                return
        t.u.ranges["price"] = (None, round(prices[len(prices) // 2] * 0.99, 2))

    def _read_bare_price(self, t: TurnText, chosen: str | None) -> None:
        """Read "a warm jacket under 100" as a price ceiling where the kind of item asked for has prices; "films
        under 100" on a catalog whose films have none is left to the words."""
        if not t.bare_bounds or "price" in t.u.ranges:
            return
        named = {self.catalog.domain_of(r.item_id) for _, r in t.refs} - {None}
        domain = (t.u.domain or chosen or (named.pop() if len(named) == 1 else None) or t.state.topic_domain
                  or t.state.domain)
        if domain is None or not self.catalog.has_attribute("price", domain):
            return
        hit = t.bare_bounds[0]
        t.u.ranges["price"] = [hit.low, hit.high]
        t.take(hit.span.start, hit.span.end)

    def _kind_prices(self, u: Understanding, domain: str | None) -> list[float]:
        """Return the sorted prices of the catalog's items in the domain that hold the request's wished values."""
        def holds(item) -> bool:  # the filters' own matching (rules.attribute_values), any wished value per attribute
            return (not domain or item.domain == domain) and all(
                set(attribute_values(item.attributes.get(attr))) & set(attribute_values(wanted))
                for attr, wanted in u.include.items())
        return sorted(p for p in (self.catalog.price_of(i) for i, item in self.catalog.items.items() if holds(item))
                      if p is not None)

    def _loosens(self, said: str, state: ConversationState) -> bool:
        """Return whether the turn accepts the assistant's offer to drop a filter ("yes", "drop it", "好的", "行")."""
        if not state.offered_relax:
            return False
        if re.match(r"\s*(no|nope|nah)\b(?! problem| worries)", said) or _has_phrase(said, lx.KEEP_CUES):
            return False  # "no, keep it"; a "no" later on ("yes, and no gore") refuses something else
        return bool(_has_phrase(said, lx.LOOSEN_CUES) or _LOOSEN_ANSWER.match(said))

    def _read_items(self, t: TurnText, cues: _Cues) -> None:
        """Attach the items the turn is about, with the speaker's sentiment and reactions (seen, accepted)."""
        u, said, text, tokens, clauses, refs, theirs = t.u, t.said, t.text, t.tokens, t.clauses, t.refs, t.theirs
        state = t.state
        intent, focus = u.intent, cues.focus
        # A reaction with no item named is about the suggestion in focus ("loved it", "看过了，不喜欢").
        if not refs and focus and intent != "chitchat" and not u.unknown_titles and (
                (cues.pronoun and (intent == "ask_info" or cues.reacted or _SIMILAR_TO_PRONOUN.search(said)))
                or (cues.reacted and not cues.slots and not cues.more and not cues.request and not u.drop
                    and state.awaiting_reaction)):
            refs.append((0, ItemRef(focus, self.catalog.title_of(focus), via="context")))
        others = {idx for idx, ref in refs if ref.via != "context" and idx < len(tokens) and any(
            s <= tokens[idx].start and clauses[idx] == clauses[token_index(tokens, s)] for s, _ in theirs)}
        # "any good sci-fi?" asks; it says nothing of the films named (t.felt)
        worded = self._sentiments(text, t.felt, tokens, clauses, refs, intent, others)
        if cues.seen_state or cues.accepted:
            self._reactions(refs, cues.seen_state, cues.accepted, worded, t.felt, tokens)
        seen = set()
        for _, ref in refs:
            if ref.item_id not in seen:
                seen.add(ref.item_id)
                u.referenced_items.append(ref)

    def _settle(self, u: Understanding, structured, chosen, said: str, state: ConversationState) -> None:
        """Keep what the intent allows, and set the topic, a cross-domain target and whether wishes are replaced."""
        intent = u.intent
        if intent == "ask_info":
            u.include, u.exclude, u.ranges, u.domain, u.all_of = {}, {}, {}, None, []
        elif intent == "chitchat":
            u.include, u.exclude, u.ranges, u.domain, u.all_of = {}, {}, {}, None, []
            u.prefer, u.avoid = {}, {}
            u.referenced_items = []
        elif intent == "feedback":
            u.domain = None
        if intent == "recommend":
            u.topic_domain = u.domain or self._topic(u, structured, chosen)
            u.alike = bool(_ALIKE.search(said))
            if u.alike:
                self._works_for_makers(u)
        if u.domain:
            sources = [r.item_id for r in u.referenced_items if self.catalog.domain_of(r.item_id) not in (None, u.domain)]
            if sources:
                u.target_domain, u.source_items = u.domain, sources
        if intent == "recommend" and u.include and state.include and _has_phrase(said, lx.REPLACE_CUES):
            u.replace = True

    def _works_for_makers(self, u: Understanding) -> None:
        """"Something like Radiohead": a maker named as the example stands for their works, so the list holds items
        like those works (by anyone) rather than the works themselves; a filter on the maker would list only them."""
        if u.topic_domain is None or any(r.via != "context" for r in u.referenced_items):
            return
        for attr in [a for a in u.include if a in CREATOR_ATTRIBUTES]:
            for maker in u.include.pop(attr):
                for item_id in self.catalog.works_of(attr, maker, u.topic_domain, limit=MAKER_WORKS):
                    u.referenced_items.append(ItemRef(item_id, self.catalog.title_of(item_id), sentiment="liked",
                                                      via="maker", maker=str(maker)))
        u.all_of = [a for a in u.all_of if a in u.include]

    def _topic(self, u: Understanding, structured, chosen) -> str | None:
        """Return the domain a request is about when no domain word says it: the items it names, else its attribute
        words. What is refused still says what is being talked about ("I found Star Wars boring, what else?",
        "别推荐战争片"), so refused items and values count when nothing else does."""
        refs = [r for r in u.referenced_items if r.via not in ("context", "ordinal")]
        live = [m for m in structured if not m.dropped]
        wished = {e[2] for m in live if not m.negated for e in m.entries}
        for named, vocab in (({self.catalog.domain_of(r.item_id) for r in refs if r.sentiment != "disliked"}, wished),
                             ({self.catalog.domain_of(r.item_id) for r in refs}, {e[2] for m in live for e in m.entries})):
            named -= {None}
            if len(named) == 1:
                return next(iter(named))
            if vocab and (len(vocab) == 1 or chosen in vocab):
                return chosen
            if named or vocab:
                return None
        return None

    # -- helpers ----------------------------------------------------------------------------------
    def _reactions(self, refs, seen_state: str | None, accepted: bool, worded: set[int], said: str, tokens) -> None:
        """Mark reactions: seen (sentiment only from the words), or not seen yet and willing (accepted). With several
        items named, "seen" marks those in the sentence that says it ("I've seen Contact and Gattaca already")."""
        # "something similar" asks for more like them; only words of liking say the person liked them.
        explicit = bool(_has_phrase(said, lx.LIKE_WORDS) or _has_phrase(said, lx.DISLIKE_WORDS)
                        or _NEGATED_LIKE.search(said))
        if len({r.item_id for _, r in refs}) != 1:
            if seen_state == "seen":
                named = [(idx, ref) for idx, ref in refs if ref.via != "context" and idx < len(tokens)]
                marked = [(idx, ref) for idx, ref in named if _seen_state(_sentence_at(said, tokens[idx].start))]
                # "Pulp Fiction and Reservoir Dogs? I've seen both": a sentence of its own says it of them all.
                for _, ref in marked or named:
                    ref.reaction = "seen"
                    if id(ref) not in worded or not explicit:
                        ref.sentiment = "neutral"  # seen, and nothing said about liking it
            elif seen_state == "unseen":
                # "I liked Se7en, hated Pulp Fiction and haven't seen Fargo": only the item the words lead to.
                named = sorted((idx, ref) for idx, ref in refs if ref.via != "context" and idx < len(tokens))
                previous = 0
                for idx, ref in named:
                    start = tokens[idx].start
                    lead = said[max(previous, _sentence_start(said, start)):start]
                    if _seen_state(lead) == "unseen" and ref.sentiment != "disliked":
                        ref.reaction, ref.sentiment = "unseen", "neutral"
                    previous = tokens[idx].end
            return  # one other reaction, several items: which is which is not clear
        for _, ref in refs:
            if seen_state == "unseen":
                if ref.sentiment == "disliked":
                    ref.reaction = "rejected"  # "haven't seen it, but I'll pass"
                else:
                    ref.reaction = "accepted" if (accepted or (explicit and ref.sentiment == "liked")) else "unseen"
                ref.sentiment = "neutral"  # not seen yet: nothing to like or dislike
            elif seen_state == "seen":
                ref.reaction = "seen"
                if not explicit:
                    ref.sentiment = "neutral"  # "I have seen X": seen, and nothing said about liking it
            elif accepted:
                ref.reaction = "accepted"

    def _avoid_intensity(self, t: TurnText, domain: str | None) -> None:
        """Exclude the genres behind "less violent" / "不要太吓人" where the catalog (domain) has them, and lean away
        from those that often carry it."""
        u = t.u
        for phrases, excluded, leaned in lx.AVOID_INTENSITY:
            found = _has_phrase(t.low, phrases)
            if not found or (not _NEGATION.search(found) and self._negated_at(t, t.low.find(found))):
                continue  # "nothing light-hearted" wishes for no lightness
            for bucket, refused in ((u.exclude, excluded), (u.avoid, leaned)):
                for attr, values in refused.items():
                    known = set().union(*(by_attr.get(attr, set()) for d, by_attr in self.catalog.values.items()
                                          if domain is None or d == domain))
                    for value in values:
                        asked_for = value in u.include.get(attr, [])  # "scary but not too gory" keeps Horror
                        if value in known and not asked_for and value not in bucket.get(attr, []):
                            bucket.setdefault(attr, []).append(value)

    def _negated_at(self, t: TurnText, char_pos: int) -> bool:
        """Return whether a negation cue comes before a character offset in its clause (as `_polarity` reads
        attribute words): "I don't want anything light-hearted"."""
        if not t.tokens:
            return False
        clause_start = clause_starts(t.tokens, t.clauses)[t.clauses[token_index(t.tokens, char_pos)]]
        return any(clause_start <= p < char_pos for p in self._negation_starts(t.low, t.tokens))

    def _negation_starts(self, low, tokens) -> list[int]:
        """Return character offsets where a negation cue starts, sorted."""
        cleaned = _ZH_NEG_NOISE.sub(lambda m: "\x01" * len(m.group()), low)
        return [m.start() for m in _NEGATION.finditer(cleaned)]

    def _polarity(self, text, low, tokens, clauses, matches) -> None:
        """Mark attribute/domain matches preceded in their clause by a negation ("no", "不要") or a drop cue ("forget")."""
        neg = self._negation_starts(low, tokens)
        drops = [m.start() for m in re.finditer(r"\b(forget|never ?mind|scratch)\b|不看了|不要了", low)]
        starts = clause_starts(tokens, clauses)
        for m in matches:
            if m.kind == "title":
                continue
            start_char = tokens[m.start].start
            clause_start = starts[clauses[m.start]]
            if any(clause_start <= p < start_char for p in drops):
                m.dropped = True
            else:
                k = bisect.bisect_left(neg, clause_start)
                m.negated = k < len(neg) and neg[k] < start_char
                previous = starts.get(clauses[m.start] - 1)
                if not m.negated and previous is not None and _GOES_ON.match(text, clause_start):
                    # "I don't like Star Wars, Star Trek or any space stuff": the list goes on under its negation.
                    k = bisect.bisect_left(neg, previous)
                    m.negated = k < len(neg) and neg[k] < clause_start
                # "不要太暴力的电影": what follows 的 is the head noun the refusal describes, not what is refused.
                if m.negated and "的" in low[max(p for p in neg[k:] if p < start_char):start_char]:
                    m.negated = False

    def _choose_domain(self, attr_matches, context_domain, stated: str | None = None) -> str | None:
        """Return the domain whose vocabulary the attribute words are read in: the one the words name, else the one
        most of the attribute words belong to (the conversation's when it is among them)."""
        if not attr_matches or stated:
            return stated or context_domain
        counts: dict[str, float] = {}
        for m in attr_matches:
            # A person ("my dad", "我女朋友") says whom it is for, a kind ("who likes jazz") what it is: a gift
            # for a jazz lover is an album, whatever the clothes vocabulary makes of "dad".
            weight = 0.5 if m.names_a_person else 1.0
            for d in {e[2] for e in m.entries}:
                counts[d] = counts.get(d, 0) + weight
        if context_domain in counts:
            return context_domain
        order = {d: i for i, d in enumerate(DOMAIN_ORDER)}
        return max(counts, key=lambda d: (counts[d], -order.get(d, 99)))

    def _sentiments(self, text, low, tokens, clauses, refs, intent, others: set[int] = frozenset()) -> set[int]:
        """Set each reference's sentiment from its clause (or the next clause), else from the intent; return the
        ids (id()) of the references whose sentiment the words gave. Items of someone else's taste (`others`, by
        token index: "my sister loves X") take only what the speaker says of them, and are neutral otherwise."""
        if not refs:
            return set()
        clause_spans = _ClauseSpans.of(text, low, tokens, clauses)
        spans, polarity, beside = clause_spans.spans, clause_spans.polarity, clause_spans.beside
        ref_clauses = {clauses[min(idx, len(tokens) - 1)] for idx, _ in refs}
        worded: set[int] = set()
        listed: dict[int, str] = {}  # clause -> the verdict the words gave a named item in it
        for idx, ref in refs:
            if intent == "ask_info":
                ref.sentiment = "neutral"
                continue
            c = clauses[min(idx, len(tokens) - 1)]
            if ref.via != "context" and idx < len(tokens):
                clause_start = spans[c][0] if c in spans else 0
                if _NEGATED_BEFORE.search(low[clause_start:tokens[idx].start]):
                    ref.sentiment = "disliked"
                    worded.add(id(ref))
                    continue
            if ref.via == "context" and len(ref_clauses) == 1:
                # "it": the whole turn is about it, and after a contrast the last word counts
                # ("that one he is good in, but I do not like it much").
                said = [p for p in (polarity(k) for k in sorted(spans)) if p]
                if said:
                    ref.sentiment = said[-1]
                    worded.add(id(ref))
                    continue
            sentiment, said_in = polarity(c), c
            if sentiment is None and c - 1 in listed and self._opens_clause(low, spans, c, tokens, idx):
                # "I don't like Star Wars, Alien or anything with horror": the list goes on with the same verdict.
                sentiment, said_in = listed[c - 1], c - 1
            if sentiment is None and beside(c, 1) not in ref_clauses:
                # "my kids loved Aladdin, anything similar?" asks for more like it; it is not the speaker's like.
                sentiment, said_in = polarity(beside(c, 1), own=idx not in others), beside(c, 1)
            if sentiment is None and beside(c, -1) not in ref_clauses and ref.via != "context" and idx not in others:
                sentiment, said_in = polarity(beside(c, -1)), beside(c, -1)
            if sentiment is not None:
                worded.add(id(ref))
                listed[c] = sentiment
                # "Something like The Matrix" asks for similar items; only words of liking state a taste.
                ref.implied = sentiment == "liked" and not clause_spans.says_liking(said_in)
            elif idx in others:
                sentiment = "neutral"
            else:
                named = ref.via not in ("context", "ordinal")
                # A name in a question ("what is the rating for X?") says nothing about liking it.
                start = tokens[min(idx, len(tokens) - 1)].start
                end = next((k for k in range(start, len(text)) if text[k] in ".!?。！？"), len(text))
                asked = end < len(text) and text[end] in "?？" and not _has_phrase(low, _REQUEST_IN_QUESTION)
                sentiment = "liked" if intent == "recommend" and named and not asked else "neutral"
                ref.implied = sentiment == "liked"
            ref.sentiment = sentiment
        return worded

    @staticmethod
    def _opens_clause(low: str, spans, c: int, tokens, idx: int) -> bool:
        """Return whether the item at token idx is the first thing its clause says (after "and" / "or")."""
        if c not in spans or idx >= len(tokens):
            return False
        return low[spans[c][0]:tokens[idx].start].strip(" ,、，") in ("", "and", "or", "nor", "和", "或", "或者", "还有")

    def _is_chat(self, low, tokens, taken) -> bool:
        """Return whether the turn is only greetings, thanks and filler."""
        rest = low
        for g in sorted(lx.GREETINGS, key=len, reverse=True):
            if is_cjk(g[0]):
                rest = rest.replace(g, " ")
            else:
                rest = re.sub(r"(?<![a-z])" + re.escape(g) + r"(?![a-z])", " ", rest)
        if rest == low:
            return False
        words = [t.text for t in tokenize(rest)]
        return all(w in lx.EN_STOPWORDS or (is_cjk(w) and w in "了的啊呀吧呢吗嗯哦噢你我是今天") for w in words)

    def _content_left(self, tokens, taken) -> bool:
        return any(not taken[k] and (t.cjk or t.text not in lx.EN_STOPWORDS) and not t.text.isdigit()
                   for k, t in enumerate(tokens))
