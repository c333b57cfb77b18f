"""Free keywords for content retrieval: unclaimed English words, a zh→en glossary, and (optionally) the LLM."""
from __future__ import annotations

import bisect
import re
import threading
import time
from collections import OrderedDict

from ..llm import LLMBackend, LLMError
from . import lexicon as lx
from .text import clause_starts, is_cjk, token_index

MAX_KEYWORDS = 8
MAX_PHRASE_WORDS = 3
_SENTIMENT_WORDS = {w for w in lx.LIKE_WORDS + lx.DISLIKE_WORDS if " " not in w and not is_cjk(w[0])}
_REQUEST_WORDS = {w.strip() for w in lx.REQUEST_CUES if " " not in w.strip() and not is_cjk(w[0])}
_GREETING_WORDS = {w for w in lx.GREETINGS if " " not in w and not is_cjk(w[0])}
_ZH_FILLERS = sorted(set(lx.ZH_FILLERS) | {c for c in lx.REQUEST_CUES if is_cjk(c[0])}
                     | {w for w in lx.LIKE_WORDS + lx.DISLIKE_WORDS + lx.GREETINGS if is_cjk(w[0])}, key=len, reverse=True)
# Chinese attribute words the catalog holds no value for (e.g. 卫衣 where nothing is a hoodie) become keywords.
_ZH_TERMS = dict(lx.ZH_KEYWORDS)
for _attr, _table in lx.ATTRIBUTE_SYNONYMS.items():
    for _concept, _words in _table.items():
        for _w in _words:
            if is_cjk(_w[0]) and len(_w) > 1 and _w not in _ZH_TERMS:
                _ZH_TERMS[_w] = _concept.lower()
_GLOSSARY = sorted(_ZH_TERMS, key=len, reverse=True)
_KEYWORD_NEGATIONS = re.compile(r"\b(less|not too|too much|fewer)\b|不要太|别太|不太")
# Words of reactions to a suggestion ("seen it already", "nah", "I'll take it") say nothing about content.
_REACTION_WORDS = {"already", "nah", "nope", "yep", "exactly", "none", "take", "look", "looks", "own", "seen", "sounds",
                   "try", "check", "heard", "watched", "read", "tried", "wanted", "yet", "stand", "bear", "rating", "ratings", "rated", "score",
                   "dollars", "dollar", "bucks", "usd", "euros", "yuan", "rmb", "price", "budget", "fell", "asleep",
                   "during", "finish", "finished", "walked", "times", "many"}
# Negation words ("without", "isn't") refuse what follows them; they are never something to look for.
_NEGATION_WORDS = {w.replace("'", "") for w in lx.NEGATION_CUES if " " not in w and not is_cjk(w[0])} | {"less"}
# Words of the conversation itself ("any good ones lately?", "I'm a huge fan", "regardless of genre"): they
# describe no item, and as keywords they would pick items by their titles' wording.
_TALK_WORDS = {"lately", "recently", "currently", "anymore", "howdy", "huge", "fan", "fans", "seeking", "hoping",
               "point", "towards", "alright", "learn", "regardless", "matter", "honestly", "definitely", "probably",
               "usually", "genre", "genres"}
_DROP = _SENTIMENT_WORDS | _REQUEST_WORDS | _GREETING_WORDS | _REACTION_WORDS | _NEGATION_WORDS | _TALK_WORDS | {
    "watch", "read", "listen", "play", "wear"}


def _negated(left, index: int, char_pos: int) -> bool:
    """Return whether a negation cue ("no", "not too", "less", "不要") precedes the token in its clause."""
    if left.starts is None:
        left.starts = clause_starts(left.all_tokens, left.clauses)
    clause_start = left.starts[left.clauses[index]]
    k = bisect.bisect_left(left.negations, clause_start)
    if k < len(left.negations) and left.negations[k] < char_pos:
        return True
    return bool(_KEYWORD_NEGATIONS.search(left.text[clause_start:char_pos].lower()))


# Moods written with a word of praise inside ("feel-good"): the praise word alone says nothing of content, the
# compound does.
_MOOD_COMPOUNDS = re.compile(r"(?<![a-z])(feel[- ]good|heart[- ]?warming|light[- ]hearted|mind[- ]bending|"
                             r"tear[- ]?jerker|laugh[- ]out[- ]loud|coming[- ]of[- ]age|good[- ]natured)(?![a-z])")

# Chinese kinds of music written around the domain word ("轻音乐"): the domain match claims 音乐, so the
# compound is read from the whole text.
_ZH_MUSIC_COMPOUNDS = {"轻音乐": "relaxing instrumental", "纯音乐": "instrumental"}


