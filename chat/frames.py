"""The typed events of one chat turn and their websocket frames (docs/protocol.md), plus the collected result.

The websocket sends each event's `frame()` as it comes; the REST API collects the same events into a
`TurnResult`. A new frame type is a new class here with its `frame()`.
"""
from __future__ import annotations

from dataclasses import dataclass, field


def client_id(item_id: str) -> int | str:
    """Return an item id as clients see it (catalog ids are integers)."""
    return int(item_id) if item_id.isdigit() else item_id


@dataclass
class TurnStarted:
    intent: str
    language: str
    conversation: int | None
    understanding: dict

    def frame(self) -> dict:
        return {"type": "chat.start", "intent": self.intent, "language": self.language,
                "conversation": self.conversation, "understanding": self.understanding}


@dataclass
class ReplyPiece:
    text: str

    def frame(self) -> dict:
        return {"type": "chat.token", "text": self.text}


@dataclass
class ReplyReplaced:
    """The reply streamed so far is withdrawn: an LLM-written text failed its check (or its backend failed)."""

    text: str  # the reply that stands instead (the template's, built from facts)
    reason: str

    def frame(self) -> dict:
        return {"type": "chat.replace", "text": self.text, "reason": self.reason}


@dataclass
class ItemsListed:
    items: list[dict]  # item cards, best first
    strategy: str

    def frame(self) -> dict:
        return {"type": "chat.items", "items": self.items, "strategy": self.strategy}


@dataclass
class ItemExplained:
    item_id: str
    text: str
    evidence: list[dict]
    source: str
    # The explanation's knowledge chain as a page draws it (explain.chain_view: nodes, labelled links, paths in
    # the reply's language), or None when the evidence holds none.
    chain: dict | None = None

    def frame(self) -> dict:
        out: dict = {"type": "chat.explanation", "item_id": client_id(self.item_id), "text": self.text,
                     "evidence": self.evidence, "source": self.source}
        if self.chain is not None:
            out["chain"] = self.chain
        return out


@dataclass
class TurnDone:
    intent: str
    message_id: int | None
    stopped: bool
    suggestions: list[str]
    timings: dict
    rerank: dict | None = None
    user_message_id: int | None = None  # the stored user message (what `message.edit` names)

    def frame(self) -> dict:
        out = {"type": "chat.done", "intent": self.intent, "message_id": self.message_id, "stopped": self.stopped,
               "suggestions": self.suggestions, "timings": self.timings}
        if self.rerank is not None:
            out["rerank"] = self.rerank
        if self.user_message_id is not None:
            out["user_message_id"] = self.user_message_id
        return out


TurnEvent = TurnStarted | ReplyPiece | ReplyReplaced | ItemsListed | ItemExplained | TurnDone


@dataclass
class TurnResult:
    """A whole turn, collected: what the REST API answers."""

    intent: str = "recommend"
    language: str = "en"
    reply: str = ""
    understanding: dict = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)  # cards, each with its "explanation"
    suggestions: list[str] = field(default_factory=list)
    strategy: str = ""
    message_id: int | None = None
    stopped: bool = False
