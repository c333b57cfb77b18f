"""Domain rules defined once for the whole project: grading feedback, list positions, intents, limits, titles.

Everything that decides "is this a like?", "which item is 'the second one'?", "is this message acceptable?"
or "which title do we show?" calls into this module, so the chat, the bandit, the training matrix and the
explanations never disagree. Pure Python; imports nothing from Django and reads no settings.
"""
from __future__ import annotations

import re
from typing import Any

from babel.numbers import format_decimal

# Titles are read and written by one module; the rule for the title shown (display_title) stays here.
from .titles import MOVED_ARTICLES, article_in_front, has_cjk, natural_title  # noqa: F401  (re-exported)

# ---------------------------------------------------------------- grading feedback events

LIKED, SEEN, DISLIKED = "liked", "seen", "disliked"
LIKE_KINDS = frozenset({"like", "favourite", "purchase"})
DISLIKE_KINDS = frozenset({"dislike"})
# A second press on a pressed button takes the press back. The take-back is an event of its own (history is
# never rewritten) that grades SEEN: the newest event about an item decides, so the retracted like or dislike
# no longer counts for training or the person's profile, and the take-back itself earns no bandit reward.
RETRACTION_KINDS = {"unlike": "like", "undislike": "dislike", "unfavourite": "favourite"}
LIKE_THRESHOLD = 4.0  # a rating at or above this is a like (the training matrix's rule)
DISLIKE_THRESHOLD = 2.0  # a rating at or below this is a dislike
# Likes and dislikes read from a person's words are stored as events with context {"via": STATED_VIA}. They stay
# with the conversation they were said in (its dialogue state holds them, in its domain): stored history and
# training read only what was pressed, rated or imported. "Download my data" says which is which (event_source).
STATED_VIA = "message"
EVENT_SOURCES = {STATED_VIA: "stated", "button": "pressed", "api": "api"}


def event_source(kind: str, origin: str, context: dict | None) -> str:
    """Return how a feedback event came to be: "stated" (read from chat words), "pressed" (a card button),
    "rated", "imported" or "api"."""
    if kind == "rating":
        return "rated"
    if origin == "import":
        return "imported"
    return EVENT_SOURCES.get(str((context or {}).get("via", "")), "api")


# Strengths in a person's item vector, by grade (what every ranker reads; see catalog.graded_train).
LIKED_WEIGHT = 1.0
NEUTRAL_WEIGHT = 0.5
DISLIKE_WEIGHT = -1.0


def grade(kind: str, value: float | None = None) -> str:
    """Return how a feedback event grades the item for the person: LIKED, SEEN or DISLIKED.

    The rule: a like, favourite or purchase, or a rating of LIKE_THRESHOLD (4) or more, is LIKED; a dislike,
    or a rating of DISLIKE_THRESHOLD (2) or less, is DISLIKED; anything else (a view, a click, a middling
    rating, a rating without a value) is SEEN: the person met the item without saying they liked it. A
    take-back (RETRACTION_KINDS) is SEEN too: the item is back to met-but-undecided.
    """
    if kind in RETRACTION_KINDS:
        return SEEN
    if kind in LIKE_KINDS:
        return LIKED
    if kind in DISLIKE_KINDS:
        return DISLIKED
    if kind == "rating" and value is not None:
        if value >= LIKE_THRESHOLD:
            return LIKED
        if value <= DISLIKE_THRESHOLD:
            return DISLIKED
    return SEEN


def reward(kind: str, value: float | None = None) -> float | None:
    """Return the bandit reward of an event: 1 when it grades LIKED, 0 when DISLIKED, None when only SEEN."""
    return {LIKED: 1.0, DISLIKED: 0.0}.get(grade(kind, value))


def signed_reward(kind: str, value: float | None = None) -> float | None:
    """Return the reward an event adds to the shown list it answers: +1 liked, -1 disliked, None when only SEEN.

    The contextual policy learns a list's value as likes minus dislikes among its events (silence adds
    nothing), the same grades as `reward`; the context-free Beta arms read `reward` (1 or 0).
    """
    return {LIKED: 1.0, DISLIKED: -1.0}.get(grade(kind, value))


def is_retraction(kind: str) -> bool:
    """Return whether an event takes back an earlier press (RETRACTION_KINDS); it decides the item's grade as SEEN."""
    return kind in RETRACTION_KINDS


# One person's say in the shared bandit: at most ACTOR_REWARDS_PER_WINDOW rewards per strategy per window,
# one per item, and a guest (an anonymous browser session, cheap to make) counts for GUEST_REWARD_WEIGHT.
ACTOR_REWARDS_PER_WINDOW = 5
REWARD_WINDOW_SECONDS = 24 * 3600
GUEST_REWARD_WEIGHT = 0.5


