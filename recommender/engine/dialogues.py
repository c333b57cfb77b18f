"""Recorded recommendation dialogues: the ReDial format, read into plain records, and one development split.

A dialogue is a list of turns between a seeker ("user") and a recommender ("assistant"). ReDial marks a movie
in the text as `@<id>` and lists the movies in `movieMentions`; each side's questionnaire says, per movie,
whether it was suggested, seen and liked (0 no, 1 yes, 2 did not say).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import titles

MENTION = re.compile(r"@(\d+)")
# Every fifth conversation (by id) is held out for development; nothing trained may read it.
DEV_EVERY = 5


class DialogueFormatError(ValueError):
    """A line that is not a readable dialogue; the message says why."""


@dataclass
class MovieAnswer:
    """One side's questionnaire answer for a movie: True / False, None when they did not say."""

    suggested: bool | None = None
    seen: bool | None = None
    liked: bool | None = None


@dataclass
class DialogueTurn:
    role: str  # "user" (the seeker) or "assistant" (the recommender)
    text: str  # with each @id replaced by the movie's name
    mentions: list[str] = field(default_factory=list)  # source movie ids, in order of appearance


@dataclass
class Dialogue:
    conversation_id: str
    turns: list[DialogueTurn]
    movies: dict[str, str]  # source id -> "Name (year)"
    seeker_answers: dict[str, MovieAnswer] = field(default_factory=dict)
    recommender_answers: dict[str, MovieAnswer] = field(default_factory=dict)


def is_development(conversation_id: str | int) -> bool:
    """Return whether a conversation belongs to the development split (stable: decided by its id)."""
    try:
        return int(conversation_id) % DEV_EVERY == 0
    except (TypeError, ValueError):
        return sum(str(conversation_id).encode()) % DEV_EVERY == 0


def _answer(raw: object) -> bool | None:
    return {0: False, 1: True}.get(raw) if isinstance(raw, int) else None


def _answers(raw: object) -> dict[str, MovieAnswer]:
    if not isinstance(raw, dict):
        return {}
    out = {}
    for movie_id, answer in raw.items():
        if isinstance(answer, dict):
            out[str(movie_id)] = MovieAnswer(suggested=_answer(answer.get("suggested")),
                                             seen=_answer(answer.get("seen")), liked=_answer(answer.get("liked")))
    return out


clean_movie_name = titles.clean_name  # a ReDial name with its doubled spaces folded


def parse_redial(obj: object) -> Dialogue:
    """Return the dialogue in one decoded ReDial object; raises DialogueFormatError when it is not one."""
    if not isinstance(obj, dict):
        raise DialogueFormatError("not a JSON object")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DialogueFormatError("no 'messages' list")
    if "conversationId" not in obj or "initiatorWorkerId" not in obj:
        raise DialogueFormatError("missing 'conversationId' or 'initiatorWorkerId'")
    movies = {str(k): clean_movie_name(str(v)) for k, v in (obj.get("movieMentions") or {}).items() if v}
    seeker = obj["initiatorWorkerId"]
    turns = []
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("text"), str):
            raise DialogueFormatError("a message without text")
        ids = MENTION.findall(m["text"])
        text = MENTION.sub(lambda hit: movies.get(hit.group(1), hit.group(0)), m["text"]).strip()
        role = "user" if m.get("senderWorkerId") == seeker else "assistant"
        turns.append(DialogueTurn(role=role, text=text, mentions=[i for i in ids if i in movies]))
    return Dialogue(conversation_id=str(obj["conversationId"]), turns=turns, movies=movies,
                    seeker_answers=_answers(obj.get("initiatorQuestions")),
                    recommender_answers=_answers(obj.get("respondentQuestions")))


def read_redial(path: Path | str) -> Iterator[tuple[int, Dialogue | DialogueFormatError]]:
    """Yield (line number, dialogue or the error that line raised) for a ReDial JSON-lines file."""
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield line_no, parse_redial(json.loads(line))
            except json.JSONDecodeError as exc:
                yield line_no, DialogueFormatError(f"invalid JSON: {exc.msg}")
            except DialogueFormatError as exc:
                yield line_no, exc


# ---------------------------------------------------------------- a generic JSON-lines format

ROLES = ("user", "assistant")


def _flag(raw: object) -> bool | None:
    return raw if isinstance(raw, bool) else None


def _generic_answers(raw: object, where: str) -> dict[str, MovieAnswer]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise DialogueFormatError(f"'{where}' is not an object")
    out = {}
    for key, answer in raw.items():
        if not isinstance(answer, dict):
            raise DialogueFormatError(f"'{where}' entry {key!r} is not an object")
        out[str(key)] = MovieAnswer(suggested=_flag(answer.get("suggested")), seen=_flag(answer.get("seen")),
                                    liked=_flag(answer.get("liked")))
    return out


