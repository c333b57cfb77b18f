"""The staff dashboard page: feedback, turns, list lengths, strategies, model versions and catalog coverage."""
from __future__ import annotations

from datetime import date, timedelta

from django.contrib.admin.views.decorators import staff_member_required
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
def dashboard_page(request):
    """Return the dashboard for staff (others go to the admin sign-in)."""
    window = window_from(request.GET)
    return render(request, "dashboard/dashboard.html", {
        "window": window, "domains": selectors.domains(), "data": selectors.dashboard_data(window),
        "labels": chart_labels(),
    })


def chart_labels() -> dict:
    """Return the chart legends in the active language."""
    return {"events": _("Feedback events"), "likeRate": _("Like rate"), "empty": _("Empty list"),
            "short": _("Short list"), "enough": _("Full list"), "pulls": _("Pulls"),
            "reward": _("Estimated reward"), "recommended": _("Recommended"), "never": _("Never recommended")}
