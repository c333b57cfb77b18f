"""Which of a ranker's facts an explanation may cite, and what they may be called (liked, a neighbour).

Shared by the template, the knowledge chains and the checker, below all three.
"""
from __future__ import annotations

from dataclasses import replace

from ..types import Evidence

MAX_LIKED = 3
MAX_SIMILAR = 2

LIKED_FROM = 4.0  # a rating (or event strength) from which an item counts as liked


HISTORY_KINDS = ("liked_item", "history_item")


def was_liked(evidence: Evidence) -> bool:
    """Return whether a history item may be called "liked".

    The ranker marks items the person interacted with but did not like as history_item; a caller may
    also put the person's own rating on a liked_item's value, and below LIKED_FROM it is not a like.
    """
    if evidence.kind != "liked_item" or evidence.detail == EXAMPLE_DETAIL:
        return False
    return not isinstance(evidence.value, (int, float)) or float(evidence.value) >= LIKED_FROM


# The detail of a history fact about an item the person gave only as an example ("something like The Matrix"):
# it ranks as liked in the conversation, but the text says "like X", not "because you liked X".
EXAMPLE_DETAIL = "given as an example in this conversation"


def was_example(evidence: Evidence) -> bool:
    """Return whether a history fact is about an item the person named only as an example."""
    return evidence.kind == "liked_item" and evidence.detail == EXAMPLE_DETAIL


# The detail of a history fact about an item the assistant suggested earlier in the conversation (no reaction
# to it yet): it is not the person's history, and the text says it was suggested.
SHOWN_DETAIL = "suggested earlier in this conversation"


def was_shown(evidence: Evidence) -> bool:
    """Return whether a history fact is about an item only suggested earlier in the conversation."""
    return evidence.kind == "history_item" and evidence.detail == SHOWN_DETAIL


# A history item's content similarity (cosine of the content model's embeddings) from which the listed item
# counts as its neighbour, so the text may say "similar to X". Below it the similarity still adds to the score,
# but every film reads a little like every other. Measured with MiniLM on ML-100K: random pairs of films with
# no genre in common are at 0.45 (90th percentile 0.55), a film's 20th nearest neighbour at 0.65 (median).
NEIGHBOUR_SIMILARITY = 0.6
CITED_FACTS = ("attribute_match", "same_kind", "constraint", "popularity", "exploration", "llm_suggestion",
               "friend_liked")
ZERO_WEIGHT_FACTS = ("attribute_match", "constraint", "exploration", "llm_suggestion")


def lowers_score(evidence: Evidence) -> bool:
    """Return whether a fact pulled the score down (a dislike, a negative share, the popularity penalty)."""
    # The penalty's detail is rankers.base.POPULARITY_PENALTY; its share's sign follows the item's score.
    penalty = evidence.kind == "popularity" and (evidence.detail or "").startswith("popularity penalty")
    return evidence.kind == "disliked_item" or evidence.weight < 0 or penalty


def is_neighbour(evidence: Evidence) -> bool:
    """Return whether a content_similarity fact about an item makes the listed item that item's neighbour."""
    value = evidence.value
    return isinstance(value, (int, float)) and not isinstance(value, bool) and float(value) >= NEIGHBOUR_SIMILARITY


def merged_evidence(evidence: list[Evidence]) -> list[Evidence]:
    """Return evidence with one fact per item and role: an item two models both cite counts once, shares added.

    The conversation mix joins the behaviour model's and the dialogue model's facts, so one liked film can
    come twice ("because you liked Heat and Heat"); a like outranks mere history when the two disagree.
    """
    out: list[Evidence] = []
    at: dict[tuple[str, str], int] = {}
    for ev in evidence:
        role = "history" if ev.kind in HISTORY_KINDS else ev.kind
        if not ev.item_id or role not in ("history", "content_similarity"):
            out.append(ev)
            continue
        key = (role, ev.item_id)
        if key not in at:
            at[key] = len(out)
            out.append(ev)
            continue
        first = out[at[key]]
        kind = "liked_item" if "liked_item" in (first.kind, ev.kind) else first.kind
        value = first.value if first.value is not None else ev.value
        out[at[key]] = replace(first, kind=kind, weight=first.weight + ev.weight, value=value)
    return out


def cited_evidence(evidence: list[Evidence]) -> list[Evidence]:
    """Return the evidence a template explanation cites: top liked and similar items plus every other fact.

    Each item is cited once, facts that lowered the score never, and an item's content similarity only when
    it makes the listed item a neighbour (`is_neighbour`).
    """
    # Zero-weight facts (matched attributes, satisfied filters) are cited; anything that lowered the score is not.
    positive = [e for e in merged_evidence(evidence) if not lowers_score(e)
                and (e.weight > 0 or (e.weight == 0 and e.kind in ZERO_WEIGHT_FACTS))]
    liked = sorted((e for e in positive if e.kind in HISTORY_KINDS and (e.title or e.item_id)), key=lambda e: -e.weight)
    liked = liked[:MAX_LIKED]
    named = {e.item_id for e in liked}
    similar = sorted((e for e in positive if e.kind == "content_similarity"
                      and (not (e.item_id or e.title) or (e.item_id not in named and is_neighbour(e)))),
                     key=lambda e: -e.weight)
    # The domain asked for ("films", "products") is the kind of thing, not a reason to pick this one.
    rest = [e for e in positive if e.kind in CITED_FACTS and not (e.kind == "constraint" and e.attribute == "domain")]
    return liked + similar[:MAX_SIMILAR] + rest