def parse_generic(obj: object) -> Dialogue:
    """Return the dialogue in one decoded object of the generic format (docs/import_formats.md).

    {"id": "c1", "items": {"m1": "The Matrix (1999)"},
     "turns": [{"role": "user", "text": "I loved @m1"}, {"role": "assistant", "text": "Try @m2", "mentions": ["m2"]}],
     "seeker_answers": {"m1": {"liked": true, "seen": true, "suggested": false}}, "recommender_answers": {}}

    `@key` in a text names an item of `items` and is replaced by its title; `mentions` (optional) lists more.
    """
    if not isinstance(obj, dict):
        raise DialogueFormatError("not a JSON object")
    conversation_id = obj.get("id")
    if not isinstance(conversation_id, (str, int)) or isinstance(conversation_id, bool) or str(conversation_id) == "":
        raise DialogueFormatError("missing 'id' (a string or an integer)")
    items = obj.get("items") or {}
    if not isinstance(items, dict) or not all(isinstance(v, str) for v in items.values()):
        raise DialogueFormatError("'items' is not an object of key -> title")
    movies = {str(k): clean_movie_name(v) for k, v in items.items() if v.strip()}
    raw_turns = obj.get("turns")
    if not isinstance(raw_turns, list) or not raw_turns:
        raise DialogueFormatError("no 'turns' list")
    turns = []
    for number, t in enumerate(raw_turns, start=1):
        if not isinstance(t, dict) or not isinstance(t.get("text"), str):
            raise DialogueFormatError(f"turn {number} has no 'text'")
        if t.get("role") not in ROLES:
            raise DialogueFormatError(f"turn {number} has role {t.get('role')!r}, not 'user' or 'assistant'")
        extra = t.get("mentions") or []
        if not isinstance(extra, list):
            raise DialogueFormatError(f"turn {number} 'mentions' is not a list")
        named = [i for i in MENTION_KEY.findall(t["text"]) if i in movies]
        text = MENTION_KEY.sub(lambda hit: movies.get(hit.group(1), hit.group(0)), t["text"]).strip()
        mentions = named + [str(k) for k in extra if str(k) in movies and str(k) not in named]
        turns.append(DialogueTurn(role=t["role"], text=text, mentions=mentions))
    return Dialogue(conversation_id=str(conversation_id), turns=turns, movies=movies,
                    seeker_answers=_generic_answers(obj.get("seeker_answers"), "seeker_answers"),
                    recommender_answers=_generic_answers(obj.get("recommender_answers"), "recommender_answers"))


MENTION_KEY = re.compile(r"@([\w-]+)")
PARSERS = {"redial": parse_redial, "jsonl": parse_generic}


# ---------------------------------------------------------------- linking names to catalog items
# Names are linked by the title module (`recommender.engine.titles`); these names stay importable from here.
TitleLinker = titles.TitleLinker
title_keys = titles.title_keys
titles_in_text = titles.titles_in_text
fold = titles.fold


# ---------------------------------------------------------------- what was suggested after what

# How much an earlier mention counts as context, by the seeker's answer about it.
LIKED_WEIGHT = 1.5
DISLIKED_WEIGHT = 0.5


def mention_weight(dialogue: Dialogue, source_id: str) -> float:
    """Return the context weight of a mentioned movie: more when the seeker liked it, less when not."""
    answer = dialogue.seeker_answers.get(source_id)
    if answer is None or answer.liked is None:
        return 1.0
    return LIKED_WEIGHT if answer.liked else DISLIKED_WEIGHT


@dataclass
class SuggestionTurn:
    """An assistant turn that suggests items not named before, with what the dialogue held until then."""

    index: int  # turn index in the dialogue
    context: dict[str, float]  # linked item id -> weight, for every item named earlier (either side)
    suggested: list[str]  # linked ids of items this turn names for the first time
    messages: list[dict]  # the dialogue so far as {"role", "content"}


def suggestion_turns(dialogue: Dialogue, links: dict[str, str | None]) -> list[SuggestionTurn]:
    """Return every assistant turn that names at least one new linked item; links maps source id -> item id.

    "New" excludes anything named earlier, by source id or by linked item, so a repeat is never a target.
    """
    out: list[SuggestionTurn] = []
    seen_sources: set[str] = set()
    context: dict[str, float] = {}
    for index, turn in enumerate(dialogue.turns):
        if turn.role == "assistant":
            new = []
            for source in turn.mentions:
                item = links.get(source)
                if source in seen_sources or item is None or item in context or item in new:
                    continue
                new.append(item)
            if new:
                messages = [{"role": t.role, "content": t.text} for t in dialogue.turns[:index]]
                out.append(SuggestionTurn(index=index, context=dict(context), suggested=new, messages=messages))
        for source in turn.mentions:
            seen_sources.add(source)
            item = links.get(source)
            if item is not None:
                context[item] = max(context.get(item, 0.0), mention_weight(dialogue, source))
    return out
