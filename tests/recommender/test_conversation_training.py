"""Training with recorded dialogues and chats: the version carries a co-mention model that serving uses."""
import json
import random

import pytest

from chat.models import Conversation, Message
from chat.selectors import chat_pairs
from recommender import selectors
from recommender.engine.types import Profile
from recommender.models import Interaction, Item
from recommender.services.dialogues import conversation_pairs, dialogues_import
from recommender.services.importers import ensure_profiles
from recommender.services.training import model_train
from tests.recommender.redial_lines import redial_line

pytestmark = pytest.mark.django_db

FAST = {"components": {"ease": {"l2": 5.0}, "popularity": {}}, "tune": {}, "rating": None}


@pytest.fixture
def shop(settings, tmp_path):
    settings.CHATREC_ARTIFACTS_DIR = tmp_path / "models"
    selectors.reset_caches()
    items = [Item.objects.create(source="s", external_id=str(i), title=f"Film {i} ({1990 + i})",
                                 attributes={"year": 1990 + i}) for i in range(12)]
    profiles = ensure_profiles("s", [f"u{u}" for u in range(8)])
    rng = random.Random(1)
    for profile_id in profiles.values():
        for item in rng.sample(items, 4):
            Interaction.objects.create(profile_id=profile_id, item=item, kind="rating", value=5.0,
                                       occurred_at="2026-01-01T00:00:00Z", origin="import")
    yield items
    selectors.reset_caches()


def test_training_fits_the_comention_model_and_serving_uses_it(shop, tmp_path):
    # Film 3 is suggested after Film 1 in three training dialogues; dialogue 5 (development) says Film 7.
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join([redial_line(1, 1, 3), redial_line(2, 1, 3), redial_line(3, 1, 3),
                               redial_line(5, 1, 7), redial_line(6, 2, 9)]) + "\n")
    dialogues_import(path=path, source="redial")
    version = model_train(config=FAST)
    assert version.metrics["comention"]["pairs"] == 4
    bundle = selectors.active_bundle()
    assert bundle.comention is not None
    recs = bundle.conversation_recommend(profile=Profile(liked=[str(shop[1].pk)]), n=3)
    assert recs[0].item_id == str(shop[3].pk)
    assert str(shop[7].pk) not in [r.item_id for r in recs[:1]]
    assert recs[0].evidence[0].item_id == str(shop[1].pk)
    # The ordinary recommend mixes it in for a profile that names items, and the evidence says so.
    mixed = bundle.recommend(profile=Profile(liked=[str(shop[1].pk)]), n=3)
    assert mixed[0].item_id == str(shop[3].pk) and mixed[0].sources["comention"] > 0
    assert any(e.detail == "suggested after it in recorded conversations" and e.item_id == str(shop[1].pk)
               for e in mixed[0].evidence)
    served = bundle.evidence_for([mixed[0].item_id], profile=Profile(liked=[str(shop[1].pk)]))
    assert [(e.kind, e.item_id) for e in served[mixed[0].item_id]] == [(e.kind, e.item_id) for e in mixed[0].evidence]


def test_training_without_dialogues_has_no_comention_model(shop):
    model_train(config=FAST)
    bundle = selectors.active_bundle()
    assert bundle.comention is None
    assert bundle.conversation_recommend(profile=Profile(liked=[str(shop[1].pk)]), n=3) == []


def test_chat_pairs_read_shown_items_the_person_liked(shop):
    profile = Interaction.objects.first().profile
    conversation = Conversation.objects.create(profile=profile)
    understanding = {"referenced_items": [{"item_id": str(shop[0].pk), "sentiment": "liked"}]}
    Message.objects.create(conversation=conversation, role="user", text="like Film 0")
    Message.objects.create(conversation=conversation, role="assistant", text="try these",
                           payload={"understanding": understanding,
                                    "items": [{"item_id": str(shop[5].pk)}, {"item_id": str(shop[6].pk)}]})
    Interaction.objects.create(profile=profile, item=shop[6], kind="like", occurred_at="2026-01-02T00:00:00Z",
                               conversation=conversation)
    assert chat_pairs() == [({str(shop[0].pk): 1.5}, [str(shop[6].pk)])]
    # The recommender app reads them through the chat app's registration, never importing chat.
    assert ({str(shop[0].pk): 1.5}, [str(shop[6].pk)]) in conversation_pairs()


def test_system_under_test_goes_through_the_rest_path(shop):
    from benchmarks.conversations import recommend_for_dialogue

    model_train(config=FAST)
    messages = [{"role": "user", "content": "Hi, I loved Film 1 (1991)"},
                {"role": "assistant", "content": "What else do you like?"},
                {"role": "user", "content": "something like Film 2 please"}]
    ids = recommend_for_dialogue(messages, 5)
    assert 0 < len(ids) <= 5
    assert set(ids) <= {item.external_id for item in shop}
    assert recommend_for_dialogue([{"role": "assistant", "content": "hello"}], 5) == []


def test_dialogues_with_the_seekers_answers_teach_the_served_readings(shop, tmp_path):
    lines = []
    for cid in range(1, 9):
        line = json.loads(redial_line(cid * 5 + 1, 1, 3))  # never a development id (id % 5 == 0)
        liked = cid % 2 == 0
        line["messages"].append({"senderWorkerId": 1, "text": "loved it, will watch" if liked else "no, hated that"})
        line["initiatorQuestions"] = {"1": {"suggested": 0, "seen": 1, "liked": 1},
                                      "3": {"suggested": 1, "seen": 0, "liked": 1 if liked else 0}}
        lines.append(json.dumps(line))
    path = tmp_path / "answered.jsonl"
    path.write_text("\n".join(lines) + "\n")
    dialogues_import(path=path, source="redial")
    version = model_train(config=FAST)
    assert version.metrics["learned_understanding"]["reaction"]["labels"] == {"accepts": 4, "rejects": 4}
    reading = selectors.active_bundle().learned
    assert reading is not None and reading.reaction is not None
    assert reading.reaction.predict("no, hated that", "You should see <movie>")[0] == "rejects"


def test_the_learned_reading_is_served_only_when_the_deployment_turns_it_on(settings):
    from chat.services import learned_reading

    class Version:
        learned = object()

    settings.CHATREC_LEARNED_READING = False
    assert learned_reading(Version()) is None
    settings.CHATREC_LEARNED_READING = True
    assert learned_reading(Version()) is Version.learned and learned_reading(None) is None
