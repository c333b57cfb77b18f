"""GET /healthz: each configured dependency, 503 in the API's error shape when a required one is down."""
from __future__ import annotations

import os
import socket

import pytest

from chatrec_site import health
from recommender.models import ModelVersion

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_configured_dependency_is_reported(client, settings):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["pid"] == os.getpid() and "error" not in body
    checks = body["checks"]
    assert {"database", "cache", "channel_layer", "broker", "model"} <= set(checks)
    assert all(checks[name]["ok"] for name in ("database", "cache", "channel_layer", "broker", "model"))
    # What is configured is what is named: SQLite and in-memory layers by default, PostgreSQL and Redis when set.
    from django.db import connection

    in_memory = settings.CHANNEL_LAYERS["default"]["BACKEND"].endswith("InMemoryChannelLayer")
    assert checks["database"]["detail"] == connection.vendor
    assert checks["channel_layer"]["detail"] == ("in-memory" if in_memory else "redis")
    assert checks["broker"]["detail"] in {"filesystem", "memory", "redis", "amqp"}
    assert "no model" in checks["model"]["detail"]


def test_the_active_model_version_is_named(client):
    version = ModelVersion.objects.create(name="nightly-7", path="/tmp/nowhere", is_active=True)
    checks = client.get("/healthz").json()["checks"]
    assert checks["model"]["version"] == version.pk and "nightly-7" in checks["model"]["detail"]


def test_a_broker_that_does_not_answer_makes_the_process_unavailable(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable" and not body["checks"]["broker"]["ok"]
    assert body["error"]["code"] == "unavailable" and body["error"]["message"].startswith("broker: ")
    assert body["checks"]["database"]["ok"]  # the others are still reported


def test_a_redis_channel_layer_and_cache_that_do_not_answer_are_named(client, settings):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [{"address": url}]}}}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    body = client.get("/healthz").json()
    assert not body["checks"]["channel_layer"]["ok"] and not body["checks"]["cache"]["ok"]
    assert "channel_layer: " in body["error"]["message"] and "cache: " in body["error"]["message"]


def test_a_database_that_does_not_answer_is_503(client, monkeypatch):
    def down():
        raise ConnectionError("database is down")

    monkeypatch.setattr(health, "database", down)
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json()["error"]["message"] == (
        "database: ConnectionError: database is down")


def test_an_llm_out_of_use_degrades_but_does_not_fail(client, monkeypatch, settings):
    from recommender import selectors

    class Open:
        enabled = False

        def describe(self):
            return "openai-compatible (http://llm:8000/v1) [circuit open]"

    settings.CHATREC_LLM = {**settings.CHATREC_LLM, "backend": "openai"}
    monkeypatch.setattr(selectors.SERVING, "_llm", ("key", Open()))
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["status"] == "degraded"
    assert answer.json()["checks"]["llm"] == {"ok": False, "detail": Open().describe()}


def test_without_an_llm_backend_there_is_no_llm_check(client, settings):
    settings.CHATREC_LLM = {**settings.CHATREC_LLM, "backend": "none"}
    assert "llm" not in client.get("/healthz").json()["checks"]
