"""Reads for serving, owned by one per-process `ServingState` (`SERVING`).

Everything a turn or an API call reads from the catalog and the active model is kept in one snapshot:
the catalog as engine records, the serving catalog (constraint masks, the understanding index, popularity)
and the active model's bundle. The rule for freshness is one: the snapshot belongs to a stamp (the active
model version and the catalog's size and newest update); the stamp is re-read at most every
RECHECK_SECONDS, and when it changes the whole snapshot is rebuilt lazily, part by part, as parts are asked
for. So a long-running server picks up a newly activated model, a retraining's popularity or an import
without a restart. The LLM backend is the one thing kept across snapshots (starting one can take a minute);
it restarts only when its settings change. Tests call `reset_caches()`, which forgets everything.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import Count, Max

from recommender.engine import rules
from recommender.engine.llm.turn import LLMSteps
from recommender.engine.types import ItemRecord
from recommender.models import Interaction, Item, ModelVersion
from recommender.services.training import RECORD_FIELDS, item_record

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
BUNDLE_RETRY_SECONDS = 60.0  # a broken model artifact is retried at most this often; popularity serves meanwhile


def catalog_stamp() -> tuple:
    """Return a cheap fingerprint of the catalog: count and newest update."""
    agg = Item.objects.aggregate(n=Count("id"), latest=Max("updated_at"))
    return (agg["n"], agg["latest"])


def serving_stamp() -> tuple:
    """Return what the serving snapshot depends on: the active model version and the catalog fingerprint."""
    version = ModelVersion.objects.filter(is_active=True).values_list("pk", "path").first()
    return (version, catalog_stamp())


def active_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


# The settings that put the LLM to work in a turn; with all of them off it is never loaded.
LLM_FEATURES = ("CHATREC_LLM_READ", "CHATREC_LLM_CANDIDATES", "CHATREC_LLM_REPLY", "CHATREC_LLM_RERANK",
                "CHATREC_LLM_EXPLAIN")


def llm_steps() -> LLMSteps:
    """Return which optional LLM steps a turn runs, and their budget, from settings."""
    return LLMSteps(read=settings.CHATREC_LLM_READ, candidates=settings.CHATREC_LLM_CANDIDATES,
                    reply=settings.CHATREC_LLM_REPLY, rerank=settings.CHATREC_LLM_RERANK,
                    explain=settings.CHATREC_LLM_EXPLAIN, budget_s=settings.CHATREC_LLM_TURN_BUDGET)


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
        "model_path": llm["model_path"] or None,  # each backend in the registry (llm.BACKENDS) reads what it needs
        "call_budget": llm.get("call_budget", 5.0),
        "probe_interval": llm.get("probe_interval", 15.0),
    }
    if "replies" in llm:
        config["replies"] = llm["replies"]
    return config


class ServingState:
    """The per-process owner of every serving cache, with one invalidation rule and one reset."""

    def __init__(self, stamp_of: Callable[[], tuple] = serving_stamp, clock: Callable[[], float] = time.monotonic):
        self._stamp_of = stamp_of
        self._clock = clock
        self._lock = threading.RLock()
        self._stamp: tuple | None = None
        self._checked = float("-inf")
        self._parts: dict[str, Any] = {}
        self._llm: tuple[tuple, Any] | None = None
        self._bundle_failed_at: float | None = None
        self._threads_configured = False

    def reset(self) -> None:
        """Forget every cached read, the LLM backend and a remembered model failure (tests; after imports)."""
        with self._lock:
            self._stamp, self._checked, self._parts = None, float("-inf"), {}
            self._llm, self._bundle_failed_at = None, None

    def _refresh(self) -> None:
        """Re-read the stamp when RECHECK_SECONDS have passed; a changed stamp starts a new, empty snapshot."""
        now = self._clock()
        with self._lock:
            if now - self._checked < RECHECK_SECONDS:
                return
        stamp = self._stamp_of()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._parts, self._bundle_failed_at = stamp, {}, None
            self._checked = now

    def _part(self, name: str, build: Callable[[], Any]) -> Any:
        """Return one part of the current snapshot, building it on first use."""
        self._refresh()
        with self._lock:
            if name in self._parts:
                return self._parts[name]
        value = build()
        with self._lock:
            return self._parts.setdefault(name, value)

    # ------------------------------------------------------------ the snapshot

    def item_records(self) -> dict[str, ItemRecord]:
        """Return every catalog item as an engine record keyed by engine id."""
        def build():
            rows = Item.objects.order_by("pk").values(*RECORD_FIELDS)
            return {str(row["pk"]): item_record(row) for row in rows.iterator(chunk_size=5000)}

        return self._part("records", build)

    def item_popularity(self) -> dict[str, float]:
        """Return interactions per engine item id (every event but a dislike: `rules.is_interaction`)."""
        def build():
            counts = (Interaction.objects.exclude(kind__in=rules.DISLIKE_KINDS).values("item_id")
                      .annotate(n=Count("id")).values_list("item_id", "n"))
            return {str(item_id): float(n) for item_id, n in counts}

        return self._part("popularity", build)

    def serving_catalog(self):
        """Return the engine's ServingCatalog: records, constraint masks, understanding index, popularity."""
        from recommender.engine.conversation import ServingCatalog

        return self._part("catalog", lambda: ServingCatalog.build(self.item_records(), self.item_popularity()))

    def catalog_index(self):
        """Return the understanding layer's CatalogIndex over the current catalog."""
        return self.serving_catalog().index

    def active_bundle(self):
        """Return the active model's serving bundle (cold items added from text), or None.

        None before the first training, and for BUNDLE_RETRY_SECONDS after the artifact failed to load.
        """
        from recommender.engine.serving import RecommenderBundle

        def build():
            version = active_version()
            if version is None:
                return None
            bundle = RecommenderBundle.load(version.path)
            new_items = [record for key, record in self.item_records().items() if not bundle.has_item(key)]
            if new_items:
                bundle.add_items(new_items)
            return bundle

        self._refresh()  # a newly activated model is tried at once, even after a failure
        failed_at = self._bundle_failed_at
        if failed_at is not None and self._clock() - failed_at < BUNDLE_RETRY_SECONDS:
            return None
        try:
            bundle = self._part("bundle", build)
        except Exception:  # noqa: BLE001 - a broken artifact must not take the chat down
            logger.exception("could not load the active model; serving popularity for the next minute")
            self._bundle_failed_at = self._clock()
            return None
        self._bundle_failed_at = None
        if bundle is not None:
            self._configure_threads()
        return bundle

    # ------------------------------------------------------------ kept across snapshots

    def llm_backend(self):
        """Return the configured LLM backend, started once per configuration.

        A backend that cannot start becomes "none" with a warning. While no LLM feature is on (the default) the
        backend is "none" and nothing is loaded: the embedded model would cost the first turn a second or more.
        """
        from recommender.engine.llm import start_backend

        features = tuple(bool(getattr(settings, name)) for name in LLM_FEATURES)
        key = (features, *sorted((k, str(v)) for k, v in settings.CHATREC_LLM.items()))
        with self._lock:
            if self._llm is not None and self._llm[0] == key:
                return self._llm[1]
        config = llm_config() if any(features) else {"backend": "none"}
        backend, error = start_backend(config, fallback=True)
        if error:
            logger.warning("LLM backend %r unavailable, continuing without it: %s", settings.CHATREC_LLM["backend"],
                           error)
        with self._lock:
            self._llm = (key, backend)
        return backend

    def _configure_threads(self) -> None:
        """Limit torch and BLAS threads once per process: several turns run side by side, and one query
        embedding with a thread per core took ~700 ms on a busy 2-core machine against ~20 ms with one."""
        threads = settings.CHATREC_SERVING_THREADS
        if self._threads_configured or threads <= 0:
            return
        self._threads_configured = True
        torch = sys.modules.get("torch")
        if torch is not None:
            torch.set_num_threads(threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)


SERVING = ServingState()


def reset_caches() -> None:
    """Forget every cached serving read (the one reset tests use)."""
    SERVING.reset()


def item_records() -> dict[str, ItemRecord]:
    return SERVING.item_records()


def item_popularity() -> dict[str, float]:
    return SERVING.item_popularity()


def serving_catalog():
    return SERVING.serving_catalog()


def catalog_index():
    return SERVING.catalog_index()


def active_bundle():
    return SERVING.active_bundle()


def llm_backend():
    return SERVING.llm_backend()


def item_by_engine_id(item_id: str) -> Item | None:
    """Return the catalog item behind an engine id, or None for an unknown id."""
    try:
        return Item.objects.get(pk=int(item_id))
    except (ValueError, TypeError, Item.DoesNotExist):
        return None
