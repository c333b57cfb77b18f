"""What `manage.py train` teaches the text encoder from the database: stored training dialogues and liked chats."""
from __future__ import annotations

import pytest

from chat.models import Conversation, Message
from chat.selectors import chat_encoder_examples
from recommender import selectors
from recommender.models import Interaction, Item
from recommender.services.dialogues import dialogues_import
from recommender.services.importers import ensure_profiles
from recommender.services.training import encoder_dialogues, model_train
from tests.recommender.redial_lines import redial_line

pytestmark = pytest.mark.django_db

FAST = {"components": {"ease": {"l2": 5.0}, "popularity": {}}, "tune": {}, "rating": None}


@pytest.fixture
def shop(settings, tmp_path):
    settings.CHATREC_ARTIFACTS_DIR = tmp_path / "models"
    selectors.reset_caches()
    items = [Item.objects.create(source="s", external_id=str(i), title=f"Film {i} ({1990 + i})",
                                 attributes={"year": 1990 + i}) for i in range(6)]
    profiles = ensure_profiles("s", ["u0", "u1"])
    for n, profile_id in enumerate(profiles.values()):
        for item in items[n:n + 4]:
            Interaction.objects.create(profile_id=profile_id, item=item, kind="rating", value=5.0,
                                       occurred_at="2026-01-01T00:00:00Z", origin="import")
    yield items
    selectors.reset_caches()


def test_encoder_dialogues_are_the_training_dialogues_text_and_never_the_development_split(shop, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join([redial_line(1, 1, 3), redial_line(5, 1, 4)]) + "\n")  # 5 % 5 == 0: development
    dialogues_import(path=path, source="redial")
    assert encoder_dialogues() == [([{"role": "user", "content": "I like Film 1 (1991)"}], [str(shop[3].pk)])]


def test_chat_examples_are_the_messages_before_a_shown_item_the_person_liked(shop):
    profile = Interaction.objects.first().profile
    conversation = Conversation.objects.create(profile=profile)
    Message.objects.create(conversation=conversation, role="user", text="something with submarines")
    Message.objects.create(conversation=conversation, role="assistant", text="try these",
                           payload={"items": [{"item_id": str(shop[4].pk)}, {"item_id": str(shop[5].pk)}]})
    Message.objects.create(conversation=conversation, role="user", text="more please")
    Message.objects.create(conversation=conversation, role="assistant", text="and these",
                           payload={"items": [{"item_id": str(shop[5].pk)}]})
    Interaction.objects.create(profile=profile, item=shop[5], kind="like", occurred_at="2026-01-02T00:00:00Z",
                               conversation=conversation)
    # Liked once: counted after the first list that showed it, not again when it is shown again.
    assert chat_encoder_examples() == [([{"role": "user", "content": "something with submarines"}],
                                        [str(shop[5].pk)])]


def test_training_with_too_few_dialogues_keeps_the_packaged_encoder(shop, tmp_path, settings):
    assert settings.CHATREC_TRAIN_ENCODER  # on by default: the threshold decides
    path = tmp_path / "d.jsonl"
    path.write_text(redial_line(1, 1, 3) + "\n")
    dialogues_import(path=path, source="redial")
    version = model_train(config=FAST)
    assert "packaged encoder serves" in version.metrics["encoder"]["skipped"]
    assert selectors.active_bundle().retrieval is None


def test_the_encoder_is_trained_only_when_the_deployment_asks_for_it(shop, tmp_path, settings):
    path = tmp_path / "d.jsonl"
    path.write_text(redial_line(1, 1, 3) + "\n")
    dialogues_import(path=path, source="redial")
    settings.CHATREC_TRAIN_ENCODER = False
    version = model_train(config=FAST)
    assert "encoder" not in (version.metrics or {})
    assert selectors.active_bundle().retrieval is None
