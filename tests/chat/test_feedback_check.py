"""One feedback check for both adapters: the websocket frame and the REST body accept and refuse the same requests."""

from __future__ import annotations

import json

import pytest

from chat import services
from recommender.engine import rules
from recommender.models import Interaction
from tests.chat.test_api import assert_error, post, token_client  # noqa: F401 - fixture
from tests.chat.test_consumers import _release_turn_threads, communicator, send_raw  # noqa: F401 - fixture

BAD = [
    ({"item": "5", "kind": "like"}, "item"),
    ({"item": True, "kind": "like"}, "item"),
    ({"item": 0, "kind": "like"}, "item"),
    ({"item": 2**63, "kind": "like"}, "item"),
    ({"kind": "like"}, "item"),
    ({"item": 1, "kind": "adore"}, "kind"),
    ({"item": 1, "kind": ["like"]}, "kind"),
    ({"item": 1, "kind": "rating", "value": "4"}, "value"),
    ({"item": 1, "kind": "rating", "value": True}, "value"),
    ({"item": 1, "kind": "rating", "value": 2e6}, "value"),
    ({"item": 1, "kind": "like", "key": ""}, "key"),
    ({"item": 1, "kind": "like", "key": "k" * 101}, "key"),
    ({"item": 1, "kind": "like", "key": 7}, "key"),
]


def test_the_feedback_kinds_are_the_stored_kinds():
    assert set(rules.FEEDBACK_KINDS) == set(Interaction.Kind.values)


@pytest.mark.parametrize(("body", "field"), BAD)
def test_the_check_names_the_field_at_fault(body, field):
    with pytest.raises(services.TurnError) as caught:
        services.feedback_check(body.get("item"), body.get("kind"), body.get("value"), body.get("key"))
    assert (caught.value.code, caught.value.field) == ("bad_field", field)


def test_good_requests_come_back_typed():
    assert services.feedback_check(3, "purchase", 4, "k") == (3, "purchase", 4.0, "k")
    assert services.feedback_check(3, "view") == (3, "view", None, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_websocket_refuses_what_the_check_refuses_and_takes_every_kind(catalog, guest):
    comm = communicator(guest[1])
    assert (await comm.connect())[0]
    for body, field in BAD:
        frame = await send_raw(comm, json.dumps({"type": "feedback", **body}))
        if body.get("item") == 2**63:  # past 64 bits: the JSON reader refuses the frame before any check
            assert frame["code"] == "bad_json"
            continue
        assert (frame["type"], frame["code"]) == ("chat.error", "bad_field") and f"'{field}'" in frame["message"]
    item = catalog["ml-1"].pk
    for kind in rules.FEEDBACK_KINDS:  # purchase and view too, which the socket once refused
        value = 4.0 if kind == "rating" else None
        saved = await send_raw(comm, json.dumps({"type": "feedback", "item": item, "kind": kind, "value": value}))
        assert saved["type"] == "feedback.saved" and saved["kind"] == kind
    await comm.disconnect()


@pytest.mark.django_db
def test_the_rest_api_refuses_what_the_check_refuses(catalog, token_client):  # noqa: F811
    client, _ = token_client
    before = Interaction.objects.count()
    for body, field in BAD:
        error = assert_error(post(client, "/api/v1/feedback", body), 400)
        if body.get("item") == 2**63:  # past 64 bits: the JSON reader refuses the body before any check
            assert error["code"] == "parse_error"
            continue
        assert (error["code"], error["message"].split(":")[0]) == ("invalid", field)
    assert Interaction.objects.count() == before
    response = post(client, "/api/v1/feedback", {"item": catalog["ml-1"].pk, "kind": "purchase"})
    assert response.status_code == 201
