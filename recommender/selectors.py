"""Reads for serving, cached once per process: the catalog as engine records, the understanding index,
the active model's bundle and the LLM backend. Caches re-check the database at most every few seconds,
so a long-running server picks up a newly activated model or an import without a restart.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db.models import Count, Max

from recommender.engine.types import ItemRecord
from recommender.models import Interaction, Item, ModelVersion
from recommender.services.training import RECORD_FIELDS, item_record

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0

_lock = threading.RLock()
_cache: dict[str, Any] = {}


def _cached(name: str, stamp_of, build):
    """Return the cached value for name, rebuilt when stamp_of() changes (checked every RECHECK_SECONDS)."""
    now = time.monotonic()
    with _lock:
        entry = _cache.get(name)
        if entry and now - entry["checked"] < RECHECK_SECONDS:
            return entry["value"]
    stamp = stamp_of()
    with _lock:
        entry = _cache.get(name)
        if entry and entry["stamp"] == stamp:
            entry["checked"] = now
            return entry["value"]
    value = build()
    with _lock:
        _cache[name] = {"stamp": stamp, "value": value, "checked": now}
    return value


def reset_caches() -> None:
    """Forget every cached read (tests, and after imports in the same process)."""
    with _lock:
        _cache.clear()


def catalog_stamp() -> tuple:
    """Return a cheap fingerprint of the catalog: count and newest update."""
    agg = Item.objects.aggregate(n=Count("id"), latest=Max("updated_at"))
    return (agg["n"], agg["latest"])


def item_records() -> dict[str, ItemRecord]:
    """Return every catalog item as an engine record keyed by engine id."""
    def build():
        rows = Item.objects.order_by("pk").values(*RECORD_FIELDS)
        return {str(row["pk"]): item_record(row) for row in rows.iterator(chunk_size=5000)}

    return _cached("records", catalog_stamp, build)


def item_popularity() -> dict[str, float]:
    """Return interaction counts per engine item id (for tie-breaking and the untrained fallback)."""
    def build():
        counts = Interaction.objects.values("item_id").annotate(n=Count("id")).values_list("item_id", "n")
        return {str(item_id): float(n) for item_id, n in counts}

    return _cached("popularity", lambda: Interaction.objects.aggregate(m=Max("id"))["m"], build)


def catalog_index():
    """Return the understanding layer's CatalogIndex over the current catalog."""
    from recommender.engine.understanding import CatalogIndex

    def build():
        return CatalogIndex(list(item_records().values()), popularity=item_popularity())

    return _cached("catalog_index", catalog_stamp, build)


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def active_bundle():
    """Return the active model version's RecommenderBundle (cold items added from text), or None if none is trained."""
    from recommender.engine.serving import RecommenderBundle

    def stamp():
        version = ModelVersion.objects.filter(is_active=True).values_list("pk", "path").first()
        return (version, catalog_stamp())

    def build():
        version = active_version()
        if version is None:
            return None
        bundle = RecommenderBundle.load(version.path)
        new_items = [record for key, record in item_records().items() if not bundle.has_item(key)]
        if new_items:
            bundle.add_items(new_items)
        return bundle

    return _cached("bundle", stamp, build)


def llm_config() -> dict:
    """Return the engine's backend config from settings (settings use one name per idea)."""
    llm = settings.CHATREC_LLM
    config = {
        "backend": llm["backend"],
        "timeout": llm["timeout"],
        "retries": llm["retries"],
        "n_threads": llm["threads"],
        "base_url": llm["base_url"],
        "api_key": llm["api_key"] or None,
        "model": llm["model"],
    }
    if llm["backend"] == "llamacpp":
        config["model_path"] = llm["model_path"] or None
    elif llm["backend"] == "transformers":
        config["model"] = llm["model_path"]
    if "replies" in llm:
        config["replies"] = llm["replies"]
    return config


def llm_backend():
    """Return the configured LLM backend, started once; a backend that cannot start becomes "none" with a warning."""
    from recommender.engine.llm import start_backend

    def build():
        backend, error = start_backend(llm_config(), fallback=True)
        if error:
            logger.warning("LLM backend %r unavailable, continuing without it: %s", settings.CHATREC_LLM["backend"], error)
        return backend

    return _cached("llm", lambda: tuple(sorted((k, str(v)) for k, v in settings.CHATREC_LLM.items())), build)


def item_by_engine_id(item_id: str) -> Item | None:
    """Return the catalog item behind an engine id, or None for an unknown id."""
    try:
        return Item.objects.get(pk=int(item_id))
    except (ValueError, TypeError, Item.DoesNotExist):
        return None
