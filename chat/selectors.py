"""Reads for the chat: a person's history as the engine sees it, conversations, item cards, redisplay."""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection
from django.db.models import CharField, Count, F, Func, IntegerField, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, TruncDate

from chat.models import Conversation, Message
from recommender import selectors as serving
from recommender.engine import rules
from recommender.engine.dialogues import LIKED_WEIGHT as MENTION_LIKED_WEIGHT
from recommender.engine.explain import chain_view, shown_evidence
from recommender.engine.explain.template import value_text
from recommender.engine.types import ItemRecord
from recommender.engine.types import Profile as EngineProfile
from recommender.models import Interaction, Item, Profile, ShownList, stated_in_chat

HISTORY_LIMIT = 300


def history_profile(*, profile: Profile | None) -> EngineProfile:
    """Return the person's latest stored feedback as an engine profile, graded by `rules.grade`.

    The newest event about an item decides its grade; liked and disliked items are listed, items only seen
    carry the neutral weight in `history`. Likes and dislikes read from chat words are left out: they stay with
    the conversation they were said in (rules.STATED_VIA), so another conversation is never explained by them.
    """
    out = EngineProfile()
    if profile is None or profile.pk is None:
        return out
    rows = (
        Interaction.objects.filter(profile=profile)
        .exclude(stated_in_chat())
        .order_by("-occurred_at")
        .values_list("item_id", "kind", "value")[:HISTORY_LIMIT]
    )
    decided: set[str] = set()
    for item_id, kind, value in rows:
        key = str(item_id)
        grade = rules.grade(kind, value)
        if rules.is_retraction(kind) and key not in decided:
            # A newer take-back decides: the like or dislike before it no longer counts.
            decided.add(key)
            out.history.setdefault(key, rules.NEUTRAL_WEIGHT)
        elif grade == rules.DISLIKED and key not in decided:
            out.disliked.append(key)
            decided.add(key)
        elif grade == rules.LIKED and key not in decided:
            out.liked.append(key)
            decided.add(key)
        elif grade == rules.SEEN and key not in decided and key not in out.history:
            out.history[key] = rules.NEUTRAL_WEIGHT
    return out


def named_elsewhere(*, profile: Profile | None, conversation: Conversation | None) -> list[str]:
    """Return the items whose like or dislike the person stated in words in other conversations (newest first).

    They are kept off this conversation's lists but never explain them (rules.STATED_VIA)."""
    if profile is None or profile.pk is None:
        return []
    rows = Interaction.objects.filter(stated_in_chat(), profile=profile)
    if conversation is not None and conversation.pk is not None:
        rows = rows.exclude(conversation=conversation)
    ids = rows.order_by("-occurred_at").values_list("item_id", flat=True)[:HISTORY_LIMIT]
    return list(dict.fromkeys(str(i) for i in ids))


def _asked_first(attributes: dict, asked: Mapping[str, list]) -> tuple[dict, list[str]]:
    """Return the attributes with the asked values first in each list, and the asked values the item has."""
    ordered, matched = dict(attributes), []
    for attribute, wanted in asked.items():
        have = attributes.get(attribute)
        values = have if isinstance(have, list) else [have] if have not in (None, "") else []
        keys = {str(w).casefold() for w in wanted}
        hits = [v for v in values if str(v).casefold() in keys]
        matched += [v for v in hits if v not in matched]
        if isinstance(have, list) and hits:
            ordered[attribute] = hits + [v for v in have if v not in hits]
    return ordered, matched


def item_card(record: ItemRecord, item: Item | None, score: float, rank: int, language: str,
              asked: Mapping[str, list] | None = None) -> dict:
    """Return the JSON an item card needs.

    With `asked` (the attributes the request was about), each attribute list starts with the asked values, so
    a card that shows a few genres shows the ones asked for, and `highlights` names them in the card's language.
    """
    attributes, matched = _asked_first(record.attributes, asked or {})
    return {
        "id": int(record.item_id) if record.item_id.isdigit() else record.item_id,
        "external_id": item.external_id if item else "",
        "title": record.title,
        "display_title": rules.display_title(record, language),
        "domain": record.domain,
        "score": round(float(score), 6),
        "rank": rank,
        "attributes": attributes,
        "highlights": [value_text(v, language) for v in matched],
        "image_url": item.image_url if item else "",
    }


