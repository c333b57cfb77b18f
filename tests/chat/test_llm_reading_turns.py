"""The LLM reading and suggesting through the chat service: what it reads of the stored or sent dialogue."""
from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from chat import services
from recommender import selectors
from tests.engine.test_llm_reading import SchemaBackend, reading

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(monkeypatch, settings):
    backend = SchemaBackend(replies={
        "Read this conversation": reading(items=[("Star Wars", 1977, "liked")]),
        "You are a recommender": json.dumps({"titles": [{"title": "Alien", "year": 1979},
                                                        {"title": "Back to the Future", "year": None}]}),
    })
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: backend)
    settings.CHATREC_LLM_READ = settings.CHATREC_LLM_CANDIDATES = True
    return backend


def test_the_rest_path_gives_the_llm_the_messages_it_was_sent(catalog, reader):
    messages = [{"role": "user", "content": "my favourite has lightsabers"},
                {"role": "assistant", "content": "Nice! What else do you enjoy?"},
                {"role": "user", "content": "anything with sci-fi"}]
    body = json.dumps({"messages": messages, "k": 3})
    answer = APIClient().post("/api/v1/recommend", data=body, content_type="application/json").json()
    prompt = next(p for p in reader.calls if "Read this conversation" in p)
    assert "lightsabers" in prompt and "What else do you enjoy?" in prompt and "anything with sci-fi" in prompt
    ids = [card["external_id"] for card in answer["items"]]
    assert "ml-50" not in ids  # Star Wars: the LLM read it as named, so it is not suggested back
    assert {"ml-183", "ml-204"} & set(ids)  # a suggested sci-fi title joined the list


def test_a_stored_conversation_is_read_from_its_messages(catalog, guest, reader):
    profile = guest[0]
    conversation = services.conversation_start(profile=profile)
    services.turn_start(text="my favourite has lightsabers", profile=profile, conversation=conversation).collect()
    reader.calls.clear()
    conversation.refresh_from_db()
    services.turn_start(text="recommend something", profile=profile, conversation=conversation).collect()
    prompt = next(p for p in reader.calls if "Read this conversation" in p)
    assert prompt.index("lightsabers") < prompt.index("recommend something")
    stored = conversation.messages.order_by("-id").first().payload
    star_wars = str(catalog["ml-50"].pk)
    assert stored["llm"]["read"]["applied"] and stored["items"]
    assert star_wars not in [e["item_id"] for e in stored["items"]]
