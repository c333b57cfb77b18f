"""Reading one assistant message: which catalog items it suggests, whether it asks something, whether it offers
suggestions. ConversationState only records the reading (`ConversationState.note_assistant`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import lexicon as lx
from .catalog import CatalogIndex
from .phrases import has_phrase
from .state import ConversationState
from .turn import parser_for


@dataclass(frozen=True)
class AssistantReading:
    """What one assistant message says, for the state: its text, the items it names, a question, an offer."""

    text: str
    item_ids: tuple[str, ...]  # named or shown, in order
    asks: bool  # "Want another?": a bare "yes" answers it
    offers: bool  # "May I suggest some comedies?": the conversation is about recommendations


def suggested_items(text: str, catalog: CatalogIndex) -> list[str]:
    """Return ids of the catalog items an assistant message names, in the order it names them."""
    return parser_for(catalog).titles_in(text)


def read_assistant(text: str, catalog: CatalogIndex, item_ids: list[str] | None = None) -> AssistantReading:
    """Return the reading of an assistant message; item_ids, when the caller knows what was shown, replace the
    titles linked from its text."""
    found = [str(i) for i in item_ids] if item_ids is not None else suggested_items(text, catalog)
    return AssistantReading(
        text=text,
        item_ids=tuple(found),
        asks="?" in text or "？" in text,
        offers=bool(has_phrase(text.lower(), lx.OFFER_CUES)),
    )


def apply_assistant(
    state: ConversationState,
    text: str,
    catalog: CatalogIndex,
    *,
    item_ids: list[str] | None = None,
    offered_relax: dict[str, Any] | None = None,
) -> list[str]:
    """Read one assistant message into the state; return the ids it shows (see `ConversationState.note_assistant`).

    offered_relax is the filter the message offered to drop, when the caller stored it."""
    return state.note_assistant(read_assistant(text, catalog, item_ids), offered_relax=offered_relax)
