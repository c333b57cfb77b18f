"""The optional `schema` of `complete`: sent to servers that can enforce it, ignored by backends that cannot."""
from __future__ import annotations

import json

import httpx

from recommender.engine.llm import CircuitBreaker, FakeBackend
from recommender.engine.llm.openai_compat import OpenAICompatBackend

SCHEMA = {"type": "object", "properties": {"titles": {"type": "array"}}, "required": ["titles"]}


def backend_answering(handler) -> tuple[OpenAICompatBackend, list[dict]]:
    bodies: list[dict] = []

    def record(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return handler(bodies[-1])

    transport = httpx.MockTransport(record)
    return OpenAICompatBackend("http://llm.test/v1", "m", retries=0, transport=transport), bodies


def answer(text: str) -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"message": {"content": text}}]})


def test_the_schema_goes_out_as_response_format_and_guided_json():
    backend, bodies = backend_answering(lambda body: answer('{"titles": []}'))
    assert backend.complete("suggest", max_tokens=20, schema=SCHEMA) == '{"titles": []}'
    sent = bodies[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == SCHEMA and sent["guided_json"] == SCHEMA
    backend.complete("plain")
    assert "response_format" not in bodies[1] and "guided_json" not in bodies[1]


def test_a_server_that_refuses_the_schema_fields_is_asked_again_without_them():
    def handler(body):
        if "guided_json" in body:
            return httpx.Response(400, json={"error": "unknown field guided_json"})
        return answer("plain text")

    backend, bodies = backend_answering(handler)
    assert backend.complete("suggest", schema=SCHEMA) == "plain text"
    assert len(bodies) == 2 and "guided_json" not in bodies[1]


def test_the_circuit_breaker_passes_the_schema_on_within_its_budget():
    backend, bodies = backend_answering(lambda body: answer("{}"))
    breaker = CircuitBreaker(backend, call_budget=2.0, start_closed=True)
    try:
        assert breaker.complete("suggest", schema=SCHEMA) == "{}"
        assert bodies[0]["guided_json"] == SCHEMA
    finally:
        breaker.close()


def test_backends_that_cannot_constrain_output_ignore_the_schema():
    assert FakeBackend(default="hello there").complete("x", schema=SCHEMA) == "hello there"