def reward_weight(*, guest: bool, earlier_rewards: int, item_rewarded_before: bool) -> float:
    """Return how much one person's rewarded event counts toward a strategy's arm, from 0 to 1.

    `earlier_rewards` is how many of that person's events already rewarded the same strategy within
    REWARD_WINDOW_SECONDS, and `item_rewarded_before` whether one of them was about the same item. A repeat
    about the same item, or anything past the person's ACTOR_REWARDS_PER_WINDOW, counts 0, so no single
    person (or script) can move a strategy's arm far; a guest's reward counts GUEST_REWARD_WEIGHT.
    """
    if item_rewarded_before or earlier_rewards >= ACTOR_REWARDS_PER_WINDOW:
        return 0.0
    return GUEST_REWARD_WEIGHT if guest else 1.0


def is_interaction(kind: str) -> bool:
    """Return whether an event counts as an interaction for training and popularity (all but a dislike).

    Interaction models learn what people pick, so a middling or low rating still counts as a pick; only the
    dislike button says "not for me" without having picked the item.
    """
    return kind not in DISLIKE_KINDS


# ---------------------------------------------------------------- intents

RECOMMEND, ASK_INFO, FEEDBACK, CHITCHAT = "recommend", "ask_info", "feedback", "chitchat"
SOCIAL = "social"  # a request about the person's connections (recommender/engine/social.py)
INTENTS = (RECOMMEND, ASK_INFO, FEEDBACK, CHITCHAT, SOCIAL)

# What a social request asks for: what connections like that the person has not met ("what do my friends like?"),
# something for the person and named others together ("something Ana and I would both enjoy"), what the person
# and their connections have in common ("我和朋友的共同兴趣"), or people with similar taste ("who has taste like mine?").
FRIENDS_LIKE, TOGETHER, COMMON, PEOPLE_LIKE_ME = "friends_like", "together", "common", "people_like_me"
SOCIAL_KINDS = (FRIENDS_LIKE, TOGETHER, COMMON, PEOPLE_LIKE_ME)
# Social ties (recommender.models.Relation): a friendship counts both ways, a follow or trust only one way.
RELATION_KINDS = ("friend", "follows", "trusts")
SYMMETRIC_RELATIONS = frozenset({"friend"})
# How a group's members' scores become the group's: "average" (the mean of each member's normalised score) or
# "least_misery" (the lowest one). Chosen on synthetic groups, `python -m benchmarks.social` (docs/benchmarks.md).
GROUP_AGGREGATIONS = ("average", "least_misery")
GROUP_AGGREGATION = "average"


def known_intent(intent: str | None) -> str:
    """Return the intent if it is one of INTENTS, else RECOMMEND (what a turn does when unsure)."""
    return intent if intent in INTENTS else RECOMMEND


# ---------------------------------------------------------------- request limits

DEFAULT_K = 10
MAX_K = 100


