"""Hostile input to the REST API: every failure is a 4xx in the documented error shape, never a 500 or a repr."""
from __future__ import annotations

import json
import math

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommender import selectors
from recommender.models import Interaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def token_client(django_user_model):
    user = django_user_model.objects.create_user("mallory")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def assert_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    message = body["error"]["message"]
    # No Python reprs: no ErrorDetail(...), no quoted dicts or lists, no class names.
    assert "ErrorDetail" not in message and "{'" not in message and "['" not in message, message
    return body["error"]


@pytest.mark.parametrize("query", [
    "format=xyz", "page=%C2%B2", "page_size=%D9%A3", "page=-1", "year_min=1e400", "year_min=nan",
    "year_max=%C2%B2", "&".join(f"a{i}=1" for i in range(1200)),
])
def test_bad_item_queries_are_refused_in_the_error_shape(catalog, client, query):
    response = client.get(f"/api/v1/items?{query}")
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


@pytest.mark.parametrize("path", ["/api/v1/items/abc", "/api/v1/items/-1", "/api/v1/items/%C2%B2",
                                  "/api/v1/nowhere", "/api/v2/items"])
def test_unrouted_api_paths_answer_in_the_error_shape(client, path):
    assert assert_error(client.get(path), 404)["code"] == "not_found"


def post(client, url, raw):
    return client.post(url, data=raw, content_type="application/json")


@pytest.mark.parametrize("raw", [
    "[" * 5000 + "]" * 5000,
    '{"messages": ' + "[" * 3000 + "]" * 3000 + "}",
    '{"messages": [{"role": "user", "content": "hi"}], "k": 1e400}',
    '{"messages": [{"role": "user", "content": "hi"}], "k": NaN}',
    '{"messages": [{"role": "user", "content": "\\ud800"}]}',
    '{"messages": [{"role": "user", "content": "hi"}], "k": ' + "9" * 30 + "}",
    '{"messages": [7]}',
    '{"messages": [{"role": {"a": [1]}, "content": "x"}]}',
    "\xff\xfe",
])
def test_hostile_recommend_bodies_are_refused(catalog, client, raw):
    assert_error(post(client, "/api/v1/recommend", raw), 400)


@pytest.mark.parametrize("raw", [
    '{"item": 1, "kind": "like", "value": 1e400}',
    '{"item": 1, "kind": "like", "value": "NaN"}',
    '{"item": 1, "kind": "like", "value": "-Infinity"}',
    '{"item": 1, "kind": "like", "key": "\\ud800"}',
    '{"item": 99999999999999999999999, "kind": "like"}',
    '{"item": ' + "[" * 2000 + "]" * 2000 + "}",
])
def test_hostile_feedback_is_refused_and_nothing_is_stored(catalog, token_client, raw):
    before = Interaction.objects.count()
    assert_error(post(token_client, "/api/v1/feedback", raw), 400)
    assert Interaction.objects.count() == before


def test_stored_feedback_values_are_always_serialisable(catalog, token_client):
    item = catalog["ml-1"].pk
    response = post(token_client, "/api/v1/feedback", json.dumps({"item": item, "kind": "rating", "value": 4.5}))
    assert response.status_code == 201 and response.json()["value"] == 4.5
    values = Interaction.objects.exclude(value=None).values_list("value", flat=True)
    assert all(math.isfinite(v) for v in values)


def test_schema_documents_the_error_responses(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "ErrorOut" in schema["components"]["schemas"]
    for path, ops in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, op in ops.items():
            for status in ("400", "408", "413", "429"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorOut"), (path, method, status)
    assert client.get("/api/schema/?format=xyz").status_code == 404
    assert {"401", "415"} <= set(schema["paths"]["/api/v1/feedback"]["post"]["responses"])


def test_invented_filter_names_are_refused_and_leave_no_cached_masks(catalog, client):
    constraints = selectors.serving_catalog().constraints
    for i in range(30):
        error = assert_error(client.get(f"/api/v1/items?new{i}_min=1&made_up{i}=x&year_min=1990"), 400)
        assert error["code"] == "invalid"
        assert f"new{i}_min" in error["message"] and "year" in error["message"], error["message"]
    assert set(constraints._range_cache) <= {"year"} and not constraints._attr_cache


def test_filters_on_known_attributes_still_work(catalog, client):
    body = client.get("/api/v1/items?year_min=1990&year_max=1995&genres=Comedy").json()
    assert {r["title"] for r in body["results"]} == {"Home Alone (1990)", "Forrest Gump (1994)",
                                                    "Toy Story (1995)"}
    assert client.get("/api/v1/items?price_max=50").json()["count"] == 1


def test_too_many_filters_are_refused(catalog, client):
    known = ["genres=Comedy", "year_min=1", "category=dress", "color=pink", "season=summer", "price_max=100"]
    assert client.get("/api/v1/items?" + "&".join(known)).status_code == 200
    error = assert_error(client.get("/api/v1/items?" + "&".join(f"x{i}=1" for i in range(21))), 400)
    assert "At most 20" in error["message"], error["message"]


def test_a_page_number_of_thousands_of_digits_is_a_400(catalog, client):
    assert assert_error(client.get("/api/v1/items?page=" + "9" * 5000), 400)["code"] == "invalid"


def test_a_new_forwarded_address_per_request_does_not_lift_the_anonymous_limit(catalog, client, settings):
    from rest_framework.throttling import AnonRateThrottle

    limit = int(AnonRateThrottle().get_rate().split("/")[0])
    statuses = [client.get("/api/v1/items?page_size=1", HTTP_X_FORWARDED_FOR=f"10.{n // 250}.{n % 250}.1").status_code
                for n in range(limit + 5)]
    assert statuses.count(200) == limit and statuses[limit:] == [429] * 5


def test_a_long_message_list_is_read_only_as_far_as_its_newest_context(catalog, client, settings, monkeypatch):
    from chat import services

    read = []
    original = services.context_from_messages

    def recording(messages, *args, **kwargs):
        read.extend(messages)
        return original(messages, *args, **kwargs)

    monkeypatch.setattr(services, "context_from_messages", recording)
    limit = settings.CHATREC_MAX_MESSAGE_CHARS
    messages = [{"role": "user" if n % 2 == 0 else "assistant", "content": f"{n:03d} " + "x" * (limit - 4)}
                for n in range(49)]
    response = client.post("/api/v1/recommend", data=json.dumps({"messages": messages, "k": 3}),
                           content_type="application/json")
    assert response.status_code == 200
    budget = services.CONTEXT_MESSAGES_CHARS * limit
    assert sum(len(m["content"]) for m in read) <= budget
    assert [m["content"][:3] for m in read] == [f"{n:03d}" for n in range(48 - budget // limit, 48)]
