"""The chat's reads from the engine, through the project's per-process selectors.

Adds what only a serving process needs: a broken model artifact is retried at most once a minute
(popularity serves meanwhile) and torch/BLAS are limited to a few threads per process.
"""
from __future__ import annotations

import logging
import sys
import time

from django.conf import settings

from recommender import selectors

log = logging.getLogger(__name__)

BUNDLE_RETRY_SECONDS = 60.0
_bundle_failed_at: float | None = None
_torch_configured = False

item_records = selectors.item_records
catalog_index = selectors.catalog_index
llm_backend = selectors.llm_backend


def reset_caches() -> None:
    """Forget cached records, indexes, models and a remembered model failure."""
    global _bundle_failed_at
    _bundle_failed_at = None
    selectors.reset_caches()


def _configure_threads() -> None:
    """Limit torch and BLAS threads once per process: several turns run side by side, and one query
    embedding with a thread per core took ~700 ms on a busy 2-core machine against ~20 ms with one."""
    global _torch_configured
    threads = settings.CHATREC_SERVING_THREADS
    if _torch_configured or threads <= 0:
        return
    _torch_configured = True
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


def active_bundle():
    """Return the active model's serving bundle, or None before the first training or after a load failure."""
    global _bundle_failed_at
    if _bundle_failed_at is not None and time.monotonic() - _bundle_failed_at < BUNDLE_RETRY_SECONDS:
        return None
    try:
        bundle = selectors.active_bundle()
    except Exception:  # noqa: BLE001 - a broken artifact must not take the chat down
        log.exception("could not load the active model; serving popularity for the next minute")
        _bundle_failed_at = time.monotonic()
        return None
    _bundle_failed_at = None
    if bundle is not None:
        _configure_threads()
    return bundle
