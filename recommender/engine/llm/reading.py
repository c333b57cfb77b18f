"""An LLM's reading of the whole dialogue, validated, grounded in the catalog and merged into the rules' state.

The rules (`understand`, `ConversationState.apply`) always run and stay the fallback. When an LLM backend is
enabled, `read_with_llm` asks it for one JSON object (schema-constrained where the backend can enforce a schema)
naming the items the dialogue mentions with the person's sentiment, the qualities wished and refused, a year
range, and whether the person wants recommendations. The reply is checked against the same schema the model is
given (`jsonschema`; one definition, so what the model is asked for and what is accepted never disagree):
malformed JSON, a missing field, a wrong type, an unknown field or a list past its length discards the whole
reading. Titles must link to catalog items (a year given must agree) and qualities must name the catalog's
structured values; anything else is dropped. `merge_reading` then only adds
to the state: mentions and sentiments the rules missed, and constraint slots the rules left empty.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from ..titles import split_year
from ..understanding.catalog import CatalogIndex
from ..understanding.state import ConversationState, _add
from ..understanding.text import key_of

SENTIMENTS = ("liked", "disliked", "seen", "asked")
MAX_ITEMS = 6
MAX_VALUES = 10
DIALOGUE_CHARS = 1800  # the end of a long dialogue (small models have small contexts)
# A year the model names; the bounds are part of the schema, so a constrained server can enforce them too.
_NULLABLE_YEAR = {"type": ["integer", "null"], "minimum": 1800, "maximum": 2100}

READING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "maxItems": MAX_ITEMS, "items": {
            "type": "object",
            "properties": {"title": {"type": "string"}, "year": _NULLABLE_YEAR,
                           "sentiment": {"type": "string", "enum": list(SENTIMENTS)}},
            "required": ["title", "year", "sentiment"], "additionalProperties": False}},
        "wished": {"type": "array", "maxItems": MAX_VALUES, "items": {"type": "string"}},
        "refused": {"type": "array", "maxItems": MAX_VALUES, "items": {"type": "string"}},
        "years": {"type": "object", "properties": {"from": _NULLABLE_YEAR, "to": _NULLABLE_YEAR},
                  "required": ["from", "to"], "additionalProperties": False},
        "wants_recommendations": {"type": "boolean"},
    },
    "required": ["items", "wished", "refused", "years", "wants_recommendations"],
    "additionalProperties": False,
}
READING_VALIDATOR = Draft202012Validator(READING_SCHEMA)

READING_PROMPT = """Read this conversation between a person and a recommender. Answer with one JSON object only:
{{"items": [{{"title": "<a title the conversation names>", "year": <its year or null>, "sentiment": "liked" | "disliked" | "seen" | "asked"}}],
 "wished": ["<qualities the person asks for, such as genres>"], "refused": ["<qualities the person does not want>"],
 "years": {{"from": <earliest year wanted or null>, "to": <latest year wanted or null>}},
 "wants_recommendations": <true if the person wants suggestions>}}
Only the person's own opinions count; titles the recommender suggested are "asked" unless the person reacted.

Conversation:
{dialogue}

JSON:"""


@dataclass
class DialogueReading:
    """What the LLM read, grounded: catalog ids with a sentiment, structured values, a year range."""

    items: dict[str, str] = field(default_factory=dict)  # item id -> liked / disliked / seen / asked
    include: dict[str, list[Any]] = field(default_factory=dict)
    exclude: dict[str, list[Any]] = field(default_factory=dict)
    ranges: dict[str, list[float | None]] = field(default_factory=dict)
    wants_recommendations: bool = False
    dropped: list[str] = field(default_factory=list)  # what the catalog could not ground, for the report


def dialogue_text(messages: Sequence[Mapping[str, Any]], limit: int = DIALOGUE_CHARS) -> str:
    """Return the dialogue as "User: ..." / "Assistant: ..." lines, its end kept when it is long."""
    lines = []
    for m in messages:
        role = "User" if (m.get("role") or "").lower() in ("user", "seeker", "human") else "Assistant"
        lines.append(f"{role}: {' '.join(str(m.get('content') or '').split())}")
    text = "\n".join(lines)
    return text if len(text) <= limit else "…" + text[-limit:]


def json_object(raw: str) -> dict | None:
    """Return the one JSON object in a reply (a code fence or words around it are tolerated), or None."""
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(raw[start:end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def schema_reply(raw: str, validator: Draft202012Validator) -> dict | None:
    """Return the reply's JSON object when it is valid against the schema the model was given, else None."""
    data = json_object(raw or "")
    if data is None or not validator.is_valid(data):
        return None
    return data


