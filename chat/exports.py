"""Feedback export for staff: presses, ratings, chat-inferred likes and reply thumbs, as JSON Lines or CSV.

Each item event is one row in the interaction import format (docs/import_formats.md: `user`, `item`,
`event`, `value`, `timestamp`, `source`, `key`), so `import_interactions` re-imports an export into a fresh
database with every event kept (the key is the event's own id, so events that look alike stay apart). The
other columns say where the event came from: how it was made (`via`: pressed, rated, stated in words,
imported, api), the conversation, the shown list it answered (message, list id, arm, propensity, rank).
Reply thumbs are rows of their own (`record` = "reply", no item): the importer takes item events only.

Deletions are honoured by construction: a person's "delete my data" removes their events, conversations
and shown lists, and the export reads only what is stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from chat.models import Message
from recommender.engine import rules
from recommender.models import Interaction, Profile

COLUMNS = (
    "record",
    "user",
    "item",
    "source",
    "domain",
    "event",
    "value",
    "timestamp",
    "key",
    "origin",
    "via",
    "conversation",
    "message",
    "list",
    "arm",
    "propensity",
    "rank",
)
FORMATS = ("jsonl", "csv")
CHUNK = 2000


@dataclass(frozen=True)
class ExportFilter:
    """Which feedback to export: days from `start` to `end` inclusive (None: unbounded) and a domain ('' = all)."""

    start: date | None = None
    end: date | None = None
    domain: str = ""

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        tz = timezone.get_current_timezone()
        low = datetime.combine(self.start, time.min, tzinfo=tz) if self.start else None
        high = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz) if self.end else None
        return low, high


def person_key(kind: str, source: str, external_id: str, pk: int) -> str:
    """Return the exported user id: an imported person's own id, otherwise the profile kind and number."""
    return external_id if kind == Profile.Kind.IMPORTED and external_id else f"{kind}-{pk}"


def _within(flt: ExportFilter, rows, time_field: str, domain_field: str):
    """Return the rows whose time lies in the filter's dates and whose domain is the filter's (when it names one)."""
    low, high = flt.bounds()
    if low:
        rows = rows.filter(**{f"{time_field}__gte": low})
    if high:
        rows = rows.filter(**{f"{time_field}__lt": high})
    if flt.domain:
        rows = rows.filter(**{domain_field: flt.domain})
    return rows


def event_rows(flt: ExportFilter) -> Iterator[dict]:
    """Yield one export row per stored feedback event in the filter, oldest first."""
    events = _within(flt, Interaction.objects.all(), "occurred_at", "item__domain")
    rows = events.order_by("occurred_at", "pk").values_list(
        "pk",
        "kind",
        "value",
        "occurred_at",
        "origin",
        "context",
        "conversation_id",
        "item__external_id",
        "item__source",
        "item__domain",
        "profile_id",
        "profile__kind",
        "profile__source",
        "profile__external_id",
    )
    for (
        pk,
        kind,
        value,
        occurred_at,
        origin,
        context,
        conversation,
        item,
        source,
        domain,
        profile_id,
        profile_kind,
        profile_source,
        external_id,
    ) in rows.iterator(chunk_size=CHUNK):
        context = context or {}
        yield {
            "record": "event",
            "user": person_key(profile_kind, profile_source, external_id, profile_id),
            "item": item,
            "source": source,
            "domain": domain,
            "event": kind,
            "value": value,
            "timestamp": occurred_at.isoformat(),
            "key": f"export-{pk}",
            "origin": origin,
            "via": rules.event_source(kind, origin, context),
            "conversation": conversation,
            "message": context.get("message"),
            "list": context.get("list"),
            "arm": context.get("strategy"),
            "propensity": context.get("propensity"),
            "rank": context.get("rank"),
        }


def reply_rows(flt: ExportFilter) -> Iterator[dict]:
    """Yield one row per thumbs up or down on an assistant reply in the filter (domain: the turn's)."""
    replies = _within(flt, Message.objects.filter(role=Message.Role.ASSISTANT, rating__isnull=False), "rated_at",
                      "payload__understanding__domain")
    rows = replies.order_by("rated_at", "pk").values_list(
        "pk",
        "rating",
        "rated_at",
        "conversation_id",
        "conversation__profile_id",
        "conversation__profile__kind",
        "conversation__profile__source",
        "conversation__profile__external_id",
        "payload__strategy",
    )
    for pk, rating, rated_at, conversation, profile_id, kind, source, external_id, arm in rows.iterator(CHUNK):
        yield {
            "record": "reply",
            "user": person_key(kind, source, external_id, profile_id),
            "item": "",
            "source": "",
            "domain": flt.domain,
            "event": "reply_rating",
            "value": rating,
            "timestamp": rated_at.isoformat(),
            "key": f"reply-{pk}",
            "origin": "chat",
            "via": "pressed",
            "conversation": conversation,
            "message": pk,
            "list": None,
            "arm": arm,
            "propensity": None,
            "rank": None,
        }


def feedback_rows(flt: ExportFilter, *, replies: bool = True) -> Iterator[dict]:
    """Yield every exported row: item events, then reply thumbs."""
    yield from event_rows(flt)
    if replies:
        yield from reply_rows(flt)


def export_lines(rows: Iterator[dict], fmt: str) -> Iterator[str]:
    """Yield the rows as JSON Lines or CSV (a header, then one line per row)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps(row, ensure_ascii=False) + "\n"
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def window_rows(start: date, end: date, domain: str) -> Iterator[dict]:
    """Yield the export rows of a dashboard window (the dashboard's download)."""
    return feedback_rows(ExportFilter(start=start, end=end, domain=domain))
