"""One conversational turn, end to end, as a stream of events; plus conversations and feedback from the chat.

`run_turn` is shared by the websocket consumer (which streams each event as a frame) and the REST API
(which collects them). Order of events in a turn:

    chat.start -> chat.token* (the opening sentence) -> chat.items -> chat.explanation* -> chat.done

The opening sentence is a template built from facts, so it costs nothing; any text written by an LLM
(explanation paraphrases) comes after the item list.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from django.conf import settings
from django.db import transaction

from chat import engine_access, fallbacks, replies
from chat.followups import ordinal_pick, resolve_followup
from chat.models import Conversation, Message
from chat.rerank import RERANK_POOL, rerank_with_llm
from recommender.engine import bandit
from recommender.engine import explain as explain_pkg
from recommender.engine.catalog import NEUTRAL_WEIGHT
from recommender.engine.understanding import ConversationState, understand
from recommender.engine.types import Constraints, Evidence, ItemRecord, Profile as EngineProfile, ScoredItem
from recommender.models import Interaction, Item, Profile
from recommender.services import policy
from recommender.services.feedback import interaction_record

log = logging.getLogger(__name__)

DEFAULT_K = 10
MAX_K = 100
HISTORY_LIMIT = 300
TITLE_CHARS = 60
INTENTS = ("recommend", "ask_info", "feedback", "chitchat")



class TurnError(Exception):
    """A turn that cannot run (e.g. empty text); `code` is the error code clients see."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class TurnState:
    """What a conversation carries between turns: the understanding state and the last list shown."""

    context: Any
    shown: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"context": self.context.to_dict(), "shown": self.shown}


def new_context(language: str = "en"):
    """Return an empty understanding state."""
    state = ConversationState()
    state.language = language
    return state


def load_state(data: dict | None, language: str = "en") -> TurnState:
    """Return the turn state stored on a conversation (an empty one for a new conversation)."""
    data = data or {}
    try:
        context = ConversationState.from_dict(data["context"]) if data.get("context") else new_context(language)
    except Exception:  # noqa: BLE001 - a state written by an older version restarts the context
        log.warning("discarding unreadable conversation state")
        context = new_context(language)
    return TurnState(context=context, shown=list(data.get("shown") or []))


# ---------------------------------------------------------------- helpers


def _understand(text: str, state: TurnState, records: dict[str, ItemRecord]):
    """Return the understanding of one message in the conversation's context."""
    backend = engine_access.llm_backend()
    return understand(text, state=state.context, catalog=engine_access.catalog_index(),
                      backend=backend if getattr(backend, "enabled", False) else None)


def _profile_history(profile: Profile | None) -> EngineProfile:
    """Return the person's stored feedback as an engine profile (likes, dislikes, rating weights)."""
    out = EngineProfile()
    if profile is None or profile.pk is None:
        return out
    rows = (
        Interaction.objects.filter(profile=profile)
        .order_by("-occurred_at")
        .values_list("item_id", "kind", "value")[:HISTORY_LIMIT]
    )
    for item_id, kind, value in rows:
        key = str(item_id)
        if kind == "dislike" or (kind == "rating" and value is not None and value <= 2):
            if key not in out.disliked and key not in out.liked:
                out.disliked.append(key)
        elif kind in ("like", "favourite", "purchase") or (kind == "rating" and value is not None and value >= 4):
            if key not in out.liked and key not in out.disliked:
                out.liked.append(key)
        elif key not in out.history:
            out.history[key] = NEUTRAL_WEIGHT  # seen, neither liked nor disliked
    return out


def _merged_profile(context, stored: EngineProfile) -> EngineProfile:
    """Return conversation preferences merged over stored history (the conversation wins on conflicts)."""
    talk = context.profile()
    disliked = list(dict.fromkeys([*talk.disliked, *[i for i in stored.disliked if i not in talk.liked]]))
    liked = list(dict.fromkeys([*talk.liked, *[i for i in stored.liked if i not in disliked]]))
    history = {k: v for k, v in stored.history.items() if k not in liked and k not in disliked}
    return EngineProfile(liked=liked, disliked=disliked, history=history, query_text=talk.query_text)


