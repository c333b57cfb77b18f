"""Reads for the staff dashboard: every figure is an aggregate computed by the database, never a loop over events.

Each function takes a `Window` (a date range and an optional catalog domain) and returns plain JSON-ready data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import (
    CharField,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from chat.models import Message
from recommender.engine import rules
from recommender.models import BanditArm, Interaction, Item, ModelVersion

SHORT_LIST = 3  # a recommendation turn listing fewer items than this returned a short list
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Window:
    """The dashboard's filters: days from `start` to `end` (inclusive) and a catalog domain ('' = all)."""

    start: date
    end: date
    domain: str = ""

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, domain: str = "") -> Window:
        today = timezone.now().date()
        return cls(start=today - timedelta(days=days - 1), end=today, domain=domain)

    def bounds(self) -> tuple[datetime, datetime]:
        tz = timezone.get_current_timezone()
        return (datetime.combine(self.start, time.min, tzinfo=tz),
                datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz))


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


def _liked() -> Q:
    """Events graded LIKED by rules.grade, as a database condition."""
    return Q(kind__in=rules.LIKE_KINDS) | Q(kind="rating", value__gte=rules.LIKE_THRESHOLD)


def _disliked() -> Q:
    """Events graded DISLIKED by rules.grade, as a database condition."""
    return Q(kind__in=rules.DISLIKE_KINDS) | Q(kind="rating", value__lte=rules.DISLIKE_THRESHOLD)


def _events(window: Window):
    start, end = window.bounds()
    events = Interaction.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if window.domain:
        events = events.filter(item__domain=window.domain)
    return events


def _turns(window: Window):
    start, end = window.bounds()
    turns = Message.objects.filter(role=Message.Role.ASSISTANT, created_at__gte=start, created_at__lt=end)
    if window.domain:
        turns = turns.filter(payload__understanding__domain=window.domain)
    return turns


def feedback_by_day(window: Window) -> list[dict]:
    """Return per day: feedback events, likes, dislikes and the like rate (likes / (likes + dislikes))."""
    rows = (_events(window).annotate(day=TruncDate("occurred_at")).values("day")
            .annotate(total=Count("id"), liked=Count("id", filter=_liked()), disliked=Count("id", filter=_disliked()))
            .order_by("day"))
    return [{"day": r["day"].isoformat(), "total": r["total"], "liked": r["liked"], "disliked": r["disliked"],
             "like_rate": round(r["liked"] / (r["liked"] + r["disliked"]), 4) if r["liked"] + r["disliked"] else None}
            for r in rows]


def turns_by_day(window: Window) -> list[dict]:
    """Return turn counts per day, intent and language."""
    rows = (_turns(window)
            .annotate(day=TruncDate("created_at"),
                      intent=Coalesce(KeyTextTransform("intent", "payload"), Value("unknown"),
                                      output_field=CharField()),
                      language=Coalesce(KeyTextTransform("language", "payload"), Value("unknown"),
                                        output_field=CharField()))
            .values("day", "intent", "language").annotate(turns=Count("id")).order_by("day", "intent", "language"))
    return [{"day": r["day"].isoformat(), "intent": r["intent"], "language": r["language"], "turns": r["turns"]}
            for r in rows]


def list_lengths(window: Window) -> dict:
    """Return how many recommendation turns listed nothing, fewer than SHORT_LIST items, or enough."""
    counts = (_turns(window).filter(payload__intent=rules.RECOMMEND)
              .annotate(listed=JSONArrayLength("payload", "items"))
              .aggregate(turns=Count("id"), empty=Count("id", filter=Q(listed=0)),
                         short=Count("id", filter=Q(listed__gt=0, listed__lt=SHORT_LIST))))
    turns = counts["turns"] or 0
    return {"turns": turns, "empty": counts["empty"] or 0, "short": counts["short"] or 0, "short_below": SHORT_LIST,
            "empty_or_short_share": round(((counts["empty"] or 0) + (counts["short"] or 0)) / turns, 4) if turns else None}


def strategy_arms() -> list[dict]:
    """Return each ranking strategy's pulls and estimated reward (the Beta posterior mean of its arm)."""
    rows = (BanditArm.objects.annotate(
        estimate=Cast(F("successes"), FloatField()) / (F("successes") + F("failures")))
        .values("policy", "arm", "pulls", "successes", "failures", "estimate").order_by("policy", "arm"))
    return [{**r, "estimate": round(r["estimate"], 4) if r["estimate"] is not None else None} for r in rows]


def model_versions(window: Window) -> list[dict]:
    """Return the trained model versions in the window, oldest first, with their validation metrics."""
    start, end = window.bounds()
    rows = (ModelVersion.objects.filter(created_at__gte=start, created_at__lt=end).order_by("created_at")
            .values("id", "name", "created_at", "is_active", "metrics", "n_users", "n_items", "training_seconds"))
    out = []
    for r in rows:  # model versions, a handful per day at most: not events
        validation = (r["metrics"] or {}).get("validation") or {}
        scores = {k: v for k, v in validation.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        out.append({"id": r["id"], "name": r["name"], "created_at": r["created_at"].isoformat(),
                    "is_active": r["is_active"], "objective": validation.get("objective", ""), "validation": scores,
                    "n_users": r["n_users"], "n_items": r["n_items"], "training_seconds": r["training_seconds"]})
    return out


def catalog_coverage(window: Window) -> dict:
    """Return how many catalog items (of the domain) were ever recommended, and their share of the catalog."""
    items = Item.objects.all()
    if window.domain:
        items = items.filter(domain=window.domain)
    catalog = items.count()
    table, item_table = Message._meta.db_table, Item._meta.db_table
    if connection.vendor == "postgresql":
        shown = (f"SELECT DISTINCT (e ->> 'item_id') AS item_id FROM {table} m "
                 f"CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(m.payload -> 'items') = 'array' "
                 f"THEN m.payload -> 'items' ELSE '[]'::jsonb END) e WHERE m.role = %s")
    else:
        shown = (f"SELECT DISTINCT json_extract(e.value, '$.item_id') AS item_id FROM {table} m, "
                 f"json_each(m.payload, '$.items') e WHERE m.role = %s")
    sql = (f"SELECT COUNT(*) FROM ({shown}) s JOIN {item_table} i ON CAST(i.id AS TEXT) = s.item_id"
           + (" WHERE i.domain = %s" if window.domain else ""))
    params = [Message.Role.ASSISTANT] + ([window.domain] if window.domain else [])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        recommended = cursor.fetchone()[0]
    return {"catalog": catalog, "recommended": recommended,
            "share": round(recommended / catalog, 4) if catalog else None}


def domains() -> list[str]:
    """Return the catalog's domains, alphabetically (the dashboard's filter choices)."""
    return list(Item.objects.values_list("domain", flat=True).distinct().order_by("domain"))


def dashboard_data(window: Window) -> dict:
    """Return every figure the dashboard draws, for one window."""
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat(), "domain": window.domain},
        "feedback": feedback_by_day(window),
        "turns": turns_by_day(window),
        "lists": list_lengths(window),
        "arms": strategy_arms(),
        "models": model_versions(window),
        "coverage": catalog_coverage(window),
    }
