"""Training from the database: a model version is recorded, activated and served; new items serve cold."""
import random

import pytest
from django.core.management import CommandError, call_command

from recommender import selectors
from recommender.engine import rules
from recommender.engine.types import Constraints, Profile
from recommender.models import Interaction, Item, ModelVersion
from recommender.services.feedback import interaction_record
from recommender.services.importers import ensure_profiles
from recommender.services.training import dataset_from_db, model_train

pytestmark = pytest.mark.django_db

FAST = {"components": {"ease": {"l2": 5.0}, "popularity": {}}, "tune": {}, "rating": None}


@pytest.fixture
def small_shop(settings, tmp_path):
    settings.CHATREC_ARTIFACTS_DIR = tmp_path / "models"
    selectors.reset_caches()
    genres = ["Comedy", "Drama", "Horror"]
    items = [Item.objects.create(source="s", external_id=str(i), domain="movie", title=f"Film {i}",
                                 attributes={"genres": [genres[i % 3]], "year": 1990 + i}) for i in range(30)]
    profiles = ensure_profiles("s", [f"u{u}" for u in range(20)])
    rng = random.Random(3)
    for user, profile_id in profiles.items():
        group = int(user[1:]) % 3
        for item in rng.sample([it for it in items if int(it.external_id) % 3 == group], 6):
            Interaction.objects.create(profile_id=profile_id, item=item, kind="rating", value=5.0,
                                       occurred_at="2026-01-01T00:00:00Z", origin="import")
    yield items
    selectors.reset_caches()


def test_dataset_keeps_ratings_and_drops_dislikes(small_shop):
    profile_id = Interaction.objects.first().profile_id
    interaction_record(profile=Interaction.objects.first().profile, item=small_shop[1], kind="dislike")
    data = dataset_from_db()
    assert len(data.item_ids) == 30
    assert data.n_users == 20
    assert len(data.values) == 120
    assert str(profile_id) in data.user_index


def test_the_same_stored_feedback_gives_the_same_dataset_whatever_order_it_arrived_in(small_shop):
    # The validation split that learns the fused weights draws by position: arrival order must not move it.
    before = dataset_from_db()
    stored = list(Interaction.objects.order_by("pk"))
    for n, interaction in enumerate(reversed(stored)):  # the last stored now arrived first
        Interaction.objects.filter(pk=interaction.pk).update(occurred_at=f"2026-02-01T00:{n // 60:02d}:{n % 60:02d}Z")
    after = dataset_from_db()
    assert after.user_ids == before.user_ids
    assert after.rows.tolist() == before.rows.tolist() and after.cols.tolist() == before.cols.tolist()
    assert after.values.tolist() == before.values.tolist()


def test_train_records_activates_and_serves(small_shop):
    version = model_train(config=FAST)
    assert version.is_active and ModelVersion.objects.get(is_active=True).pk == version.pk
    assert (version.n_items, version.n_users, version.n_interactions) == (30, 20, 120)
    assert "validation" in version.metrics
    bundle = selectors.active_bundle()
    comedy_fan = Interaction.objects.filter(item__attributes__genres__icontains="Comedy").first().profile_id
    recs = bundle.recommend(user_key=str(comedy_fan), n=5)
    seen = set(Interaction.objects.filter(profile_id=comedy_fan).values_list("item_id", flat=True))
    assert len(recs) == 5 and not {int(r.item_id) for r in recs} & seen
    assert sum("Comedy" in Item.objects.get(pk=int(r.item_id)).attributes["genres"] for r in recs) >= 3
    horror_only = bundle.recommend(profile=Profile(liked=[str(small_shop[2].pk)]), n=5,
                                   constraints=Constraints(include={"genres": ["Horror"]}, ranges={"year": (2000, None)}))
    for rec in horror_only:
        item = Item.objects.get(pk=int(rec.item_id))
        assert item.attributes["genres"] == ["Horror"] and item.attributes["year"] >= 2000

    second = model_train(config=FAST)
    version.refresh_from_db()
    assert second.is_active and not version.is_active


def test_new_item_is_served_cold_after_training(small_shop):
    model_train(config=FAST)
    assert selectors.active_bundle() is not None
    fresh = Item.objects.create(source="s", external_id="new", domain="movie", title="Brand new horror film",
                                attributes={"genres": ["Horror"], "year": 2030})
    selectors.reset_caches()
    bundle = selectors.active_bundle()
    assert bundle.has_item(str(fresh.pk))


def test_train_command_reports_and_refuses_empty(small_shop, capsys):
    call_command("train", config='{"components": {"ease": {"l2": 5.0}, "popularity": {}}, "tune": {}, "rating": null}',
                 no_progress=True)
    assert "30 items" in capsys.readouterr().out
    with pytest.raises(CommandError, match="--config is not valid JSON"):
        call_command("train", config="{oops", no_progress=True)
    Interaction.objects.all().delete()
    with pytest.raises(CommandError, match="no interactions"):
        call_command("train", no_progress=True)


def test_engine_config_passes_the_device_and_embedding_model_settings(settings):
    from recommender.services.training import engine_config

    settings.CHATREC_DEVICE = ""
    settings.CHATREC_EMBEDDING_MODEL = ""
    plain = engine_config({"components": {"content": {}}})
    assert "device" not in plain and plain["components"]["content"] == {}
    settings.CHATREC_DEVICE = "cpu"
    settings.CHATREC_EMBEDDING_MODEL = "/models/other-minilm"
    cfg = engine_config({"components": {"ease": {}, "content": {}}})
    assert cfg["device"] == "cpu"
    assert cfg["components"]["content"]["embedder"] == {"kind": "sentence", "model_path": "/models/other-minilm"}
    assert engine_config({"device": "cuda:1"})["device"] == "cuda:1"  # an explicit config wins
    hashing = engine_config({"components": {"content": {"embedder": {"kind": "hashing", "dim": 8}}}})
    assert hashing["components"]["content"]["embedder"] == {"kind": "hashing", "dim": 8}


def test_likes_stated_in_chat_words_are_not_trained_on_but_presses_are(small_shop):
    profile = Interaction.objects.first().profile
    interaction_record(profile=profile, item=small_shop[1], kind="like", origin="chat",
                       context={"via": rules.STATED_VIA})
    interaction_record(profile=profile, item=small_shop[2], kind="like", origin="chat", context={"via": "button"})
    data = dataset_from_db()
    user = data.user_index[str(profile.pk)]
    row = {data.item_ids[c] for r, c in zip(data.rows, data.cols) if r == user}
    assert str(small_shop[2].pk) in row and str(small_shop[1].pk) not in row


def test_train_command_draws_one_bar_that_only_moves_forward(small_shop, capsys):
    call_command("train", config='{"components": {"ease": {"l2": 5.0}, "popularity": {}}, "tune": {}, "rating": null}')
    err = capsys.readouterr().err.replace("\n", "\r")
    drawn = [part.rstrip() for part in err.split("\r") if part.startswith("training")]
    percents = [int(part.split("%")[0].split()[-1]) for part in drawn]
    assert percents and percents[-1] == 100 and percents == sorted(percents), drawn
    # Each update is drawn once (closing the bar draws the last state again).
    assert all(a != b for a, b in zip(drawn[:-2], drawn[1:-1])), drawn