def _satisfies(records: dict[str, ItemRecord], constraints: Constraints, ids: list[str]) -> list[str]:
    """Return the ids that meet every hard constraint exactly (rankers are checked, not trusted)."""
    if constraints.is_empty():
        return ids
    catalog = fallbacks._catalog(records)
    mask = catalog.constraint_mask(constraints)
    return [i for i in ids if i in catalog.item_index and mask[catalog.item_index[i]]]


def _rank(records, profile: Profile | None, context, u, k: int):
    """Return (scored items satisfying the constraints, strategy name, evidence filler).

    The model ranks without evidence first so the list can be shown at once; the filler adds each
    item's evidence afterwards (the costly part: per-item score contributions). The bandit picks the
    ranking strategy; feedback on the items shown is credited to it.
    """
    constraints = context.constraints()
    person = _merged_profile(context, _profile_history(profile))
    pool = max(k, RERANK_POOL) if settings.CHATREC_LLM_RERANK else k
    bundle = engine_access.active_bundle()
    user_key = str(profile.pk) if profile is not None and profile.pk else None
    scored: list[ScoredItem] = []
    strategy = "popularity"
    fill = _no_fill
    if bundle is not None:
        try:
            candidates = max(pool, bandit.CANDIDATE_POOL)
            strategy = policy.strategy_choose()
            scored = bundle.recommend(user_key=user_key, profile=person, constraints=constraints, n=candidates,
                                      with_evidence=False)
            scored = bandit.apply_strategy(scored, strategy, pool)
            fill = _bundle_filler(bundle, user_key, person, constraints)
        except Exception:  # noqa: BLE001 - fall back to popularity rather than fail the turn
            log.exception("model recommend failed; serving popularity")
            scored = []
    if not scored:
        keywords = list(getattr(u, "keywords", []) or [])
        scored = fallbacks.popular_items(records, constraints=constraints, profile=person, n=pool, keywords=keywords)
        strategy, fill = "popularity", _no_fill
    allowed = set(_satisfies(records, constraints, [s.item_id for s in scored]))
    excluded = set(person.disliked)
    kept = [s for s in scored if s.item_id in allowed and s.item_id not in excluded and s.item_id in records]
    return kept, strategy, fill


def _no_fill(items: list[ScoredItem]) -> None:
    """Evidence is already there."""


def _bundle_filler(bundle, user_key, person, constraints):
    """Return a function that adds the model's evidence to the items it ranked (exploration labels kept)."""
    def fill(items: list[ScoredItem]) -> None:
        try:
            found = bundle.evidence_for([s.item_id for s in items], user_key=user_key, profile=person,
                                        constraints=constraints)
        except Exception:  # noqa: BLE001 - items stay, explanations fall back to their generic text
            log.exception("model evidence failed")
            return
        for s in items:
            exploration = [e for e in s.evidence if e.kind == "exploration"]
            s.evidence = found.get(s.item_id, []) + exploration

    return fill


def _titles_for(evidence: list[Evidence], records: dict[str, ItemRecord], language: str) -> dict[str, str]:
    return {e.item_id: replies.display_title(records[e.item_id], language)
            for e in evidence if e.item_id and e.item_id in records}


