"""The chat's writes and its one turn: read what a turn needs, run the engine's pipeline, stream, store.

`turn_start` returns a `TurnRun`; the websocket consumer streams its events as frames, the REST API collects
them (`TurnRun.collect`). Order of events in a turn (docs/protocol.md):

    chat.start -> chat.token* (the opening sentence) [-> chat.replace] -> chat.items -> chat.explanation* -> chat.done

`TurnRun.head()` yields up to the item list, `TurnRun.tail()` the explanations and the end, so a caller can
give the part that puts lists on screens more of the machine. A list's opening sentence is a template built
from facts; explanation paraphrases come after the item list. With CHATREC_LLM_REPLY, small talk and factual
answers are written by the LLM and streamed chunk by chunk as it writes them; the whole text is then checked,
and `chat.replace` withdraws it for the template reply when it fails.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chat import selectors, social_selectors
from chat.frames import (
    ItemExplained,
    ItemsListed,
    ReplyPiece,
    ReplyReplaced,
    TurnDone,
    TurnEvent,
    TurnResult,
    TurnStarted,
)
from chat.models import Conversation, Message
from recommender import selectors as serving
from recommender.engine import bandit, contextual, replies, rules
from recommender.engine.conversation import (
    ConversationTurn,
    TurnInput,
    TurnPlan,
    context_from_messages,
)
from recommender.engine.explain import chain_view, shown_evidence
from recommender.engine.understanding import ConversationState
from recommender.models import Interaction, Item, Profile
from recommender.services import policy
from recommender.services.feedback import interaction_record
from recommender.services.relations import relations_delete

log = logging.getLogger(__name__)

DEFAULT_K = rules.DEFAULT_K
MAX_K = rules.MAX_K
TITLE_CHARS = 60
WORDS_PER_CHUNK = 3
CJK_CHARS_PER_CHUNK = 6
TurnError = rules.TurnError
TITLE_MAX = 200
REPLY_RATINGS = (1, -1, 0)
ERROR_TITLE = "A title must be text of 1 to {limit} characters."
ERROR_REPLY_RATING = "A reply rating is 1 (thumbs up), -1 (thumbs down) or 0 (taken back)."
ERROR_NOT_A_USER_MESSAGE = "Only a message the person sent can be edited."


def request_check(text: Any, k: Any = DEFAULT_K) -> tuple[str, int]:
    """Return (text, k) of a turn request or raise TurnError: the one validator both adapters use.

    Text must be a non-empty string of at most CHATREC_MAX_MESSAGE_CHARS characters; k from 1 to MAX_K.
    """
    return rules.check_request(text, k, max_chars=settings.CHATREC_MAX_MESSAGE_CHARS)


def feedback_check(item: Any, kind: Any, value: Any = None, key: Any = None) -> tuple[int, str, float | None, str | None]:
    """Return (item, kind, value, key) of a feedback request or raise TurnError naming the field: the one feedback
    validator both adapters use (the rule is `recommender.engine.rules.check_feedback`)."""
    return rules.check_feedback(item, kind, value, key)


# ---------------------------------------------------------------- conversation state


@dataclass
class TurnState:
    """What a conversation carries between turns: the dialogue state and the last list shown (with evidence)."""

    context: ConversationState
    shown: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"context": self.context.to_dict(), "shown": self.shown}


def load_state(data: dict | None, language: str = "en") -> TurnState:
    """Return the turn state stored on a conversation (an empty one for a new conversation)."""
    data = data or {}
    try:
        context = ConversationState.from_dict(data["context"]) if data.get("context") else None
    except Exception:  # noqa: BLE001 - a state written by an older version restarts the context
        log.warning("discarding unreadable conversation state")
        context = None
    if context is None:
        context = ConversationState()
        context.language = language
    return TurnState(context=context, shown=list(data.get("shown") or []))


# ---------------------------------------------------------------- writes


def conversation_start(*, profile: Profile, language: str = "en") -> Conversation:
    """Create and return an empty conversation for the profile."""
    return Conversation.objects.create(profile=profile, language=rules.language_of(language))


def turn_store(*, conversation: Conversation, text: str, reply: str, plan: TurnPlan, items: list[dict],
               state: TurnState) -> int:
    """Store the user message, the assistant message (items, scores, evidence, understanding) and the new state.

    Returns the assistant message's id (`turn_write` returns both ids).
    """
    return turn_write(conversation=conversation, text=text, reply=reply, plan=plan, items=items, state=state)[1]


def turn_write(*, conversation: Conversation, text: str, reply: str, plan: TurnPlan, items: list[dict],
               state: TurnState) -> tuple[int, int]:
    """Store a turn as `turn_store` does; return (user message id, assistant message id)."""
    extra = dict(plan.extra)
    if plan.listing:
        extra["suggestions"] = plan.suggestions
    with transaction.atomic():
        question = Message.objects.create(conversation=conversation, role=Message.Role.USER, text=text,
                                          payload={"language": plan.language})
        message = Message.objects.create(
            conversation=conversation, role=Message.Role.ASSISTANT, text=reply,
            payload={"intent": plan.intent, "language": plan.language, "understanding": plan.understanding,
                     "items": items, "strategy": plan.strategy, "timings": plan.timings,
                     "stopped": plan.stopped, **extra},
        )
        conversation.state = state.to_dict()
        conversation.language = plan.language
        if not conversation.title:
            conversation.title = text[:TITLE_CHARS]
        conversation.save(update_fields=["state", "language", "title", "updated_at"])
    return question.pk, message.pk


def learned_reading(bundle: Any):
    """Return the learned reading of replies the model version carries, when the deployment turns it on."""
    return getattr(bundle, "learned", None) if settings.CHATREC_LEARNED_READING and bundle is not None else None


def state_from_messages(messages: list[Message], language: str = "en") -> TurnState:
    """Return the turn state rebuilt from a conversation's messages: the whole dialogue read in order (what each
    assistant message listed counts as its suggestions), and the last list shown (with its stored evidence)."""
    backend = serving.llm_backend()
    dialogue: list[dict] = []
    for m in messages:
        if m.role == Message.Role.USER:
            dialogue.append({"role": "user", "content": m.text})
        else:
            listed = [str(e["item_id"]) for e in (m.payload or {}).get("items") or []]
            dialogue.append({"role": "assistant", "content": m.text, "item_ids": listed,
                             "relax": (m.payload or {}).get("relax")})
    context = context_from_messages(dialogue, serving.serving_catalog(),
                                    backend if getattr(backend, "enabled", False) else None, language=language,
                                    learned=learned_reading(serving.active_bundle()))
    shown: list[dict] = []
    for m in reversed(messages):
        entries = (m.payload or {}).get("items") if m.role == Message.Role.ASSISTANT else None
        if entries:
            shown = [{"item_id": e["item_id"], "evidence": e.get("evidence", [])} for e in entries]
            break
    context.set_last_items(s["item_id"] for s in shown)
    return TurnState(context=context, shown=shown)


def conversation_rewind(*, conversation: Conversation, message: Message) -> Conversation:
    """Drop a user message and everything after it in its conversation, and rebuild the state from the rest.

    Likes and dislikes stated in the dropped messages' words go with them; button presses stay (they were
    made on items the person saw). The conversation then continues from the remaining messages.
    """
    if message.conversation_id != conversation.pk or message.role != Message.Role.USER:
        raise ValidationError(ERROR_NOT_A_USER_MESSAGE)
    with transaction.atomic():
        conversation.messages.filter(id__gte=message.pk).delete()
        Interaction.objects.filter(conversation=conversation, context__via=rules.STATED_VIA,
                                   occurred_at__gte=message.created_at).delete()
        remaining = list(conversation.messages.order_by("id"))
        conversation.state = state_from_messages(remaining, conversation.language).to_dict()
        conversation.save(update_fields=["state", "updated_at"])
    return conversation


def conversation_rename(*, conversation: Conversation, title: Any) -> Conversation:
    """Give a conversation a new title (trimmed, 1 to TITLE_MAX characters); raise ValidationError otherwise."""
    if not isinstance(title, str) or not title.strip() or len(title.strip()) > TITLE_MAX:
        raise ValidationError(ERROR_TITLE.format(limit=TITLE_MAX))
    conversation.title = title.strip()
    conversation.full_clean()
    conversation.save(update_fields=["title", "updated_at"])
    return conversation


def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation and its messages (feedback events stay, no longer linked to it)."""
    conversation.delete()