def items_by_engine_id(item_ids: Iterable[str]) -> dict[str, Item]:
    """Return the catalog rows behind engine ids (unknown and non-numeric ids are left out)."""
    pks = {int(i) for i in item_ids if str(i).isdigit()}
    return {str(item.pk): item for item in Item.objects.filter(pk__in=pks)}


def item_cards(entries: list[tuple[str, float]], records: Mapping[str, ItemRecord], language: str,
               asked: Mapping[str, list] | None = None) -> list[dict]:
    """Return the cards for (engine id, score) pairs in list order, ranks from 1; ids not in records are skipped."""
    rows = items_by_engine_id(item_id for item_id, _ in entries)
    known = [(item_id, score) for item_id, score in entries if item_id in records]
    return [item_card(records[item_id], rows.get(item_id), score, rank, language, asked)
            for rank, (item_id, score) in enumerate(known, start=1)]


def conversation_for(*, profile: Profile, conversation_id: int | None) -> Conversation | None:
    """Return the profile's own conversation with that id, or None (never someone else's)."""
    if conversation_id is None:
        return None
    return Conversation.objects.filter(pk=conversation_id, profile=profile).first()


def conversation_list(*, profile: Profile, limit: int = 30, query: str = "") -> list[dict]:
    """Return the profile's recent conversations, newest first; with a query, those whose title or text has it."""
    rows = Conversation.objects.filter(profile=profile)
    if query.strip():
        words = query.strip()
        rows = rows.filter(Q(title__icontains=words) | Q(messages__text__icontains=words)).distinct()
    rows = rows.order_by("-updated_at")[:limit]
    return [{"id": c.pk, "title": c.title or "", "updated_at": c.updated_at.isoformat()} for c in rows]


def conversation_history(*, conversation: Conversation) -> list[dict]:
    """Return the conversation's messages with item cards and explanations, for redisplay."""
    records = serving.item_records()
    messages = list(conversation.messages.all())
    rows = items_by_engine_id(str(i.get("item_id")) for m in messages for i in (m.payload or {}).get("items", []))
    pressed = buttons_pressed(profile_id=conversation.profile_id, item_ids=[int(pk) for pk in rows])
    out = []
    for m in messages:
        entry = {"id": m.pk, "role": m.role, "text": m.text, "items": []}
        if m.role == Message.Role.ASSISTANT:
            entry["rating"] = m.rating
        lang = (m.payload or {}).get("language", "en")
        for rank, it in enumerate((m.payload or {}).get("items", []), start=1):
            record = records.get(it["item_id"])
            if record is None:
                continue
            card = item_card(record, rows.get(it["item_id"]), it.get("score", 0.0), rank, lang,
                             (m.payload or {}).get("asked"))
            card["explanation"] = it.get("explanation", "")
            card["evidence"] = shown_evidence(it.get("evidence", []), records, lang)
            card["chain"] = chain_view(it.get("evidence", []), records, lang)
            card["pressed"] = pressed.get(str(it["item_id"]), [])
            entry["items"].append(card)
        out.append(entry)
    return out


DIALOGUE_MESSAGES = 20  # what an LLM reads of a conversation: its latest messages


def dialogue_messages(*, conversation: Conversation | None, limit: int = DIALOGUE_MESSAGES) -> list[dict]:
    """Return the conversation's latest messages as {"role": "user" | "assistant", "content"}, oldest first."""
    if conversation is None or conversation.pk is None:
        return []
    rows = list(conversation.messages.order_by("-id").values_list("role", "text")[:limit])
    return [{"role": "user" if role == Message.Role.USER else "assistant", "content": text}
            for role, text in reversed(rows)]


