"""Guest identity without a database write per page view.

Loading the chat page used to save a session row for every cookieless GET, so crawlers and health checks
filled the session table. A guest is now named by a signed cookie set with the page (no row); their profile
row is created only when a websocket actually connects with it. A real session (a signed-in user's, or one
from before) still works, but only if it exists: an invented session id names nobody.

Cookies cost nothing to make, so guests are budgeted per client address: at most the "guest_new" rate of new
guest profiles per address, and every guest keeps a keyed hash of the address it was created from (never the
address itself), under which the bandit counts the rewards of all guests from that address as one person's.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.core import signing

from common import ratelimit
from recommender.models import Profile
from recommender.services.profiles import profile_for_session

GUEST_COOKIE = "chatrec_guest"
GUEST_PREFIX = "g-"


def _signer():
    return signing.get_cookie_signer(salt=GUEST_COOKIE)


def guest_token(raw: str | None) -> str | None:
    """Return the guest key in a signed guest cookie value, or None when it is missing or forged."""
    if not raw:
        return None
    try:
        value = _signer().unsign(raw, max_age=settings.SESSION_COOKIE_AGE)
    except signing.BadSignature:
        return None
    return value if value.startswith(GUEST_PREFIX) and len(value) <= 64 else None


def guest_cookie_set(request, response) -> None:
    """Give a visitor without a session or a valid guest cookie a fresh signed guest cookie (no database write)."""
    if request.session.session_key or guest_token(request.COOKIES.get(GUEST_COOKIE)):
        return
    value = GUEST_PREFIX + secrets.token_hex(16)
    response.set_cookie(GUEST_COOKIE, _signer().sign(value), max_age=settings.SESSION_COOKIE_AGE, httponly=True,
                        samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)


def guest_key(*, cookies: dict, session) -> str | None:
    """Return who a websocket's guest is: its session key if that session exists, else its guest cookie's key.

    Call from a thread that may use the database (the session existence check reads it).
    """
    key = getattr(session, "session_key", None) if session is not None else None
    if key and session.exists(key):
        return key
    return guest_token(cookies.get(GUEST_COOKIE))


class TooManyGuests(Exception):
    """The client's address has made its budget of new guest profiles for now."""


def address_key(address: str) -> str:
    """Return what a guest profile keeps of the address it came from: a keyed hash, not the address."""
    digest = hmac.new(settings.SECRET_KEY.encode(), address.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:32]


def stored_guest_profile(*, key: str) -> Profile | None:
    """Return the guest's profile if their socket already created it; pages never create one (that would
    bypass the address's budget of new guests)."""
    return Profile.objects.filter(session_key=key, kind=Profile.Kind.GUEST).first()


def guest_profile(*, key: str, address: str) -> Profile:
    """Return the guest's profile, creating it within the address's budget; raise TooManyGuests past it.

    Call from a thread that may use the database.
    """
    existing = stored_guest_profile(key=key)
    if existing is not None:
        return existing
    if ratelimit.hit("guest_new", address, settings.CHATREC_RATE_LIMITS["guest_new"]) is not None:
        raise TooManyGuests(address)
    return profile_for_session(session_key=key, address_key=address_key(address))
