"""The chat page and account pages (sign in, sign up, sign out); guests chat on their browser session."""
from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from chat import consumers, guests


@ensure_csrf_cookie
def chat_page(request):
    """Return the chat page; a guest gets a signed guest cookie (no session row) so the websocket knows them."""
    context = {
        "max_chars": settings.CHATREC_MAX_MESSAGE_CHARS,
        "frame_limit": consumers.frame_limit(),
        "ui_language": get_language() or "en",
        "ui_strings": ui_strings(),
    }
    response = render(request, "chat/chat.html", context)
    guests.guest_cookie_set(request, response)
    return response


def ui_strings() -> dict:
    """Return the texts the page script shows, in the active language."""
    return {
        "like": _("Like"), "dislike": _("Dislike"), "favourite": _("Favourite"), "rate": _("Rate"),
        "why": _("Why this?"), "hideWhy": _("Hide reason"), "saved": _("Saved"), "stopped": _("(stopped)"),
        "offline": _("Connection lost — reconnecting…"), "untitled": _("New conversation"),
        "tooLong": _("That message is too long."), "error": _("Something went wrong:"),
        "evidence": _("Evidence"), "noReason": _("No reason recorded."),
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
