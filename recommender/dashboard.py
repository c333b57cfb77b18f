"""The staff dashboard page: feedback, turns, list lengths, strategies and the learning loop, model versions,
catalog coverage, and the feedback export."""
from __future__ import annotations

from datetime import date, timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from recommender import dashboard_selectors as selectors

MAX_DAYS = 366


def window_from(params) -> selectors.Window:
    """Return the dashboard window asked for in the query (`start`, `end` as YYYY-MM-DD, `domain`).

    Missing or unreadable dates fall back to the last DEFAULT_DAYS days; a range is at most MAX_DAYS long.
    """
    default = selectors.Window.last_days()
    end = _day(params.get("end")) or default.end
    start = _day(params.get("start")) or end - (default.end - default.start)
    if start > end:
        start, end = end, start
    start = max(start, end - timedelta(days=MAX_DAYS - 1))
    return selectors.Window(start=start, end=end, domain=str(params.get("domain", ""))[:32])


def _day(text) -> date | None:
    try:
        return date.fromisoformat(str(text))
    except (TypeError, ValueError):
        return None


@require_GET
@staff_member_required
def dashboard_page(request, turn_reads: selectors.TurnReads | None = None):
    """Return the dashboard for staff (others go to the admin sign-in); the figures about stored turns come from
    `turn_reads`, which the site's routes hand in (the chat app's reads)."""
    window = window_from(request.GET)
    return render(request, "dashboard/dashboard.html", {
        "window": window, "domains": selectors.domains(), "data": selectors.dashboard_data(window, turn_reads),
        "labels": chart_labels(),
    })


def chart_labels() -> dict:
    """Return the chart legends in the active language."""
    return {"events": _("Feedback events"), "likeRate": _("Like rate"), "empty": _("Empty list"),
            "short": _("Short list"), "enough": _("Full list"), "pulls": _("Pulls"),
            "reward": _("Estimated reward"), "recommended": _("Recommended"), "never": _("Never recommended")}


@require_GET
@staff_member_required
def feedback_export_page(request, export_rows=None, export_lines=None):
    """Return the feedback in the dashboard's window as a JSON Lines or CSV download (`format`), for staff.

    The rows and their writer come from the site's routes (the chat app's export, `chat.exports`).
    """
    window = window_from(request.GET)
    fmt = "csv" if request.GET.get("format") == "csv" else "jsonl"
    lines = export_lines(export_rows(window.start, window.end, window.domain), fmt)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8" if fmt == "csv"
                                     else "application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="chatrec-feedback-{window.start}-{window.end}.{fmt}"'
    return response
