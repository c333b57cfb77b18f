"""The connections page: a signed-in person's ties (add, remove) and whether they are discoverable."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from chat.social_selectors import connections_list
from recommender.engine import rules
from recommender.models import SocialSettings
from recommender.services.profiles import profile_for_user
from recommender.services.relations import relation_add, relation_remove, social_settings_update


def profile_by_username(username: str):
    """Return the profile of the registered user with that name, or None."""
    user = get_user_model().objects.filter(username=(username or "").strip()).first()
    return profile_for_user(user=user) if user is not None else None


@login_required
@require_http_methods(["GET", "POST"])
def connections_page(request):
    """Return the person's connections and privacy choice; a POST adds, removes or changes one, then shows them."""
    profile = profile_for_user(user=request.user)
    if request.method == "POST":
        try:
            _apply(request, profile)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("connections")
    settings = SocialSettings.objects.filter(profile=profile).first()
    return render(
        request,
        "chat/connections.html",
        {
            "connections": connections_list(profile=profile),
            "kinds": rules.RELATION_KINDS,
            "discoverable": bool(settings and settings.discoverable),
            "display_name": settings.display_name if settings else "",
        },
    )


def _apply(request, profile) -> None:
    action = request.POST.get("action")
    if action == "add":
        other = profile_by_username(request.POST.get("username", ""))
        if other is None:
            raise ValidationError(_("No person with that user name."))
        relation_add(profile=profile, other=other, kind=request.POST.get("kind", "friend"))
    elif action == "remove":
        relation_remove(profile=profile, relation_id=_int(request.POST.get("id")))
    elif action == "settings":
        social_settings_update(
            profile=profile,
            discoverable=request.POST.get("discoverable") == "on",
            display_name=request.POST.get("display_name", ""),
        )
    else:
        raise ValidationError(_("Unknown action."))


def _int(raw) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise ValidationError(_("Unknown connection.")) from None