class TurnError(ValueError):
    """A turn that cannot run; `code` is the error code clients see, `field` the request field at fault."""

    def __init__(self, code: str, message: str, field: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


ERROR_EMPTY = "The message is empty."
ERROR_TOO_LONG = "Messages are limited to {limit} characters."
ERROR_K = "Must be a whole number from 1 to {limit}."
ERROR_TEXT_TYPE = "The message text must be a string."


def check_text(text: Any, *, max_chars: int) -> str:
    """Return the message text stripped, or raise TurnError: not a string, longer than max_chars, or empty.

    The limit counts the characters as sent (before stripping); the value comes from the caller's settings.
    """
    if not isinstance(text, str):
        raise TurnError("bad_field", ERROR_TEXT_TYPE, field="text")
    if len(text) > max_chars:
        raise TurnError("message_too_long", ERROR_TOO_LONG.format(limit=max_chars), field="text")
    if not text.strip():
        raise TurnError("empty_message", ERROR_EMPTY, field="text")
    return text.strip()


def check_k(k: Any) -> int:
    """Return k (how many items to list) when it is an int from 1 to MAX_K, else raise TurnError."""
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= MAX_K:
        raise TurnError("bad_field", ERROR_K.format(limit=MAX_K), field="k")
    return k


def check_request(text: Any, k: Any = DEFAULT_K, *, max_chars: int) -> tuple[str, int]:
    """Return (text, k) of a turn request, checked by check_text and check_k (the one request validator)."""
    return check_text(text, max_chars=max_chars), check_k(k)


# ---------------------------------------------------------------- model versions

# A retrained version replaces the active one only when its validation objective is not worse than the active
# one's by more than this share (the two are measured on validation splits of different data, so a small
# drop is noise; a larger one is a worse model, and the active one keeps serving).
MODEL_GATE_TOLERANCE = 0.05
# Artifacts kept on disk: the active version and the newest MODEL_KEEP_INACTIVE others (for rollback).
MODEL_KEEP_INACTIVE = 3


def model_gate(new: dict | None, active: dict | None, tolerance: float = MODEL_GATE_TOLERANCE) -> tuple[bool, str]:
    """Return (activate?, why) for a new version's validation metrics against the active version's.

    Each is a version's metrics["validation"]: {"objective": name, name.lower(): value, ...}. Without an active
    version, or when the two measure different objectives, the new one is activated (nothing to compare).
    """
    objective = (new or {}).get("objective")
    before = (active or {}).get("objective")
    if not active or not before:
        return True, "no active version to compare with"
    if objective != before:
        return True, f"objective changed ({before} -> {objective})"
    value, old = (new or {}).get(str(objective).lower()), active.get(str(before).lower())
    if not isinstance(old, (int, float)):
        return True, "the active version has no validation value"
    if not isinstance(value, (int, float)):
        return False, "the new version has no validation value"
    floor = old * (1.0 - tolerance)
    if value + 1e-12 >= floor:
        return True, f"{objective} {value:.4f} >= {floor:.4f} (active {old:.4f} - {100 * tolerance:g} %)"
    return False, f"{objective} {value:.4f} < {floor:.4f} (active {old:.4f} - {100 * tolerance:g} %)"


# ---------------------------------------------------------------- feedback requests

# Every kind of feedback event a client may send (the Interaction kinds; a test keeps the two equal).
FEEDBACK_KINDS = ("rating", "click", "like", "dislike", "favourite", "purchase", "view", "unlike", "undislike",
                  "unfavourite")
FEEDBACK_VALUE_LIMIT = 1e6
FEEDBACK_KEY_CHARS = 100
MAX_ID = 2**63 - 1
ERROR_FEEDBACK_ITEM = "Must be an item id: a whole number from 1 to 2^63-1."
ERROR_FEEDBACK_KIND = "Must be one of: " + ", ".join(FEEDBACK_KINDS) + "."
ERROR_FEEDBACK_VALUE = "Must be a number from -1e6 to 1e6, or null."
ERROR_FEEDBACK_KEY = f"Must be a non-empty string of at most {FEEDBACK_KEY_CHARS} characters."


def check_feedback(item: Any, kind: Any, value: Any = None, key: Any = None) -> tuple[int, str, float | None, str | None]:
    """Return (item, kind, value, key) of a feedback request, or raise TurnError("bad_field") naming the field.

    The one check both adapters (websocket frame, REST body) use; a rating's range is the store's rule
    (`services.feedback.interaction_record`), since it applies to imports too.
    """
    if not isinstance(item, int) or isinstance(item, bool) or not 1 <= item <= MAX_ID:
        raise TurnError("bad_field", ERROR_FEEDBACK_ITEM, field="item")
    if not isinstance(kind, str) or kind not in FEEDBACK_KINDS:
        raise TurnError("bad_field", ERROR_FEEDBACK_KIND, field="kind")
    if value is not None:
        if (not isinstance(value, (int, float)) or isinstance(value, bool) or value != value
                or not -FEEDBACK_VALUE_LIMIT <= value <= FEEDBACK_VALUE_LIMIT):
            raise TurnError("bad_field", ERROR_FEEDBACK_VALUE, field="value")
        value = float(value)
    if key is not None and (not isinstance(key, str) or not key or len(key) > FEEDBACK_KEY_CHARS):
        raise TurnError("bad_field", ERROR_FEEDBACK_KEY, field="key")
    return item, kind, value, key


# ---------------------------------------------------------------- list positions ("the second one")

EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8,
    "9th": 9, "10th": 10,
}
EN_CARDINALS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10}
ZH_NUMERALS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
               "十": 10}

_ZH_ORDINAL = re.compile(r"(倒数)?第\s*([0-9]+|[一二两三四五六七八九十]+)\s*(个|部|本|件|项|首|款|条|名|位)?")
_ZH_LAST = re.compile(r"最后(一|那)?(个|部|本|件|项|首|款|条)?")
_ZH_FIRST = re.compile(r"(头|首)(一)?(个|部)")
_EN_NUMBER = re.compile(r"(?:#|\bno\.?\s*|\bnumber\s+|\bitem\s+|\boption\s+|\bpick\s+)(\d+|[a-z]+)\b", re.IGNORECASE)
_EN_LAST = re.compile(r"\b(the\s+)?(very\s+)?last\b", re.IGNORECASE)
_EN_SECOND_LAST = re.compile(r"\b(second[\s-]+to[\s-]+last|penultimate|next[\s-]+to[\s-]+last)\b", re.IGNORECASE)
_EN_WORD = re.compile(r"[a-z0-9]+", re.IGNORECASE)
_EN_TOP = re.compile(r"\btop\s+(one|pick|item)\b", re.IGNORECASE)