def link_title(index: CatalogIndex, title: str, year: int | None = None) -> str | None:
    """Return the catalog id a written title names (its year, when given, must agree), or None."""
    core, written_year = split_year(title)
    if written_year is not None and core:
        title, year = core, year or written_year
    title = title.strip()
    hits = index.resolve_title(key_of(title))
    if year is not None:
        hits = [h for h in hits if index.year_of(h[0]) in (0, year)]
    return hits[0][0] if hits else None


def _structured(index: CatalogIndex, phrase: str, domain: str | None) -> list[tuple[str, Any]]:
    """Return the structured (attribute, value) pairs a phrase names in the catalog (free-form tags never)."""
    found = []
    for attribute, value, value_domain in index.surface(key_of(phrase)):
        if (domain is None or value_domain == domain) and not index.is_free_form(attribute, value_domain):
            if (attribute, value) not in found:
                found.append((attribute, value))
    return found


def parse_reading(raw: str, index: CatalogIndex, domain: str | None = None) -> DialogueReading | None:
    """Return the grounded reading of an LLM reply, or None when the reply is not a valid reading."""
    data = schema_reply(raw, READING_VALIDATOR)
    if data is None:
        return None
    reading = DialogueReading(wants_recommendations=data["wants_recommendations"])
    for entry in data["items"]:
        item_id = link_title(index, entry["title"], entry["year"])
        if item_id is None:
            reading.dropped.append(entry["title"])
        elif item_id not in reading.items:
            reading.items[item_id] = entry["sentiment"]
    for key, target in (("wished", reading.include), ("refused", reading.exclude)):
        for phrase in data[key]:
            pairs = _structured(index, phrase, domain)
            if not pairs:
                reading.dropped.append(phrase)
            for attribute, value in pairs:
                target[attribute] = _add(target.get(attribute, []), [value])
    low, high = data["years"]["from"], data["years"]["to"]
    if (low is not None or high is not None) and (low is None or high is None or low <= high):
        if any("year" in attrs for attrs in index.numeric.values()):
            reading.ranges["year"] = [low, high]
    return reading


def read_with_llm(messages: Sequence[Mapping[str, Any]], index: CatalogIndex, backend: Any,
                  domain: str | None = None, max_tokens: int = 256) -> DialogueReading | None:
    """Return the LLM's grounded reading of a dialogue, or None when its reply is unusable (raises LLMError).

    The caller bounds the time (`llm.bounded.BoundedCall`): this call waits for the backend.
    """
    prompt = READING_PROMPT.format(dialogue=dialogue_text(messages))
    raw = backend.complete(prompt, max_tokens=max_tokens, schema=READING_SCHEMA)
    return parse_reading(raw, index, domain)


def merge_reading(state: ConversationState, reading: DialogueReading) -> dict[str, Any]:
    """Add what the rules missed to the state; return what changed.

    Only additions: an item the rules did not see is mentioned with the LLM's sentiment; a mention the rules read
    as neutral or a question gains a like or dislike; a suggestion the person's words reacted to gets that
    reaction. A like or dislike the rules read is never turned around, and a constraint slot (an attribute's
    include or exclude values, a range) the rules filled is kept as they read it. A wished value the person also
    refused (or the reverse) is skipped.
    """
    changed: dict[str, Any] = {}
    suggested = {entry["item_id"]: entry for entry in state.suggestions}
    for item_id, sentiment in reading.items.items():
        if item_id in suggested:
            entry = suggested[item_id]
            if not entry["reaction"] and sentiment in ("liked", "disliked", "seen"):
                entry["reaction"] = sentiment
                changed.setdefault("reactions", {})[item_id] = sentiment
            continue
        before = state.mentions.get(item_id)
        if before in ("liked", "disliked", "seen") or (before is not None and sentiment in ("seen", "asked")):
            continue
        state.mentions[item_id] = sentiment
        changed.setdefault("mentions", {})[item_id] = sentiment
        if sentiment == "liked" and item_id not in state.disliked:
            state.liked = _add(state.liked, [item_id])
        elif sentiment == "disliked" and item_id not in state.liked:
            state.disliked = _add(state.disliked, [item_id])
    for attribute, values in reading.include.items():
        wanted = [v for v in values if v not in state.exclude.get(attribute, [])]
        if wanted and attribute not in state.include:
            state.include[attribute] = wanted
            changed.setdefault("include", {})[attribute] = wanted
    for attribute, values in reading.exclude.items():
        refused = [v for v in values if v not in state.include.get(attribute, [])]
        if refused and attribute not in state.exclude:
            state.exclude[attribute] = refused
            changed.setdefault("exclude", {})[attribute] = refused
    for attribute, bounds in reading.ranges.items():
        if attribute not in state.ranges:
            state.ranges[attribute] = list(bounds)
            changed.setdefault("ranges", {})[attribute] = list(bounds)
    return changed
