"""Sign-in throttling: after CHATREC_LOGIN_RATE failed attempts for one username from one client address,
further attempts are refused until the window ends, whatever the password (admin and site sign-in alike).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from common import ratelimit

log = logging.getLogger(__name__)
SCOPE = "login"


def _ident(request, username) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    return f"{str(username or '').casefold()}|{address}"


class ThrottledModelBackend(ModelBackend):
    """Django's username/password check, refusing a username+address pair that failed too often."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        rate = settings.CHATREC_RATE_LIMITS["login"]
        ident = _ident(request, username)
        if ratelimit.peek(SCOPE, ident, rate) is not None:
            log.warning("sign-in throttled for %r", str(username)[:150])
            raise PermissionDenied("too many failed sign-in attempts")  # stops authenticate() for all backends
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None:
            ratelimit.hit(SCOPE, ident, rate)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
