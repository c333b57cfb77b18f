"""The chat page and account pages (sign in, sign up, sign out); guests chat on their browser session."""
from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from chat import consumers, guests, selectors, services, social_selectors
from recommender.services.profiles import profile_for_user

# Openers shown before the first message, per catalog domain (ones for other domains use the generic pair).
STARTERS = {
    "movie": (gettext_lazy("A funny film from the 90s"), gettext_lazy("Something like Toy Story")),
    "book": (gettext_lazy("A gripping novel for a long trip"), gettext_lazy("A classic book everyone should read")),
    "music": (gettext_lazy("Calm music for studying"), gettext_lazy("Upbeat songs for a run")),
    "game": (gettext_lazy("A relaxing game to play with friends"), gettext_lazy("A story-rich game")),
    "product": (gettext_lazy("A gift under $50"), gettext_lazy("Something for summer")),
}
GENERIC_STARTERS = (gettext_lazy("What is popular right now?"), gettext_lazy("Surprise me"))
STARTER_COUNT = 4


@ensure_csrf_cookie
def chat_page(request):
    """Return the chat page; a guest gets a signed guest cookie (no session row) so the websocket knows them."""
    context = {
        "max_chars": settings.CHATREC_MAX_MESSAGE_CHARS,
        "frame_limit": consumers.frame_limit(),
        "ui_language": get_language() or "en",
        "ui_strings": ui_strings(),
        "starters": starter_suggestions(selectors.catalog_domains()),
    }
    response = render(request, "chat/chat.html", context)
    guests.guest_cookie_set(request, response)
    return response


def starter_suggestions(domains: list[str]) -> list[str]:
    """Return a few openers drawn from the catalog's domains, in the active language."""
    out: list[str] = []
    for domain in domains:
        out.extend(str(text) for text in STARTERS.get(domain, ()))
    for text in GENERIC_STARTERS:
        out.append(str(text))
    return list(dict.fromkeys(out))[:STARTER_COUNT]


def _profile(request):
    """Return the visitor's profile (a signed-in user's, or a guest's by session or guest cookie), else None."""
    if request.user.is_authenticated:
        return profile_for_user(user=request.user)
    key = guests.guest_key(cookies=request.COOKIES, session=request.session)
    return guests.stored_guest_profile(key=key) if key else None


@require_http_methods(["GET"])
def my_data_download(request):
    """Return the person's conversations and feedback as a JSON download."""
    profile = _profile(request)
    if profile is None:
        return HttpResponseForbidden(_("No data is kept for you yet."))
    data = {**selectors.profile_data(profile=profile), "social": social_selectors.my_social_data(profile=profile)}
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chatrec-my-data.json"'
    return response


@require_http_methods(["POST"])
def my_data_delete(request):
    """Delete the person's conversations and feedback, then go back to the chat."""
    profile = _profile(request)
    if profile is not None:
        services.profile_data_delete(profile=profile)
    return redirect("chat")


def ui_strings() -> dict:
    """Return the texts the page script shows, in the active language."""
    return {
        "like": _("Like"), "dislike": _("Dislike"), "favourite": _("Favourite"), "rate": _("Rate"),
        "why": _("Why this?"), "hideWhy": _("Hide reason"), "saved": _("Saved"), "stopped": _("(stopped)"),
        "offline": _("Connection lost — reconnecting…"), "untitled": _("New conversation"),
        "tooLong": _("That message is too long."), "error": _("Something went wrong:"),
        "evidence": _("Evidence"), "noReason": _("No reason recorded."),
        "typing": _("Writing a reply…"), "replied": _("Reply ready:"), "regenerate": _("Regenerate"),
        "edit": _("Edit"), "copy": _("Copy"), "copied": _("Copied"), "save": _("Send"), "cancel": _("Cancel"),
        "thumbsUp": _("Good reply"), "thumbsDown": _("Bad reply"), "rename": _("Rename"), "delete": _("Delete"),
        "renamePrompt": _("New title"), "deleteConfirm": _("Delete this conversation?"),
        "noMatch": _("No conversation matches your search."),
        "imageFailed": _("No image"), "undone": _("Taken back"), "showSidebar": _("History"),
        "kinds": {
            "liked_item": _("you liked"), "history_item": _("from your history"),
            "attribute_match": _("matches"), "content_similarity": _("similar to"),
            "popularity": _("popular"), "exploration": _("exploring"), "constraint": _("your filter"),
        },
    }


@require_http_methods(["GET", "POST"])
def signup(request):
    """Return the sign-up form, or create the account, sign in and go to the chat."""
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        return redirect("chat")
    return render(request, "registration/signup.html", {"form": form})
