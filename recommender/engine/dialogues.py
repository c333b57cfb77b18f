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


def clean_movie_name(name: str) -> str:
    """Return a ReDial movie name with its doubled spaces folded ("A Scanner Darkly  (2006)")."""
    return re.sub(r"\s+", " ", name or "").strip()


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
