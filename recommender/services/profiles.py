"""Finding or creating the profile behind a request: registered user, guest session or imported user."""
from __future__ import annotations

from django.db import IntegrityError, transaction

from recommender.models import Profile


def profile_for_user(*, user) -> Profile:
    """Return the registered user's profile, creating it on first use."""
    profile, _ = Profile.objects.get_or_create(user=user, defaults={"kind": Profile.Kind.REGISTERED})
    return profile


def profile_for_session(*, session_key: str, language: str = "en", address_key: str = "") -> Profile:
    """Return the guest profile tied to a browser session, creating it on first use (`address_key`: the keyed
    hash of the client address it came from, chat.guests.address_key)."""
    try:
        with transaction.atomic():
            profile, _ = Profile.objects.get_or_create(
                session_key=session_key, defaults={"kind": Profile.Kind.GUEST, "language": language,
                                            "address_key": address_key}
            )
    except IntegrityError:  # two tabs of one session racing to create it
        profile = Profile.objects.get(session_key=session_key)
    return profile


def profile_for_request_user(*, user, session_key: str | None) -> Profile | None:
    """Return the profile for an authenticated user, else the session's guest profile, else None."""
    if user is not None and getattr(user, "is_authenticated", False):
        return profile_for_user(user=user)
    if session_key:
        return profile_for_session(session_key=session_key)
    return None