def explanation_for(record: ItemRecord, evidence: list[Evidence], records: dict[str, ItemRecord], language: str,
                    summary: str = "", backend=None) -> tuple[str, str]:
    """Return (text, source) explaining an item from its evidence only; source is "template" or "llm"."""
    titles = _titles_for(evidence, records, language)
    try:
        if backend is not None and getattr(backend, "enabled", False) and settings.CHATREC_LLM_EXPLAIN:
            result = explain_pkg.paraphrase(record, evidence, language=language, backend=backend, catalog=records,
                                            catalog_titles=titles)
            return result.text, result.source
        return explain_pkg.explain_text(record, evidence, language=language, request_summary=summary,
                                        catalog_titles=titles), "template"
    except Exception:  # noqa: BLE001 - a reason that claims nothing is better than a failed turn
        log.exception("explanation failed; using a generic reason")
    return replies.generic_explanation(language), "template"


def item_card(record: ItemRecord, item: Item | None, score: float, rank: int, language: str) -> dict:
    """Return the JSON an item card needs."""
    return {
        "id": int(record.item_id) if record.item_id.isdigit() else record.item_id,
        "external_id": item.external_id if item else "",
        "title": record.title,
        "display_title": replies.display_title(record, language),
        "domain": record.domain,
        "score": round(float(score), 6),
        "rank": rank,
        "attributes": record.attributes,
        "image_url": item.image_url if item else "",
    }


WORDS_PER_CHUNK = 3
CJK_CHARS_PER_CHUNK = 6


def _chunks(text: str) -> Iterator[str]:
    """Yield a sentence in pieces of a few words (or characters, for Chinese), the way a model streams."""
    if " " in text:
        words = re.findall(r"\S+\s*|\s+", text)
        for i in range(0, len(words), WORDS_PER_CHUNK):
            yield "".join(words[i:i + WORDS_PER_CHUNK])
    else:
        for i in range(0, len(text), CJK_CHARS_PER_CHUNK):
            yield text[i:i + CJK_CHARS_PER_CHUNK]


# ---------------------------------------------------------------- the turn


@dataclass
class Turn:
    """Everything one turn produced, for storing."""

    intent: str = "recommend"
    language: str = "en"
    reply: str = ""
    understanding: dict = field(default_factory=dict)
    items: list[dict] = field(default_factory=list)
    strategy: str = ""
    extra: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    stopped: bool = False


