"""A hung LLM server costs a turn at most its budget, and once the circuit opens, nothing at all."""
from __future__ import annotations

import json
import time

import pytest
from rest_framework.test import APIClient

from recommender import selectors
from recommender.engine.llm import CircuitBreaker
from tests.engine.llm.test_llm_breaker import FlakyServer, remote

pytestmark = pytest.mark.django_db


@pytest.fixture
def hung_llm(monkeypatch, settings):
    server = FlakyServer()
    breaker = CircuitBreaker(remote(server), call_budget=0.5, failure_threshold=1, probe_interval=60,
                             start_closed=True)
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: breaker)
    settings.CHATREC_LLM_RERANK = True
    yield breaker
    breaker.close()
    server.close()


def recommend(text):
    body = json.dumps({"messages": [{"role": "user", "content": text}], "k": 3})
    started = time.perf_counter()
    response = APIClient().post("/api/v1/recommend", data=body, content_type="application/json")
    return response, time.perf_counter() - started


def test_turns_are_answered_while_the_llm_server_hangs(catalog, hung_llm):
    first, first_s = recommend("recommend me a comedy")
    assert first.status_code == 200 and len(first.json()["items"]) == 3
    assert first_s < 10.0  # one 0.5 s call budget plus the turn, not the 30 s read timeout times two tries
    assert hung_llm.state == "open"
    second, second_s = recommend("推荐几部九十年代的动画片")
    assert second.status_code == 200 and second_s < 5.0  # the open circuit is not even tried


def test_the_llm_reading_and_suggestions_never_hold_a_turn_past_the_turn_budget(catalog, monkeypatch, settings):
    server = FlakyServer()  # accepts and never answers
    breaker = CircuitBreaker(remote(server), call_budget=30.0, failure_threshold=5, probe_interval=60,
                             start_closed=True)
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: breaker)
    settings.CHATREC_LLM_READ = settings.CHATREC_LLM_CANDIDATES = True
    settings.CHATREC_LLM_TURN_BUDGET = 0.5
    try:
        response, seconds = recommend("I loved Fargo, something similar")
        assert response.status_code == 200 and len(response.json()["items"]) == 3
        assert seconds < 4.0  # the turn's 0.5 s budget, not the breaker's 30 s
    finally:
        breaker.close()
        server.close()