def reply_rate(*, message: Message, value: Any) -> Message:
    """Store thumbs up (1) or down (-1) on an assistant reply, or take it back (0 or None)."""
    if value is not None and (isinstance(value, bool) or value not in REPLY_RATINGS):
        raise ValidationError(ERROR_REPLY_RATING)
    message.rating = value or None
    message.rated_at = timezone.now() if value else None
    message.save(update_fields=["rating", "rated_at"])
    return message


def profile_data_delete(*, profile: Profile) -> dict[str, int]:
    """Delete the person's conversations (with their messages) and feedback events; return what was deleted."""
    with transaction.atomic():
        conversations = Conversation.objects.filter(profile=profile).count()
        messages = Message.objects.filter(conversation__profile=profile).count()
        events = Interaction.objects.filter(profile=profile).count()
        Interaction.objects.filter(profile=profile).delete()
        Conversation.objects.filter(profile=profile).delete()
        relations_delete(profile=profile)
    return {"conversations": conversations, "messages": messages, "feedback": events}


def stated_feedback_record(*, feedback: list[dict], profile: Profile, conversation: Conversation | None) -> None:
    """Store the likes and dislikes a person stated in a message as feedback events marked as stated
    (rules.STATED_VIA): they stay with this conversation; presses and ratings count everywhere."""
    rows = selectors.items_by_engine_id(f["item_id"] for f in feedback)
    for entry in feedback:
        item = rows.get(entry["item_id"])
        if item is not None:
            interaction_record(profile=profile, item=item, kind=entry["kind"], origin=Interaction.Origin.CHAT,
                               conversation=conversation, context={"via": rules.STATED_VIA})