def run_turn(
    *,
    text: str,
    profile: Profile | None,
    conversation: Conversation | None = None,
    state: TurnState | None = None,
    k: int = DEFAULT_K,
    cancel: threading.Event | None = None,
    store: bool = True,
) -> Iterator[dict]:
    """Yield the events of one turn; with a conversation, store the turn and its new state when it ends."""
    text = (text or "").strip()
    if not text:
        raise TurnError("empty_message", "The message is empty.")
    if len(text) > settings.CHATREC_MAX_MESSAGE_CHARS:
        raise TurnError("message_too_long", f"Messages are limited to {settings.CHATREC_MAX_MESSAGE_CHARS} characters.")
    k = max(1, min(int(k), MAX_K))
    if state is None:
        state = load_state(conversation.state if conversation else None,
                           conversation.language if conversation else "en")
    started = time.perf_counter()
    turn = Turn()
    records = engine_access.item_records()
    stopped = (lambda: cancel is not None and cancel.is_set())

    def mark(stage: str) -> None:
        turn.timings[stage] = round((time.perf_counter() - started) * 1000, 1)

    u = _understand(text, state, records)
    mark("understood")
    lang = replies.lang_of(getattr(u, "language", "en"))
    intent = getattr(u, "intent", "recommend")
    turn.language, turn.understanding = lang, u.to_dict()
    turn.intent = intent if intent in INTENTS else "recommend"
    yield {"type": "chat.start", "intent": turn.intent, "language": lang,
           "conversation": conversation.pk if conversation else None, "understanding": turn.understanding}

    backend = None
    followup = resolve_followup(text, state.shown, records, lang) if fallbacks.is_why_question(text) else None
    if followup is None:  # a "why?" question is not feedback on the item it names
        state.context.apply(u)
    if followup is not None:
        turn.intent = "ask_info"
        record = records[followup["item_id"]]
        evidence = [Evidence(**e) for e in followup.get("evidence", [])]
        body, _ = explanation_for(record, evidence, records, lang)
        title = replies.display_title(record, lang)
        turn.reply = f"《{title}》：{body}" if lang == "zh" else f"{title}: {body}"
        turn.extra["followup"] = record.item_id
        yield from _stream_reply(turn, stopped)
        if not turn.stopped:
            yield {"type": "chat.explanation", "item_id": int(record.item_id) if record.item_id.isdigit() else record.item_id,
                   "text": body, "evidence": followup.get("evidence", []), "source": "template"}
    elif turn.intent == "chitchat":
        turn.reply = replies.chitchat_reply(text, lang)
        yield from _stream_reply(turn, stopped)
    elif turn.intent == "ask_info":
        record = _referenced_record(u, state, records, text)
        turn.reply = replies.ask_info_reply(record, getattr(u, "ask_field", None), lang)
        turn.extra["about"] = record.item_id if record else None
        yield from _stream_reply(turn, stopped)
    else:
        refs = refs_of(u)
        # "I loved Fargo, something similar" states a like as much as "I loved Fargo" does.
        recorded = _record_feedback_refs(refs, profile, conversation, store)
        if recorded:
            turn.extra["feedback"] = recorded
        scored, turn.strategy, fill_evidence = _rank(records, profile, state.context, u, k)
        mark("ranked")
        if settings.CHATREC_LLM_RERANK:
            backend = engine_access.llm_backend()
            scored, turn.extra["rerank"] = rerank_with_llm(scored, records, text, backend, k)
            mark("reranked")
        scored = scored[:k]
        summary = replies.request_summary(state.context.constraints().to_dict(), lang)
        domain = getattr(u, "domain", None) or (records[scored[0].item_id].domain if scored else None)
        if turn.intent == "feedback":
            liked = [r["title"] for r in refs if r.get("sentiment") == "liked"]
            disliked = [r["title"] for r in refs if r.get("sentiment") == "disliked"]
            turn.reply = replies.feedback_reply(liked, disliked, lang) if (liked or disliked) else \
                replies.recommend_reply(len(scored), summary, domain, lang)
        else:
            turn.reply = replies.recommend_reply(len(scored), summary, domain, lang)
        # Say so when a named title is not in the catalog, rather than silently ranking without it.
        turn.reply = replies.unknown_titles_note(list(getattr(u, "unknown_titles", []) or []), lang) + turn.reply
        yield from _stream_reply(turn, stopped)
        if not turn.stopped:
            items = {str(i.pk): i for i in Item.objects.filter(pk__in=[int(s.item_id) for s in scored if s.item_id.isdigit()])}
            cards = [item_card(records[s.item_id], items.get(s.item_id), s.score, rank + 1, lang)
                     for rank, s in enumerate(scored)]
            mark("items")
            yield {"type": "chat.items", "items": cards, "strategy": turn.strategy}
            fill_evidence(scored)
            mark("evidence")
            turn.items = [{"item_id": s.item_id, "score": s.score, "evidence": [e.to_dict() for e in s.evidence],
                           "sources": dict(s.sources), "explanation": ""} for s in scored]
            if settings.CHATREC_LLM_EXPLAIN and backend is None:
                backend = engine_access.llm_backend()
            for entry, s in zip(turn.items, scored):
                if stopped():
                    turn.stopped = True
                    break
                body, source = explanation_for(records[s.item_id], s.evidence, records, lang, summary, backend)
                entry["explanation"], entry["explanation_source"] = body, source
                yield {"type": "chat.explanation", "item_id": int(s.item_id) if s.item_id.isdigit() else s.item_id,
                       "text": body, "evidence": entry["evidence"], "source": source}
            state.context.set_last_items([s.item_id for s in scored])
            if scored:
                state.shown = [{"item_id": e["item_id"], "evidence": e["evidence"]} for e in turn.items]
        turn.extra["suggestions"] = replies.suggestions(domain, bool(scored), lang)
    mark("total")
    message_id = None
    if store and conversation is not None:
        message_id = _store_turn(conversation, text, turn, state)
    done = {"type": "chat.done", "intent": turn.intent, "message_id": message_id, "stopped": turn.stopped,
            "suggestions": turn.extra.get("suggestions") or replies.suggestions(None, False, lang),
            "timings": turn.timings}
    if "rerank" in turn.extra:
        report = turn.extra["rerank"]
        done["rerank"] = {"applied": report.get("applied", False), "ms": report.get("ms"),
                          "reason": report.get("reason", "")}
    yield done


