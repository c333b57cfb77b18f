"""Nothing lost: what the server acknowledged to a client must be in the database afterwards.

A load or fault client records every acknowledgement it got: `chat.done` names the stored user and
assistant messages (`user_message_id`, `message_id`), `feedback.saved` the stored feedback event (`id`).
After the run, `check` reads which of those ids the database holds, and whether any conversation holds a
user message without its reply (a turn stores both in one transaction, so a half-stored turn is a bug).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class AckLog:
    """Ids the server acknowledged to the client, in the order it did."""

    messages: list[int] = field(default_factory=list)
    feedback: list[int] = field(default_factory=list)
    conversations: set[int] = field(default_factory=set)

    def turn_done(self, frame: dict, conversation: int | None) -> None:
        """Record a `chat.done` frame (a turn without a stored message names none)."""
        for key in ("user_message_id", "message_id"):
            if isinstance(frame.get(key), int):
                self.messages.append(frame[key])
        if conversation is not None:
            self.conversations.add(conversation)

    def feedback_saved(self, frame: dict) -> None:
        """Record a `feedback.saved` frame."""
        if isinstance(frame.get("id"), int):
            self.feedback.append(frame["id"])

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"messages": self.messages, "feedback": self.feedback,
                                    "conversations": sorted(self.conversations)}))


@dataclass
class Stored:
    """What the database holds of the acknowledged ids, and the conversations' message roles in order."""

    messages: set[int]
    feedback: set[int]
    roles: dict[int, list[str]]


def verdict(acks: AckLog, stored: Stored) -> dict:
    """Return the nothing-lost figures: acknowledged, missing, and conversations with a user message unanswered.

    A message or event counts once even if acknowledged twice (an idempotent feedback key answers with
    the same id). A conversation is half-stored when its roles do not alternate user, assistant.
    """
    messages, feedback = set(acks.messages), set(acks.feedback)
    half = sorted(c for c, roles in stored.roles.items()
                  if roles != ["user", "assistant"] * (len(roles) // 2) or len(roles) % 2)
    return {
        "messages_acked": len(messages), "messages_missing": len(messages - stored.messages),
        "feedback_acked": len(feedback), "feedback_missing": len(feedback - stored.feedback),
        "half_stored_conversations": len(half),
        "lost": len(messages - stored.messages) + len(feedback - stored.feedback) + len(half),
    }


def stored_from_database(acks: AckLog) -> Stored:
    """Read the acknowledged ids back through Django (the database of DATABASE_URL, as the server used)."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
    django.setup()
    from chat.models import Message
    from recommender.models import Interaction

    roles: dict[int, list[str]] = {c: [] for c in acks.conversations}
    for conversation, role in (Message.objects.filter(conversation_id__in=acks.conversations)
                               .order_by("conversation_id", "id").values_list("conversation_id", "role")):
        roles[conversation].append(role)
    return Stored(
        messages=set(Message.objects.filter(id__in=set(acks.messages)).values_list("id", flat=True)),
        feedback=set(Interaction.objects.filter(id__in=set(acks.feedback)).values_list("id", flat=True)),
        roles=roles,
    )


def check(acks: AckLog) -> dict:
    """Return `verdict` against the database."""
    return verdict(acks, stored_from_database(acks))