def feedback_record(*, profile: Profile, item_id: int, kind: str, value: float | None = None,
                    client_key: str | None = None, conversation: Conversation | None = None,
                    origin: str = Interaction.Origin.CHAT) -> tuple[Interaction, bool]:
    """Record a card button press (or API call) as a feedback event; return (event, created).

    Feedback on an item of the conversation's last list is credited to the strategy that ranked it.
    """
    item = Item.objects.filter(pk=item_id).first()
    if item is None:
        raise ValidationError(f"Unknown item {item_id}.")
    context: dict[str, Any] = {"via": "button" if origin == Interaction.Origin.CHAT else "api"}
    if conversation is not None:
        context.update(selectors.last_listing(conversation=conversation, item_id=item_id))
    key = f"{profile.pk}:{client_key}" if client_key else None
    return interaction_record(profile=profile, item=item, kind=kind, value=value, origin=origin,
                              idempotency_key=key, conversation=conversation, context=context)


# ---------------------------------------------------------------- the turn


def reply_pieces(text: str) -> Iterator[str]:
    """Yield a sentence in pieces of a few words (or characters, for Chinese), the way a model streams."""
    if " " in text:
        words = re.findall(r"\S+\s*|\s+", text)
        for i in range(0, len(words), WORDS_PER_CHUNK):
            yield "".join(words[i:i + WORDS_PER_CHUNK])
    else:
        for i in range(0, len(text), CJK_CHARS_PER_CHUNK):
            yield text[i:i + CJK_CHARS_PER_CHUNK]


