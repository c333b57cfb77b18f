"""Chat-Rec's "LLM as recommender": titles the LLM would suggest for the dialogue, as one more evidence source.

`suggest_titles` asks the backend for titles (schema-constrained where it can be), links them to the catalog
and drops the ones the catalog does not hold. `add_suggestions` merges them into the ranked pool with a modest
weight: an item the rankers already hold gains up to `weight` times the pool's score spread, one they do not
hold joins just above the pool's lowest score plus that gain. Hard constraints, the named and already-suggested
items, the person's history and dislikes are applied to the LLM's titles exactly as to the rankers', and each
such item carries `llm_suggestion` evidence, so its explanation says where it came from.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator

from ..types import Evidence, ScoredItem
from ..understanding.catalog import CatalogIndex
from .reading import dialogue_text, link_title, schema_reply

MAX_SUGGESTIONS = 8
LLM_CANDIDATE_WEIGHT = 0.3  # the first title's gain as a share of the pool's score spread; later ones less
SOURCE = "llm"

SUGGESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"titles": {"type": "array", "maxItems": MAX_SUGGESTIONS, "items": {
        "type": "object", "properties": {"title": {"type": "string"}, "year": {"type": ["integer", "null"]}},
        "required": ["title", "year"], "additionalProperties": False}}},
    "required": ["titles"],
    "additionalProperties": False,
}
SUGGESTION_VALIDATOR = Draft202012Validator(SUGGESTION_SCHEMA)

SUGGESTION_PROMPT = """You are a recommender. From this conversation, suggest up to {n} titles the person would enjoy
that the conversation has not named yet. Answer with one JSON object only:
{{"titles": [{{"title": "<title>", "year": <its year or null>}}]}}

Conversation:
{dialogue}

JSON:"""


def parse_suggestions(raw: str, index: CatalogIndex) -> list[str] | None:
    """Return the catalog ids of the suggested titles in the LLM's order, or None when the reply is invalid."""
    data = schema_reply(raw, SUGGESTION_VALIDATOR)  # checked against the schema the model was given
    if data is None:
        return None
    found: list[str] = []
    for entry in data["titles"]:
        year = entry["year"]
        item_id = link_title(index, entry["title"], year)
        if item_id is not None and item_id not in found:
            found.append(item_id)
    return found


def suggest_titles(messages: Sequence[Mapping[str, Any]], index: CatalogIndex, backend: Any,
                   n: int = MAX_SUGGESTIONS, max_tokens: int = 200) -> list[str] | None:
    """Return catalog ids the LLM suggests for the dialogue, or None for an unusable reply (raises LLMError).

    The caller bounds the time (`llm.bounded.BoundedCall`).
    """
    prompt = SUGGESTION_PROMPT.format(n=n, dialogue=dialogue_text(messages))
    return parse_suggestions(backend.complete(prompt, max_tokens=max_tokens, schema=SUGGESTION_SCHEMA), index)


def suggestion_evidence(named_titles: bool) -> Evidence:
    """Return the evidence an LLM-suggested item carries (what its explanation says)."""
    return Evidence(kind="llm_suggestion", weight=0.0, value="titles" if named_titles else "request",
                    detail="suggested from general knowledge of the titles named" if named_titles
                    else "suggested from general knowledge of the request")


def add_suggestions(scored: list[ScoredItem], suggested: list[str], allowed: Collection[str], *,
                    named_titles: bool, weight: float = LLM_CANDIDATE_WEIGHT) -> list[ScoredItem]:
    """Return the pool with the LLM's suggestions merged in, best first.

    `allowed` holds the suggested ids that pass the turn's hard constraints and exclusions (the caller checks
    them as it checks the rankers' items); the others are ignored. Scores stay the sum of their sources.
    """
    suggested = [i for i in suggested if i in allowed]
    if not suggested:
        return scored
    scores = [s.score for s in scored]
    top, bottom = (max(scores), min(scores)) if scores else (1.0, 0.0)
    spread = (top - bottom) or abs(top) or 1.0
    by_id = {s.item_id: s for s in scored}
    out = list(scored)
    for rank, item_id in enumerate(suggested):
        gain = weight * spread * (1.0 - rank / len(suggested))
        item = by_id.get(item_id)
        if item is None:
            item = ScoredItem(item_id=item_id, score=bottom, sources={SOURCE: bottom})
            out.append(item)
        else:
            item.sources = dict(item.sources)
            item.sources[SOURCE] = item.sources.get(SOURCE, 0.0)
        item.score += gain
        item.sources[SOURCE] += gain
        item.evidence = [*item.evidence, suggestion_evidence(named_titles)]
    out.sort(key=lambda s: -s.score)
    return out
