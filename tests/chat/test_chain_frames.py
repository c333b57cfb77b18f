"""The explanation frames and the stored conversation carry the knowledge chain as a page draws it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from chat import selectors as chat_selectors
from chat import services
from recommender import selectors
from recommender.models import Interaction
from tests.chat.test_with_model import trained, turn_frames  # noqa: F401 - the trained model fixture

pytestmark = pytest.mark.django_db


def test_explanations_carry_the_chain_from_the_liked_film_and_history_redraws_it(
    trained, guest, quiet_engine, monkeypatch
):  # noqa: F811
    monkeypatch.setattr(selectors.SERVING, "llm_backend", lambda: quiet_engine)
    monkeypatch.setattr(services.policy, "strategy_choose", lambda: "balanced")
    profile, _ = guest
    fargo = trained["ml-100"]
    Interaction.objects.create(profile=profile, item=fargo, kind="like", occurred_at=timezone.now())
    conversation = services.conversation_start(profile=profile)
    frames = turn_frames("recommend something", profile, conversation, k=3)
    explained = [f for f in frames if f["type"] == "chat.explanation" and "chain" in f]
    assert explained, "no explanation carries a chain"
    frame = next(f for f in explained if f["item_id"] == trained["ml-56"].pk)  # Pulp Fiction, Fargo's group
    chain = frame["chain"]
    assert chain["heading"] == "How it connects" and chain["hops"] == 2
    path = chain["paths"][0]
    assert path[0] == f"item:{fargo.pk}" and path[-1] == f"item:{trained['ml-56'].pk}"
    labels = {node["id"]: node["label"] for node in chain["nodes"]}
    assert labels[path[0]] == "Fargo (1996)" and labels[path[2]] in frame["text"]
    assert "Fargo (1996)" in frame["text"]

    history = chat_selectors.conversation_history(conversation=conversation)
    cards = [card for message in history for card in message["items"] if card.get("chain")]
    stored = next(card for card in cards if card["id"] == trained["ml-56"].pk)
    assert stored["chain"]["paths"] == chain["paths"]