# Buttons whose state one event sets: like and dislike exclude each other, favourite stands alone.
BUTTON_GROUPS = ({"like": True, "dislike": True, "unlike": False, "undislike": False},
                 {"favourite": True, "unfavourite": False})


def buttons_pressed(*, profile_id: int, item_ids: list[int]) -> dict[str, list[str]]:
    """Return, per item, the card buttons the person's newest presses leave pressed (e.g. ["like", "favourite"])."""
    kinds = [kind for group in BUTTON_GROUPS for kind in group]
    events = (Interaction.objects.filter(profile_id=profile_id, item_id__in=item_ids, kind__in=kinds)
              .order_by("-occurred_at", "-pk").values_list("item_id", "kind"))
    decided: dict[tuple[str, int], str | None] = {}
    for item_id, kind in events:  # only this conversation's items
        for n, group in enumerate(BUTTON_GROUPS):
            if kind in group and (str(item_id), n) not in decided:
                decided[(str(item_id), n)] = kind if group[kind] else None
    out: dict[str, list[str]] = {}
    for (item_id, _), kind in sorted(decided.items()):
        if kind:
            out.setdefault(item_id, []).append(kind)
    return out


def last_listing(*, conversation: Conversation, item_id: int) -> dict:
    """Return where an item stood in the conversation's last list: rank, strategy, message id and, when the policy
    logged the list, its id and propensity (empty if absent)."""
    last = conversation.messages.filter(role=Message.Role.ASSISTANT).order_by("-id").first()
    if last is None:
        return {}
    for rank, entry in enumerate((last.payload or {}).get("items", []), start=1):
        if entry.get("item_id") == str(item_id):
            found = {"rank": rank, "strategy": last.payload.get("strategy", ""), "message": last.pk}
            shown = ShownList.objects.filter(message_id=last.pk).values("pk", "propensity", "forced").first()
            if shown is not None:  # the policy's logged choice: what the feedback rewards, with its probability
                found.update({"list": shown["pk"], "propensity": shown["propensity"], "forced": shown["forced"]})
            return found
    return {}


def user_message_for(*, profile: Profile, message_id: int) -> Message | None:
    """Return the profile's own user message with that id, or None (never someone else's)."""
    return (Message.objects.select_related("conversation")
            .filter(pk=message_id, role=Message.Role.USER, conversation__profile=profile).first())


def reply_for(*, profile: Profile, message_id: int) -> Message | None:
    """Return the profile's own assistant message with that id, or None."""
    return Message.objects.filter(pk=message_id, role=Message.Role.ASSISTANT, conversation__profile=profile).first()


def last_user_message(*, conversation: Conversation) -> Message | None:
    """Return the conversation's latest user message, or None."""
    return conversation.messages.filter(role=Message.Role.USER).order_by("-id").first()


def profile_data(*, profile: Profile) -> dict:
    """Return everything stored about the person: conversations with their messages, and feedback events."""
    conversations = []
    for conv in Conversation.objects.filter(profile=profile).order_by("created_at").prefetch_related("messages"):
        conversations.append({
            "id": conv.pk, "title": conv.title, "language": conv.language,
            "created_at": conv.created_at.isoformat(), "updated_at": conv.updated_at.isoformat(),
            "messages": [{"id": m.pk, "role": m.role, "text": m.text, "created_at": m.created_at.isoformat(),
                          "rating": m.rating,
                          "items": [i.get("item_id") for i in (m.payload or {}).get("items", [])]}
                         for m in conv.messages.all()],
        })
    feedback = [
        {"item_id": row["item_id"], "item_title": row["item__title"], "kind": row["kind"], "value": row["value"],
         "origin": row["origin"], "source": rules.event_source(row["kind"], row["origin"], row["context"]),
         # A like read from chat words counts in its own conversation only; presses and ratings count everywhere.
         "scope": "conversation" if (row["context"] or {}).get("via") == rules.STATED_VIA else "everywhere",
         "conversation_id": row["conversation_id"], "occurred_at": row["occurred_at"].isoformat()}
        for row in Interaction.objects.filter(profile=profile).order_by("occurred_at", "pk")
        .values("item_id", "item__title", "kind", "value", "origin", "context", "conversation_id", "occurred_at")
    ]
    return {"profile": {"id": profile.pk, "kind": profile.kind, "language": profile.language,
                        "created_at": profile.created_at.isoformat()},
            "conversations": conversations, "feedback": feedback}