def _wished_at(left, char_pos: int) -> bool:
    """Return whether the words at a character offset are no refusal ("nothing feel-good" is one)."""
    return not left.all_tokens or not _negated(left, token_index(left.all_tokens, char_pos), char_pos)


def extract(left) -> tuple[list[str], list[str]]:
    """Return (English keywords, Chinese phrases the glossary could not translate)."""
    keywords: list[str] = [m.group(1).replace(" ", "-") for m in _MOOD_COMPOUNDS.finditer(left.text.lower())
                           if _wished_at(left, m.start())]
    keywords += [english for term, english in _ZH_MUSIC_COMPOUNDS.items()
                 if (at := left.text.find(term)) >= 0 and _wished_at(left, at)]
    unknown: list[str] = []
    phrase: list[str] = []
    last_index = -2
    cjk_run = ""
    last_cjk_index = -2

    def flush_phrase():
        nonlocal phrase
        if phrase and len(phrase[0]) <= 30:
            keywords.append(" ".join(phrase[:MAX_PHRASE_WORDS]))
        phrase = []

    def flush_cjk():
        nonlocal cjk_run
        if cjk_run:
            known, rest = translate_with_glossary(cjk_run)
            keywords.extend(known)
            unknown.extend(rest)
        cjk_run = ""

    for index, token, _clause in left.tokens:
        if token.cjk:
            flush_phrase()
            if index != last_cjk_index + 1:
                flush_cjk()
            if not _negated(left, index, token.start):
                cjk_run += token.text
            else:
                flush_cjk()
            last_cjk_index = index
            continue
        flush_cjk()
        word = token.text
        usable = (len(word) > 1 and not word.isdigit() and word not in lx.EN_STOPWORDS and word not in _DROP
                  and not _negated(left, index, token.start))
        if usable and index == last_index + 1:
            phrase.append(word)
        elif usable:
            flush_phrase()
            phrase = [word]
        else:
            flush_phrase()
        last_index = index if usable else -2
    flush_phrase()
    flush_cjk()
    out: list[str] = []
    for k in keywords:
        if k and k not in out:
            out.append(k)
    return out[:MAX_KEYWORDS], unknown


def translate_with_glossary(run: str) -> tuple[list[str], list[str]]:
    """Return (English words from the glossary, leftover Chinese fragments of two or more characters)."""
    found = []
    for term in _GLOSSARY:
        if term in run:
            found.append((run.index(term), _ZH_TERMS[term]))
            run = run.replace(term, "|")
    for filler in _ZH_FILLERS:
        run = run.replace(filler, "|")
    rest = [frag for frag in run.split("|") if len(frag) >= 2]
    return [word for _, word in sorted(found)], rest


# -- LLM translation of unknown Chinese phrases ---------------------------------------------------------
FEW_SHOT = (
    "Chinese phrase: 恐龙\nEnglish keywords: dinosaurs\n"
    "Chinese phrase: 海边度假\nEnglish keywords: beach vacation\n"
    "Chinese phrase: 时间旅行\nEnglish keywords: time travel\n"
    "Chinese phrase: 防水\nEnglish keywords: waterproof\n"
    "Chinese phrase: {phrase}\nEnglish keywords:"
)
_cache: "OrderedDict[tuple[str, str], list[str]]" = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 4096


def cached_translation(backend: LLMBackend, phrase: str) -> list[str] | None:
    """Return a cached LLM translation, or None when the phrase has not been translated yet."""
    with _cache_lock:
        hit = _cache.get((backend.describe(), phrase))
        return list(hit) if hit is not None else None


def llm_translate(backend: LLMBackend, phrase: str, *, max_tokens: int = 8, deadline: float | None = None) -> list[str]:
    """Return English keywords for a Chinese phrase from the LLM (cached; empty when the reply is unusable)."""
    key = (backend.describe(), phrase)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return list(_cache[key])
    text = ""
    for chunk in backend.generate(FEW_SHOT.format(phrase=phrase), max_tokens=max_tokens, stop=["\n"], temperature=0.0):
        text += chunk
        if deadline is not None and time.perf_counter() > deadline:
            break  # a slow turn keeps what it has rather than waiting
    words = _clean_translation(text)
    with _cache_lock:
        _cache[key] = words
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return words


def _clean_translation(text: str) -> list[str]:
    """Return at most three plain English content words from a model reply."""
    words = re.findall(r"[a-z][a-z\-]+", text.lower())
    words = [w for w in words if w not in lx.EN_STOPWORDS and w not in _DROP]
    return [" ".join(words[:3])] if words else []


__all__ = ["extract", "llm_translate", "translate_with_glossary", "LLMError"]
