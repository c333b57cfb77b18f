"""GET /healthz: whether this web process can serve, for a load balancer, a supervisor or an operator.

The answer names the process (`pid`), so behind one address (`bin/serve-multi`) one can tell which process
answered, and reports each configured dependency under `checks`, each as {"ok": bool, "detail": "..."}:

- `database` (required): a `SELECT 1`.
- `cache` (required): a read from the configured cache (Redis when `REDIS_URL` is set: rate limits live there).
- `channel_layer` (required): a ping of the Redis channel layer, or "in-memory".
- `broker` (required): a connection to the Celery broker (Redis or AMQP), or the file broker's folders.
- `model` (informational): the active model version, or none before the first training (popularity serves).
- `llm` (informational, only when a backend is configured): whether it is in use now; a remote backend behind
  its circuit breaker says "open" while the server is down (turns go on without it).

200 with `"status": "ok"` when every required check passes (`"degraded"` when only the LLM is out); 503 with
`"status": "unavailable"` and the error shape every API failure has, {"error": {"code": "unavailable",
"message": "<the failing checks>"}}, otherwise. Each probe waits at most PROBE_TIMEOUT_S; nothing is written.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_TIMEOUT_S = 1.0
REQUIRED = ("database", "cache", "channel_layer", "broker")


def _outcome(probe: Callable[[], str]) -> dict[str, Any]:
    """Return {"ok", "detail", "ms"} for a probe that returns a detail or raises."""
    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except Exception as exc:  # noqa: BLE001 - any failure is "not ready", named by its kind
        detail, ok = f"{type(exc).__name__}: {str(exc)[:160]}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def database() -> str:
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def redis_ping(url: str) -> str:
    """Return "redis" when the server at url answers PING within the probe timeout."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S)
    try:
        client.ping()
    finally:
        client.close()
    return "redis"


def cache_read() -> str:
    cache.get("chatrec:healthz")  # a read: a round trip to Redis when the cache is Redis
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def channel_layer() -> str:
    layer = settings.CHANNEL_LAYERS["default"]
    if layer["BACKEND"].endswith("InMemoryChannelLayer"):
        return "in-memory"
    host = layer["CONFIG"]["hosts"][0]
    return redis_ping(host["address"] if isinstance(host, dict) else host)


def broker(url: str | None = None, options: dict | None = None) -> str:
    """Return the broker's kind when it can be reached (a file broker: when its folders are writable)."""
    url = url if url is not None else settings.CELERY_BROKER_URL
    options = options if options is not None else settings.CELERY_BROKER_TRANSPORT_OPTIONS
    scheme = url.split(":", 1)[0]
    if scheme == "memory":
        return "memory"
    if scheme == "filesystem":
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            folder = Path(options[key])
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise OSError(f"{key} {folder} is not a writable folder")
        return "filesystem"
    if scheme in ("redis", "rediss"):
        return redis_ping(url)
    from kombu import Connection

    with Connection(url, connect_timeout=PROBE_TIMEOUT_S) as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_S)
    return scheme


def model_version() -> dict[str, Any]:
    from recommender.selectors import active_version

    version = active_version()
    if version is None:
        return {"ok": True, "detail": "no model trained yet; popularity serves"}
    return {"ok": True, "detail": f"{version.name} (id {version.pk}, {version.created_at:%Y-%m-%d %H:%M} UTC)",
            "version": version.pk}


def llm() -> dict[str, Any] | None:
    """Return the LLM backend's state without starting it (loading a model is not a health check)."""
    from recommender.selectors import SERVING

    if settings.CHATREC_LLM["backend"] == "none":
        return None
    started = SERVING._llm  # (config key, backend) once the first turn needed it
    if started is None:
        return {"ok": True, "detail": f"{settings.CHATREC_LLM['backend']} configured, not started yet"}
    backend = started[1]
    return {"ok": bool(backend.enabled), "detail": backend.describe()}


@never_cache
@require_GET
def livez(request):
    """GET /livez: this process answers HTTP at all (no dependency is asked); `bin/serve-multi`'s hang probe."""
    return JsonResponse({"status": "ok", "pid": os.getpid()})


@never_cache
@require_GET
def healthz(request):
    checks: dict[str, Any] = {"database": _outcome(database), "cache": _outcome(cache_read),
                              "channel_layer": _outcome(channel_layer), "broker": _outcome(broker)}
    try:
        checks["model"] = model_version()
    except Exception as exc:  # noqa: BLE001 - without a database there is no version to read
        checks["model"] = {"ok": False, "detail": type(exc).__name__}
    llm_state = llm()
    if llm_state is not None:
        checks["llm"] = llm_state
    failing = [name for name in REQUIRED if not checks[name]["ok"]]
    body: dict[str, Any] = {"pid": os.getpid(), "checks": checks}
    if failing:
        message = "; ".join(f"{name}: {checks[name]['detail']}" for name in failing)
        body.update(status="unavailable", error={"code": "unavailable", "message": message})
        return JsonResponse(body, status=503)
    body["status"] = "degraded" if llm_state is not None and not llm_state["ok"] else "ok"
    return JsonResponse(body, status=200)
