"""Reads the chat needs from the engine: the serving bundle, the catalog index, the LLM backend, item records.

The project's selectors own the per-process caches; where a piece is not available (no trained model yet,
no LLM installed) the chat keeps working on the simple fallbacks in `chat.fallbacks`.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings

from recommender.engine.types import ItemRecord
from recommender.models import Item

log = logging.getLogger(__name__)

ITEM_CACHE_SECONDS = 30.0

_lock = threading.Lock()
_records: dict[str, ItemRecord] | None = None
_records_stamp: tuple | None = None
_records_checked = 0.0
_backend = None
_fallback_index = None


def item_record(item: Item) -> ItemRecord:
    """Return the engine record of a catalog item (engine ids are the item's primary key as text)."""
    return ItemRecord(
        item_id=str(item.pk),
        title=item.title,
        domain=item.domain,
        description=item.description,
        aliases=tuple(item.aliases or ()),
        attributes=dict(item.attributes or {}),
    )


def _catalog_stamp() -> tuple:
    latest = Item.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    return (Item.objects.count(), latest)


def item_records() -> dict[str, ItemRecord]:
    """Return every catalog item as an engine record, keyed by engine id; refreshed when the catalog changes."""
    try:
        from recommender import selectors

        return selectors.item_records()
    except (ImportError, AttributeError):
        pass
    global _records, _records_stamp, _records_checked
    now = time.monotonic()
    with _lock:
        if _records is not None and now - _records_checked < ITEM_CACHE_SECONDS:
            return _records
    stamp = _catalog_stamp()
    with _lock:
        _records_checked = now
        if _records is None or stamp != _records_stamp:
            _records = {str(item.pk): item_record(item) for item in Item.objects.all().iterator()}
            _records_stamp = stamp
        return _records


def reset_caches() -> None:
    """Forget cached records and indexes (tests and catalog imports call this)."""
    global _records, _records_stamp, _records_checked, _backend, _fallback_index, _bundle_failed_at
    _bundle_failed_at = None
    try:
        from recommender import selectors

        selectors.reset_caches()
    except (ImportError, AttributeError):
        pass
    with _lock:
        _records, _records_stamp, _records_checked = None, None, 0.0
        _backend, _fallback_index = None, None


BUNDLE_RETRY_SECONDS = 60.0
# Torch's default of one thread per core makes every query embedding fight the web server's own threads
# (measured here: ~700 ms per short query with 2 threads on a busy 2-core machine, ~20 ms with 1).
SERVING_TORCH_THREADS = int(os.environ.get("CHATREC_SERVING_TORCH_THREADS", "1"))
_bundle_failed_at: float | None = None
_torch_configured = False


def _configure_torch() -> None:
    """Limit torch and BLAS to the serving thread count once per process (several turns run side by side)."""
    global _torch_configured
    if _torch_configured or SERVING_TORCH_THREADS <= 0:
        return
    _torch_configured = True
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(SERVING_TORCH_THREADS)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own default
        return
    threadpool_limits(limits=SERVING_TORCH_THREADS)


def active_bundle():
    """Return the serving bundle of the active model version, or None before the first training.

    A model that fails to load is retried at most once a minute, so a broken artifact costs one
    attempt per minute rather than one per turn.
    """
    global _bundle_failed_at
    try:
        from recommender import selectors
    except ImportError:
        return None
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
        _configure_torch()
    return bundle


def catalog_index():
    """Return the understanding layer's catalog index over the DB items, or None if that layer is absent."""
    global _fallback_index
    try:
        from recommender import selectors

        return selectors.catalog_index()
    except (ImportError, AttributeError):
        pass
    try:
        from recommender.engine.understanding import CatalogIndex
    except ImportError:
        return None
    records = item_records()
    with _lock:
        if _fallback_index is None or _fallback_index[0] is not records:
            _fallback_index = (records, CatalogIndex(list(records.values())))
        return _fallback_index[1]


def llm_backend():
    """Return the configured LLM backend, or a disabled one when it cannot start."""
    global _backend
    try:
        from recommender import selectors

        return selectors.llm_backend()
    except (ImportError, AttributeError):
        pass
    from recommender.engine.llm import start_backend

    with _lock:
        if _backend is None:
            config = dict(settings.CHATREC_LLM)
            config.setdefault("n_threads", config.get("threads"))
            _backend, error = start_backend(config, fallback=True)
            if error:
                log.warning("LLM backend unavailable, continuing without it: %s", error)
        return _backend