def _stream_reply(turn: Turn, stopped) -> Iterator[dict]:
    """Yield the reply as token events, stopping early when asked."""
    sent = []
    for piece in _chunks(turn.reply):
        if stopped():
            turn.stopped = True
            turn.reply = "".join(sent)
            return
        sent.append(piece)
        yield {"type": "chat.token", "text": piece}


def refs_of(u) -> list[dict]:
    """Return the understanding's referenced items as plain dicts."""
    return [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in getattr(u, "referenced_items", None) or []]


def _referenced_record(u, state: TurnState, records: dict[str, ItemRecord], text: str) -> ItemRecord | None:
    """Return the item a factual question is about: a title in the text, else an ordinal into the last list."""
    for ref in refs_of(u):
        if ref.get("item_id") in records:
            return records[ref["item_id"]]
    shown = [records[s["item_id"]] for s in state.shown if s.get("item_id") in records]
    return ordinal_pick(text, shown) if shown else None


def _record_feedback_refs(refs: list[dict], profile: Profile | None, conversation, store: bool) -> list[dict]:
    """Store like/dislike events for items the person talked about; return what was recorded."""
    done = []
    for ref in refs:
        kind = {"liked": "like", "disliked": "dislike"}.get(ref.get("sentiment"))
        if not kind or not str(ref.get("item_id", "")).isdigit():
            continue
        done.append({"item_id": ref["item_id"], "kind": kind})
        if not store or profile is None:
            continue
        item = Item.objects.filter(pk=int(ref["item_id"])).first()
        if item is not None:
            interaction_record(profile=profile, item=item, kind=kind, origin=Interaction.Origin.CHAT,
                               conversation=conversation, context={"via": "message"})
    return done


def _store_turn(conversation: Conversation, text: str, turn: Turn, state: TurnState) -> int:
    """Store the user message, the assistant message (items, scores, evidence, understanding) and the new state."""
    with transaction.atomic():
        Message.objects.create(conversation=conversation, role=Message.Role.USER, text=text,
                               payload={"language": turn.language})
        reply = Message.objects.create(
            conversation=conversation, role=Message.Role.ASSISTANT, text=turn.reply,
            payload={"intent": turn.intent, "language": turn.language, "understanding": turn.understanding,
                     "items": turn.items, "strategy": turn.strategy, "timings": turn.timings,
                     "stopped": turn.stopped, **turn.extra},
        )
        conversation.state = state.to_dict()
        conversation.language = turn.language
        if not conversation.title:
            conversation.title = text[:TITLE_CHARS]
        conversation.save(update_fields=["state", "language", "title", "updated_at"])
    return reply.pk


# ---------------------------------------------------------------- stateless turns (REST API)