class TurnRun:
    """One turn in progress: `head()` streams up to the item list, `tail()` explanations, storage and the end."""

    def __init__(self, *, text: str, profile: Profile | None, conversation: Conversation | None, state: TurnState,
                 k: int, cancel: threading.Event | None, store: bool, dialogue: list[dict] | None = None,
                 explore: bool = False, always_list: bool = False):
        self.text, self.profile, self.conversation, self.state = text, profile, conversation, state
        self.cancel, self.store, self.explore = cancel, store, explore
        bundle = serving.active_bundle()
        backend = serving.llm_backend()
        enabled = backend if getattr(backend, "enabled", False) else None
        self.llm_rerank = bool(settings.CHATREC_LLM_RERANK and enabled)  # on every turn until the policy draws
        reads = settings.CHATREC_LLM_READ or settings.CHATREC_LLM_CANDIDATES
        if dialogue is None:  # the LLM reads the conversation's earlier messages; the rules need only the state
            dialogue = selectors.dialogue_messages(conversation=conversation) if reads and enabled else []
        self.turn = ConversationTurn(TurnInput(
            text=text, state=state.context, shown=state.shown, catalog=serving.serving_catalog(),
            history=selectors.history_profile(profile=profile), bundle=bundle,
            named_elsewhere=selectors.named_elsewhere(profile=profile, conversation=conversation),
            strategy="explore" if explore and bundle is not None else bandit.DEFAULT_STRATEGY,  # drawn in head()
            user_key=str(profile.pk) if profile is not None and profile.pk else None,
            backend=enabled, k=k, llm=replace(serving.llm_steps(), rerank=self.llm_rerank), dialogue=dialogue,
            learned=learned_reading(bundle),
            social=lambda: social_selectors.social_context(profile=profile),  # read by a social request only
            always_list=always_list,
        ))
        self.plan: TurnPlan | None = None
        self.choice: policy.Choice | None = None
        self.reply = ""  # what was sent of the reply
        self.cards: list[dict] = []
        self.listed = False
        self.stopped = False
        self.message_id: int | None = None
        self.user_message_id: int | None = None

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def _strategy_choice(self, understood) -> policy.Choice | None:
        """Draw the turn's ranking strategy from its context (or force the exploring one) and hand it to the turn."""
        inp = self.turn.inp
        if inp.bundle is None:
            return None
        history = list(inp.history.history or {}) or [*inp.history.liked, *inp.history.disliked]
        context = contextual.turn_context(
            intent=understood.intent, language=understood.language, understanding=understood.understanding,
            history_items=history, returning=bool(history) or bool(self.state.shown),
            catalog_size=len(inp.catalog.records), popularity=serving.item_popularity())
        if self.explore:
            choice = policy.forced_choice("explore", context)
        elif not self.store:  # nothing is logged, so no feedback could reward a draw: the best-rated strategy
            choice = policy.best_choice(context, llm_rerank=self.llm_rerank)
        else:
            choice = policy.strategy_choose_for(context, llm_rerank=self.llm_rerank)
        # With a model ranking, re-ranking is one of the policy's arms: the LLM reorders only the turns it drew.
        inp.strategy, inp.llm = choice.arm, replace(inp.llm, rerank=False)
        return choice

    def head(self) -> Iterator[TurnEvent]:
        """Yield the start, the opening sentence in pieces and, for a listing turn, the items."""
        understood = self.turn.understand()
        self.choice = self._strategy_choice(understood)
        yield TurnStarted(intent=understood.intent, language=understood.language,
                          conversation=self.conversation.pk if self.conversation else None,
                          understanding=understood.understanding)
        self.plan = plan = self.turn.plan()
        written = plan.written
        if self.explore and plan.listing and plan.items and written is None:
            # Say what regenerating gave: a different list, or the same picks when nothing else matches.
            new = {s.item_id for s in plan.items} - {s.get("item_id") for s in self.state.shown}
            plan.reply = replies.different_selection_note(plan.language, found=bool(new)) + plan.reply
        for piece in written.stream() if written is not None else reply_pieces(plan.reply):
            if self._cancelled():
                self.stopped = plan.stopped = True
                break
            self.reply += piece
            yield ReplyPiece(piece)
        if written is not None:
            yield from self._settle(written)
        if self.stopped:
            return
        if plan.listing:
            self.cards = selectors.item_cards([(s.item_id, s.score) for s in plan.items],
                                              self.turn.inp.catalog.records, plan.language, plan.extra.get("asked"))
            self.listed = True
            self.turn.mark("items")
            yield ItemsListed(items=self.cards, strategy=plan.strategy)

    def _settle(self, written) -> Iterator[TurnEvent]:
        """Check an LLM-written reply once it is whole; replace it with the template reply when it fails."""
        replacement = written.replacement()
        if replacement is not None:
            log.info("LLM-written reply withdrawn: %s", "; ".join(written.problems[:3]))
            self.reply = replacement
            yield ReplyReplaced(text=replacement, reason=written.problems[0])
        self.plan.reply = self.reply

    def tail(self) -> Iterator[TurnEvent]:
        """Yield each explanation, store the turn (with a conversation), then yield the end of the turn."""
        plan = self.plan
        if not self.stopped:
            for done in self.turn.explanations(stopped=self._cancelled):
                records = self.turn.inp.catalog.records
                yield ItemExplained(item_id=done.item_id, text=done.text, source=done.source,
                                    evidence=shown_evidence(done.evidence, records, plan.language),
                                    chain=chain_view(done.evidence, records, plan.language))
            self.stopped = plan.stopped
        self.turn.mark("total")
        # Likes said in words are stored in the turn's transaction, after its messages: a turn never stored (its
        # process stopped mid-way) leaves no feedback behind, and a rewind to the message drops them with it.
        with transaction.atomic():
            if self.store and self.conversation is not None:
                self.user_message_id, self.message_id = turn_write(
                    conversation=self.conversation, text=self.text, reply=self.reply, plan=plan,
                    items=plan.item_entries() if self.listed else [], state=self.state)
            # A stored list the policy's arm ranked (not the popularity fill), which feedback can point back to.
            if self.message_id is not None and self.listed and plan.items and self.choice is not None \
                    and plan.strategy == self.choice.arm:
                policy.list_log(choice=self.choice, items=[s.item_id for s in plan.items], profile=self.profile,
                                conversation=self.conversation, message_id=self.message_id)
            if plan.feedback and self.store and self.profile is not None:
                stated_feedback_record(feedback=plan.feedback, profile=self.profile, conversation=self.conversation)
        report = plan.extra.get("rerank")
        yield TurnDone(intent=plan.intent, message_id=self.message_id, stopped=self.stopped,
                       suggestions=plan.suggestions, timings=plan.timings, user_message_id=self.user_message_id,
                       rerank=None if report is None else {"applied": report.get("applied", False),
                                                           "ms": report.get("ms"), "reason": report.get("reason", "")})

    def events(self) -> Iterator[TurnEvent]:
        """Yield every event of the turn."""
        yield from self.head()
        yield from self.tail()

    def collect(self) -> TurnResult:
        """Run the whole turn and return it collected (the REST API's answer)."""
        for _ in self.events():
            pass
        plan = self.plan
        items = []
        for card in self.cards:
            done = plan.explained.get(str(card["id"]))
            items.append({**card, "explanation": done.text if done else ""})
        return TurnResult(intent=plan.intent, language=plan.language, reply=self.reply,
                          understanding=plan.understanding, items=items, suggestions=plan.suggestions,
                          strategy=plan.strategy, message_id=self.message_id, stopped=self.stopped)


