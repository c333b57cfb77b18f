"""Conversational understanding in English and Chinese, grounded in the catalog.

Entry points: understand(text, state=..., catalog=..., backend=...) -> Understanding for one user turn;
read_dialogue(messages, catalog, backend=None) -> (ConversationState, Understanding) for a whole dialogue (user and
assistant messages); apply_soft_preferences(scored, records, prefer, avoid) to re-rank by free-form preferences.
"""
from __future__ import annotations

from .assistant import apply_assistant, read_assistant
from .catalog import CatalogIndex
from .dialogue import read_dialogue, suggested_items
from .result import INTENTS, ItemRef, Understanding
from .soft import apply_soft_preferences
from .state import ConversationState
from .turn import _llm_inflight, understand  # noqa: F401  (_llm_inflight: the background translation, for tests)

__all__ = ["INTENTS", "CatalogIndex", "ConversationState", "ItemRef", "Understanding", "apply_assistant",
           "apply_soft_preferences", "read_assistant", "read_dialogue", "suggested_items", "understand"]