def catalog_domains(*, limit: int = 5) -> list[str]:
    """Return the catalog's domains, the largest first."""
    rows = (Item.objects.values("domain").annotate(n=Count("id")).order_by("-n", "domain")
            .values_list("domain", flat=True)[:limit])
    return list(rows)


# ---------------------------------------------------------------- the staff dashboard's reads of stored turns


class JSONArrayLength(Func):
    """The length of a JSON array inside a JSON column (SQLite json_array_length, PostgreSQL jsonb_array_length)."""

    output_field = IntegerField()

    def __init__(self, field: str, key: str):
        self.key = key
        super().__init__(F(field))

    def as_sql(self, compiler, conn, **extra):  # SQLite, MySQL-style JSON functions
        sql, params = compiler.compile(self.source_expressions[0])
        return f"COALESCE(json_array_length({sql}, %s), 0)", [*params, f"$.{self.key}"]

    def as_postgresql(self, compiler, conn, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        expression = (f"COALESCE(jsonb_array_length(CASE WHEN jsonb_typeof({sql} -> %s) = 'array' "
                      f"THEN {sql} -> %s END), 0)")
        return expression, [*params, self.key, *params, self.key]


def _dashboard_turns(start, end, domain: str):
    turns = Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=start, created_at__lt=end)
    if domain:
        turns = turns.filter(payload__understanding__domain=domain)
    return turns


class DashboardTurnReads:
    """The dashboard's figures about stored turns (`recommender.dashboard_selectors.TurnReads`), each an aggregate
    computed by the database."""

    @staticmethod
    def turns_by_day(start, end, domain: str) -> list[dict]:
        """Return turn counts per day, intent and language."""
        rows = (_dashboard_turns(start, end, domain)
                .annotate(day=TruncDate("created_at"),
                          intent=Coalesce(KeyTextTransform("intent", "payload"), Value("unknown"),
                                          output_field=CharField()),
                          language=Coalesce(KeyTextTransform("language", "payload"), Value("unknown"),
                                            output_field=CharField()))
                .values("day", "intent", "language").annotate(turns=Count("id"))
                .order_by("day", "intent", "language"))
        return [{"day": r["day"].isoformat(), "intent": r["intent"], "language": r["language"], "turns": r["turns"]}
                for r in rows]

    @staticmethod
    def list_lengths(start, end, domain: str, short_below: int) -> dict:
        """Return how many recommendation turns listed nothing, fewer than short_below items, or enough."""
        counts = (_dashboard_turns(start, end, domain).filter(payload__intent=rules.RECOMMEND)
                  .annotate(listed=JSONArrayLength("payload", "items"))
                  .aggregate(turns=Count("id"), empty=Count("id", filter=Q(listed=0)),
                             short=Count("id", filter=Q(listed__gt=0, listed__lt=short_below))))
        turns, empty, short = counts["turns"] or 0, counts["empty"] or 0, counts["short"] or 0
        return {"turns": turns, "empty": empty, "short": short, "short_below": short_below,
                "empty_or_short_share": round((empty + short) / turns, 4) if turns else None}

    @staticmethod
    def recommended_items(domain: str) -> int:
        """Return how many catalog items (of the domain) any assistant message ever listed."""
        table, item_table = Message._meta.db_table, Item._meta.db_table
        if connection.vendor == "postgresql":
            shown = (f"SELECT DISTINCT (e ->> 'item_id') AS item_id FROM {table} m "
                     f"CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(m.payload -> 'items') = 'array' "
                     f"THEN m.payload -> 'items' ELSE '[]'::jsonb END) e WHERE m.role = %s")
        else:
            shown = (f"SELECT DISTINCT json_extract(e.value, '$.item_id') AS item_id FROM {table} m, "
                     f"json_each(m.payload, '$.items') e WHERE m.role = %s")
        sql = (f"SELECT COUNT(*) FROM ({shown}) s JOIN {item_table} i ON CAST(i.id AS TEXT) = s.item_id"
               + (" WHERE i.domain = %s" if domain else ""))
        with connection.cursor() as cursor:
            cursor.execute(sql, [Message.Role.ASSISTANT] + ([domain] if domain else []))
            return cursor.fetchone()[0]


