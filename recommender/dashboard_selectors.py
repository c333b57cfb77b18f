"""Reads for the staff dashboard: every figure is an aggregate computed by the database, never a loop over events
(the learning loop's panel reads the window's shown lists, at most `policy.REPORT_MAX_LISTS`, since off-policy
estimates need them one by one).

Each function takes a `Window` (a date range and an optional catalog domain) and returns plain JSON-ready data.
Figures about stored turns come from the chat app's reads, handed in (`TurnReads`): this app does not import it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from django.db.models import (
    Count,
    F,
    FloatField,
    Q,
)
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from recommender.engine import rules
from recommender.models import BanditArm, Interaction, Item, ModelVersion
from recommender.services.policy import policy_report

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


def feedback_by_day(window: Window) -> list[dict]:
    """Return per day: feedback events, likes, dislikes and the like rate (likes / (likes + dislikes))."""
    rows = (_events(window).annotate(day=TruncDate("occurred_at")).values("day")
            .annotate(total=Count("id"), liked=Count("id", filter=_liked()), disliked=Count("id", filter=_disliked()))
            .order_by("day"))
    return [{"day": r["day"].isoformat(), "total": r["total"], "liked": r["liked"], "disliked": r["disliked"],
             "like_rate": round(r["liked"] / (r["liked"] + r["disliked"]), 4) if r["liked"] + r["disliked"] else None}
            for r in rows]


class TurnReads(Protocol):
    """The reads of stored turns the dashboard draws (the chat app's, `chat.selectors.DASHBOARD_TURN_READS`),
    handed in by the caller: this app does not import the chat app."""

    def turns_by_day(self, start: datetime, end: datetime, domain: str) -> list[dict]: ...

    def list_lengths(self, start: datetime, end: datetime, domain: str, short_below: int) -> dict: ...

    def recommended_items(self, domain: str) -> int: ...


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


def catalog_coverage(window: Window, turn_reads: TurnReads | None) -> dict:
    """Return how many catalog items (of the domain) were ever recommended, and their share of the catalog."""
    items = Item.objects.all()
    if window.domain:
        items = items.filter(domain=window.domain)
    catalog = items.count()
    recommended = turn_reads.recommended_items(window.domain) if turn_reads is not None else 0
    return {"catalog": catalog, "recommended": recommended,
            "share": round(recommended / catalog, 4) if catalog else None}


def domains() -> list[str]:
    """Return the catalog's domains, alphabetically (the dashboard's filter choices)."""
    return list(Item.objects.values_list("domain", flat=True).distinct().order_by("domain"))


def dashboard_data(window: Window, turn_reads: TurnReads | None = None) -> dict:
    """Return every figure the dashboard draws, for one window (turn figures empty without `turn_reads`)."""
    start, end = window.bounds()
    no_turns = {"turns": 0, "empty": 0, "short": 0, "short_below": SHORT_LIST, "empty_or_short_share": None}
    return {
        "window": {"start": window.start.isoformat(), "end": window.end.isoformat(), "domain": window.domain},
        "feedback": feedback_by_day(window),
        "turns": turn_reads.turns_by_day(start, end, window.domain) if turn_reads is not None else [],
        "lists": (turn_reads.list_lengths(start, end, window.domain, SHORT_LIST) if turn_reads is not None
                  else no_turns),
        "arms": strategy_arms(),
        "models": model_versions(window),
        "coverage": catalog_coverage(window, turn_reads),
        "learning": policy_report(start=start, end=end, domain=window.domain),
    }