def recommend_from_messages(*, messages: list[dict], profile: Profile | None, k: int = DEFAULT_K) -> dict:
    """Return the API answer for a message list: earlier user messages build the context, the last one is answered."""
    user_texts = [m["content"] for m in messages if m.get("role") == "user"]
    if not user_texts:
        raise TurnError("no_user_message", "Send at least one message with role 'user'.")
    records = engine_access.item_records()
    state = load_state(None)
    for text in user_texts[:-1]:
        state.context.apply(_understand(text, state, records))
    out: dict[str, Any] = {"intent": "recommend", "reply": "", "items": [], "understanding": {}}
    explanations: dict = {}
    for event in run_turn(text=user_texts[-1], profile=profile, state=state, k=k, store=False):
        kind = event["type"]
        if kind == "chat.start":
            out["intent"], out["understanding"] = event["intent"], event["understanding"]
        elif kind == "chat.token":
            out["reply"] += event["text"]
        elif kind == "chat.items":
            out["items"] = event["items"]
        elif kind == "chat.explanation":
            explanations[event["item_id"]] = event["text"]
        elif kind == "chat.done":
            out["suggestions"] = event["suggestions"]
    for card in out["items"]:
        card["explanation"] = explanations.get(card["id"], "")
    return out


# ---------------------------------------------------------------- conversations and feedback


def conversation_start(*, profile: Profile, language: str = "en") -> Conversation:
    """Create and return an empty conversation for the profile."""
    return Conversation.objects.create(profile=profile, language=replies.lang_of(language))


def conversation_for(*, profile: Profile, conversation_id: int | None) -> Conversation | None:
    """Return the profile's own conversation with that id, or None (never someone else's)."""
    if conversation_id is None:
        return None
    return Conversation.objects.filter(pk=conversation_id, profile=profile).first()


def conversation_list(*, profile: Profile, limit: int = 30) -> list[dict]:
    """Return the profile's recent conversations, newest first."""
    rows = Conversation.objects.filter(profile=profile).order_by("-updated_at")[:limit]
    return [{"id": c.pk, "title": c.title or "", "updated_at": c.updated_at.isoformat()} for c in rows]


def conversation_history(*, conversation: Conversation) -> list[dict]:
    """Return the conversation's messages with item cards and explanations, for redisplay."""
    records = engine_access.item_records()
    out = []
    messages = list(conversation.messages.all())
    ids = {int(i["item_id"]) for m in messages for i in (m.payload or {}).get("items", []) if str(i.get("item_id")).isdigit()}
    items = {str(i.pk): i for i in Item.objects.filter(pk__in=ids)}
    for m in messages:
        entry = {"id": m.pk, "role": m.role, "text": m.text, "items": []}
        lang = (m.payload or {}).get("language", "en")
        for rank, it in enumerate((m.payload or {}).get("items", []), start=1):
            record = records.get(it["item_id"])
            if record is None:
                continue
            card = item_card(record, items.get(it["item_id"]), it.get("score", 0.0), rank, lang)
            card["explanation"] = it.get("explanation", "")
            card["evidence"] = it.get("evidence", [])
            entry["items"].append(card)
        out.append(entry)
    return out


def feedback_from_chat(*, profile: Profile, item_id: int, kind: str, value: float | None = None,
                       client_key: str | None = None, conversation: Conversation | None = None,
                       origin: str = Interaction.Origin.CHAT) -> tuple[Interaction, bool]:
    """Record a card button press (or API call) as a feedback event; return (event, created)."""
    item = Item.objects.filter(pk=item_id).first()
    if item is None:
        from django.core.exceptions import ValidationError

        raise ValidationError(f"Unknown item {item_id}.")
    context: dict[str, Any] = {"via": "button" if origin == Interaction.Origin.CHAT else "api"}
    if conversation is not None:
        last = conversation.messages.filter(role=Message.Role.ASSISTANT).order_by("-id").first()
        if last is not None:
            for rank, entry in enumerate((last.payload or {}).get("items", []), start=1):
                if entry.get("item_id") == str(item_id):
                    context.update(rank=rank, strategy=last.payload.get("strategy", ""), message=last.pk)
    key = f"{profile.pk}:{client_key}" if client_key else None
    return interaction_record(profile=profile, item=item, kind=kind, value=value, origin=origin,
                              idempotency_key=key, conversation=conversation, context=context)
