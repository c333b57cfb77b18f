"""Item cards and the evidence beside them: what the request was about comes first, in the reply's language."""
from __future__ import annotations

import re

import pytest

from chat import selectors, services
from recommender.engine.types import ItemRecord

pytestmark = pytest.mark.django_db


def frames(text, profile, conversation=None, **kw):
    return [e.frame() for e in services.turn_start(text=text, profile=profile, conversation=conversation, **kw).events()]


def test_a_card_lists_the_asked_genres_first_and_names_them_in_its_language():
    alien = ItemRecord("7", "Alien (1979)", domain="movie",
                       attributes={"genres": ["Action", "Horror", "Sci-Fi", "Thriller"], "year": 1979})
    asked = {"genres": ["Thriller"]}
    card = selectors.item_card(alien, None, 0.5, 1, "en", asked)
    assert card["attributes"]["genres"][:1] == ["Thriller"]  # a card shows the first few genres
    assert sorted(card["attributes"]["genres"]) == sorted(alien.attributes["genres"])
    assert card["highlights"] == ["Thriller"]
    assert selectors.item_card(alien, None, 0.5, 1, "zh", asked)["highlights"] == ["惊悚"]
    assert selectors.item_card(alien, None, 0.5, 1, "en")["attributes"] == alien.attributes


def test_a_romance_request_shows_romance_on_every_card_live_and_when_reopened(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = frames("recommend a romance", profile, conversation, k=3)
    cards = next(e for e in events if e["type"] == "chat.items")["items"]
    assert cards and all(card["attributes"]["genres"][0] == "Romance" for card in cards)
    reopened = [c for m in selectors.conversation_history(conversation=conversation) for c in m["items"]]
    assert [c["attributes"]["genres"][0] for c in reopened] == ["Romance"] * len(cards)


def test_evidence_frames_are_written_for_people_in_the_reply_language(catalog, guest):
    profile, _ = guest
    for text, zh in (("推荐几部喜剧", True), ("recommend me a comedy", False)):
        conversation = services.conversation_start(profile=profile)
        events = frames(text, profile, conversation, k=3)
        facts = [ev for e in events if e["type"] == "chat.explanation" for ev in e["evidence"]]
        assert facts
        for fact in facts:
            assert 0.0 <= fact["share"] <= 1.0 and fact["label"] and fact["text"]
            assert not re.search(r"[a-z]+_[a-z]+|domain", fact["text"])
            if zh:
                assert not re.search(r"[A-Za-z]", re.sub(r"《[^》]*》", "", fact["text"])), fact["text"]
        reopened = [ev for m in selectors.conversation_history(conversation=conversation) for c in m["items"]
                    for ev in c["evidence"]]
        assert [f["text"] for f in reopened] == [f["text"] for f in facts]
