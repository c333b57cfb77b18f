"""Named job locks across workers and processes: claimed with a conditional UPDATE, so they work the same on
SQLite and PostgreSQL and never hold a database transaction open while the job runs.

A holder may keep its lock alive (`renew_every`): a thread pushes the expiry forward while the job runs, so
the lock's ttl can be short and a holder that was killed (SIGKILL, out of memory) frees it within one ttl.
"""
from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import IntegrityError, connections, transaction
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


def lock_renew(*, name: str, token: str, ttl: timedelta) -> bool:
    """Push the lock's expiry to now + ttl if this token still holds it; return whether it did."""
    return JobLock.objects.filter(name=name, holder=token).update(expires_at=timezone.now() + ttl) == 1


def keep_alive(*, name: str, token: str, ttl: timedelta, every: float, stop: threading.Event) -> int:
    """Renew the lock every `every` seconds until `stop` is set; return how many renewals found it held."""
    renewed = 0
    while not stop.wait(every):
        renewed += lock_renew(name=name, token=token, ttl=ttl)
    return renewed


def _keep_alive_thread(**kwargs) -> None:
    try:
        keep_alive(**kwargs)
    finally:
        connections.close_all()  # this thread's own connection


@contextmanager
def job_lock(*, name: str, ttl: timedelta, renew_every: float | None = None) -> Iterator[str]:
    """Hold the named lock for the block; raise LockHeld at once when another worker holds it.

    With `renew_every` (seconds, well under ttl) the lock is renewed while the block runs.
    """
    token = lock_claim(name=name, ttl=ttl)
    if token is None:
        raise LockHeld(f"the {name!s} lock is held by another worker")
    stop = threading.Event()
    renewer = None
    if renew_every:
        renewer = threading.Thread(target=_keep_alive_thread, daemon=True, name=f"lock-{name}",
                                   kwargs={"name": name, "token": token, "ttl": ttl, "every": renew_every, "stop": stop})
        renewer.start()
    try:
        yield token
    finally:
        stop.set()
        if renewer is not None:
            renewer.join()
        lock_release(name=name, token=token)