def turn_start(*, text: Any, profile: Profile | None, conversation: Conversation | None = None,
               state: TurnState | None = None, k: Any = DEFAULT_K, cancel: threading.Event | None = None,
               store: bool = True, dialogue: list[dict] | None = None, explore: bool = False,
               always_list: bool = False) -> TurnRun:
    """Check the request, read what the turn needs and return it ready to run.

    With a conversation the turn continues its state and, when `store`, is stored with the new state when it
    ends. Likes stated in words are stored whenever `store` and a profile are given. `explore` (regenerate):
    the list is ranked under the exploring strategy, and the reply says it is a different selection; what the
    conversation already showed is left out as for any repeated request. `always_list`: a question or small
    talk is answered and the conversation's list follows (the REST recommend call). Raises TurnError.
    """
    text, k = request_check(text, k)
    if state is None:
        state = load_state(conversation.state if conversation else None,
                           conversation.language if conversation else "en")
    return TurnRun(text=text, profile=profile, conversation=conversation, state=state, k=k, cancel=cancel,
                   store=store, dialogue=dialogue, explore=explore, always_list=always_list)


# The earlier messages of a REST call read for context: the newest ones, up to this many times the message
# limit in characters. Reading a dialogue costs CPU in proportion to its text (title matching at every word), and
# a call may carry 50 messages: 100 KB of them cost seconds a call; a chat turn reads one message at a time.
CONTEXT_MESSAGES_CHARS = 4


def recent_context(messages: list[dict], max_chars: int) -> list[dict]:
    """Return the newest messages whose contents fit in max_chars together (whole messages, in order)."""
    kept, used = 0, 0
    for message in reversed(messages):
        used += len(message["content"])
        if used > max_chars:
            break
        kept += 1
    return messages[len(messages) - kept:]


def recommend_from_messages(*, messages: list[dict], profile: Profile | None, k: int = DEFAULT_K) -> TurnResult:
    """Return the answer to a message list: the other messages (both roles, the newest
    CONTEXT_MESSAGES_CHARS x CHATREC_MAX_MESSAGE_CHARS characters of them) build the context, the last user
    message is answered. What the assistant said after that message (a suggestion, a question) is context too.

    Stateless: nothing is stored. The answer always holds a list: a question about an item or small talk is
    answered in the reply, and the list the conversation supports so far follows.
    """
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=None)
    if last_user is None:
        raise TurnError("no_user_message", "Send at least one message with role 'user'.", field="messages")
    for message in messages:
        request_check(message["content"], k)
    backend = serving.llm_backend()
    budget = CONTEXT_MESSAGES_CHARS * settings.CHATREC_MAX_MESSAGE_CHARS
    earlier = [{**m, "item_ids": [str(i) for i in m["item_ids"]]} if m.get("item_ids") is not None else m
               for m in recent_context(messages[:last_user] + messages[last_user + 1:], budget)]
    context = context_from_messages(earlier, serving.serving_catalog(),
                                    backend if getattr(backend, "enabled", False) else None,
                                    learned=learned_reading(serving.active_bundle()))
    return turn_start(text=messages[last_user]["content"], profile=profile, state=TurnState(context=context), k=k,
                      store=False, dialogue=earlier, always_list=True).collect()