DASHBOARD_TURN_READS = DashboardTurnReads()


# ---------------------------------------------------------------- fitting pairs for the co-mention model

def chat_pairs() -> list[tuple[dict[str, float], list[str]]]:
    """Return fitting pairs from the product's own chats: an item the person liked after it was shown counts as
    suggested after the items named (and liked) earlier in that conversation."""
    liked: dict[int, set[str]] = {}
    for conversation_id, item_id in Interaction.objects.filter(conversation__isnull=False, kind__in=sorted(rules.LIKE_KINDS)) \
            .values_list("conversation_id", "item_id"):
        liked.setdefault(conversation_id, set()).add(str(item_id))
    pairs = []
    messages = Message.objects.filter(conversation_id__in=list(liked), role=Message.Role.ASSISTANT) \
        .order_by("conversation_id", "created_at", "id").values_list("conversation_id", "payload")
    context: dict[str, float] = {}
    current = None
    for conversation_id, payload in messages.iterator(chunk_size=1000):
        if conversation_id != current:
            current, context = conversation_id, {}
        payload = payload or {}
        for ref in (payload.get("understanding") or {}).get("referenced_items") or []:
            if ref.get("item_id") and ref.get("sentiment") != "disliked":
                weight = MENTION_LIKED_WEIGHT if ref.get("sentiment") == "liked" else 1.0
                context[str(ref["item_id"])] = max(context.get(str(ref["item_id"]), 0.0), weight)
        shown = [str(entry.get("item_id")) for entry in payload.get("items") or [] if entry.get("item_id")]
        chosen = [i for i in shown if i in liked[conversation_id] and i not in context]
        if chosen:
            pairs.append((dict(context), chosen))
            context.update({i: MENTION_LIKED_WEIGHT for i in chosen})
    return pairs


def chat_encoder_examples() -> list[tuple[list[dict], list[str]]]:
    """Return (the conversation's messages before an answer, the shown items the person then liked) from the
    product's own chats: a liked suggestion is what the conversation so far asked for."""
    liked: dict[int, set[str]] = {}
    for conversation_id, item_id in Interaction.objects.filter(conversation__isnull=False, kind__in=sorted(rules.LIKE_KINDS)) \
            .values_list("conversation_id", "item_id"):
        liked.setdefault(conversation_id, set()).add(str(item_id))
    out: list[tuple[list[dict], list[str]]] = []
    messages = Message.objects.filter(conversation_id__in=list(liked)).exclude(role=Message.Role.SYSTEM) \
        .order_by("conversation_id", "created_at", "id").values_list("conversation_id", "role", "text", "payload")
    before: list[dict] = []
    chosen_before: set[str] = set()
    current = None
    for conversation_id, role, text, payload in messages.iterator(chunk_size=1000):
        if conversation_id != current:
            current, before, chosen_before = conversation_id, [], set()
        if role == Message.Role.ASSISTANT:
            shown = [str(entry.get("item_id")) for entry in (payload or {}).get("items") or [] if entry.get("item_id")]
            chosen = [i for i in shown if i in liked[conversation_id] and i not in chosen_before]
            if chosen and before:
                out.append((list(before), chosen))
                chosen_before.update(chosen)
        before.append({"role": role, "content": text})
    return out
