"""Reading a whole dialogue: the person's turns and the assistant's suggestions, into one ConversationState."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..llm import LLMBackend
from .assistant import apply_assistant, suggested_items  # noqa: F401  (suggested_items re-exported)
from .catalog import CatalogIndex
from .result import Understanding
from .state import ConversationState
from .turn import understand

if TYPE_CHECKING:
    from .learned_reading import LearnedReading

USER_ROLES = ("user", "seeker", "human")
ASSISTANT_ROLES = ("assistant", "recommender", "bot", "system_reply")


def read_dialogue(
    messages: Iterable[Mapping[str, Any]],
    catalog: CatalogIndex,
    backend: LLMBackend | None = None,
    state: ConversationState | None = None,
    learned: LearnedReading | None = None,
) -> tuple[ConversationState, Understanding]:
    """Return (the state after every message, the Understanding of the last user message).

    messages are {"role": "user" | "assistant", "content": str} in order; an assistant message may carry
    "item_ids" (what was shown) to use instead of linking titles from its text, and "relax" (the filter it offered
    to drop). Other roles are skipped. Without
    any user message the Understanding is an empty chitchat one.
    """
    state = state or ConversationState()
    last = Understanding(intent="chitchat", language=state.language)
    for message in messages:
        role = (message.get("role") or "").lower()
        content = message.get("content") or ""
        if role in USER_ROLES:
            last = understand(content, state=state, catalog=catalog, backend=backend, learned=learned)
            state.apply(last)
        elif role in ASSISTANT_ROLES:
            ids = message.get("item_ids")
            apply_assistant(state, content, catalog, item_ids=list(ids) if ids is not None else None,
                            offered_relax=message.get("relax") or None)
    return state, last
