"""Named job locks across workers and processes: claimed with a conditional UPDATE, so they work the same on
SQLite and PostgreSQL and never hold a database transaction open while the job runs.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from recommender.models import JobLock


class LockHeld(RuntimeError):
    """Another worker holds the lock."""


def lock_claim(*, name: str, ttl: timedelta) -> str | None:
    """Claim the named lock for ttl; return the holder token, or None when someone else holds it unexpired."""
    try:
        with transaction.atomic():
            JobLock.objects.get_or_create(name=name)
    except IntegrityError:  # created by another worker at the same moment
        pass
    token = uuid.uuid4().hex
    now = timezone.now()
    claimed = (
        JobLock.objects.filter(name=name)
        .filter(Q(holder="") | Q(expires_at__lt=now))
        .update(holder=token, claimed_at=now, expires_at=now + ttl)
    )
    return token if claimed == 1 else None


def lock_release(*, name: str, token: str) -> bool:
    """Release the lock if this token still holds it; return whether it did."""
    return JobLock.objects.filter(name=name, holder=token).update(holder="", expires_at=None) == 1


@contextmanager
def job_lock(*, name: str, ttl: timedelta) -> Iterator[str]:
    """Hold the named lock for the block; raise LockHeld at once when another worker holds it."""
    token = lock_claim(name=name, ttl=ttl)
    if token is None:
        raise LockHeld(f"the {name!s} lock is held by another worker")
    try:
        yield token
    finally:
        lock_release(name=name, token=token)