def zh_number(text: str) -> int | None:
    """Return the value of a small Chinese or Arabic numeral (up to 99), or None."""
    if text.isdigit():
        return int(text)
    if not text or any(ch not in ZH_NUMERALS for ch in text):
        return None
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (ZH_NUMERALS[tens] if tens else 1) * 10 + (ZH_NUMERALS[ones] if ones else 0)
    return ZH_NUMERALS[text[0]] if len(text) == 1 else None


def list_position(text: str) -> int | None:
    """Return the 1-based list position a message names, negative counting from the end, or None.

    The rule: "第二个" / "the second one" / "#2" / "number 2" / "2nd" -> 2; "倒数第二" / "second to last" -> -2;
    "最后一个" / "the last one" -> -1; "头一个" / "the top pick" -> 1. Chinese forms are read first.
    """
    m = _ZH_ORDINAL.search(text)
    if m:
        n = zh_number(m.group(2))
        if n:
            return -n if m.group(1) else n
    if _ZH_LAST.search(text):
        return -1
    if _ZH_FIRST.search(text):
        return 1
    if _EN_SECOND_LAST.search(text):
        return -2
    m = _EN_NUMBER.search(text)
    if m:
        word = m.group(1).casefold()
        n = int(word) if word.isdigit() else EN_CARDINALS.get(word) or EN_ORDINALS.get(word)
        if n:
            return n
    for word in _EN_WORD.findall(text):
        if word.casefold() in EN_ORDINALS:
            return EN_ORDINALS[word.casefold()]
    if _EN_LAST.search(text):
        return -1
    if _EN_TOP.search(text):
        return 1
    return None


def item_at_position(items: list, position: int | None):
    """Return the element at a list_position (1-based, negative from the end), or None when out of range."""
    if not position:
        return None
    index = position - 1 if position > 0 else len(items) + position
    return items[index] if 0 <= index < len(items) else None


# ---------------------------------------------------------------- languages and titles


def language_of(code: str | None) -> str:
    """Return "zh" for any Chinese language code, else "en" (the two languages replies are written in)."""
    return "zh" if (code or "").lower().startswith("zh") else "en"


# How numbers are written: grouped digits and at most two decimals, by the language's own conventions (Babel's CLDR
# data), never Python's "g" format, which turns 1234567 into "1.23457e+06".
NUMBER_LOCALES = {"en": "en", "zh": "zh_Hans_CN"}
NUMBER_PATTERN = "#,##0.##"


def number_text(value: float, language: str) -> str:
    """Return a number as people read it: number_text(1234567, "en") -> "1,234,567", 38.99 -> "38.99".

    Years are not quantities: pass them as str(year), never here (1995 would read "1,995").
    """
    return format_decimal(value, format=NUMBER_PATTERN, locale=NUMBER_LOCALES[language_of(language)])


def display_title(record, language: str) -> str:
    """Return the title to show for an item, in cards, replies, explanations and evidence alike.

    The rule: in Chinese, the first alias written in Chinese (without 《》); otherwise the catalog title as
    people write it (`natural_title`: articles in front, "Usual Suspects, The (1995)" -> "The Usual Suspects
    (1995)"), with its year in English and without it in Chinese.
    """
    zh = language_of(language) == "zh"
    if zh:
        for alias in record.aliases:
            if has_cjk(alias):
                return alias.strip("《》 ")
    return natural_title(record.title, with_year=not zh)


# ---------------------------------------------------------------- what kind of item it is

# The attributes that say what kind of item something is (a film's genres, a product's category): "something
# like X" stays X's kind by their overlap (serving's likeness part), whatever the catalog's domain.
KIND_ATTRIBUTES = ("genres", "category")
# Values catalogs list among genres that say how an item is shown or that nothing is known, not what kind it is.
NOT_A_KIND = frozenset({"imax", "(no genres listed)"})
# The attributes that name who made an item (a film's director, an album's artist): "something like Radiohead"
# asks for items like that maker's works, not for them (understanding), and a shared maker links two items
# (knowledge chains).
CREATOR_ATTRIBUTES = ("director", "directors", "creator", "creators", "author", "authors", "artist", "artists",
                      "developer", "developers")


def attribute_value(value: Any) -> Any:
    """Return an attribute value as filters compare it: text stripped and case-folded, other values as they are."""
    return value.strip().casefold() if isinstance(value, str) else value


def attribute_values(raw: Any) -> list[Any]:
    """Return an attribute's value or values (a list, tuple or set) as filters compare them."""
    if raw is None:
        return []
    if isinstance(raw, (list, tuple, set)):
        return [attribute_value(v) for v in raw]
    return [attribute_value(raw)]
