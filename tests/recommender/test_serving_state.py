"""One owner of the serving caches: one stamp (active model version + catalog) decides freshness, one reset."""
from __future__ import annotations

import pytest

from recommender import selectors
from recommender.models import Interaction, Item, ModelVersion, Profile

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def state():
    clock = Clock()
    serving = selectors.ServingState(clock=clock)
    serving.clock = clock
    return serving


def add_item(n):
    return Item.objects.create(source="t", external_id=f"x{n}", domain="movie", title=f"Film {n}",
                               attributes={"genres": ["Drama"]})


def test_the_snapshot_follows_the_catalog_after_the_recheck_interval(state):
    first = add_item(1)
    catalog = state.serving_catalog()
    assert list(catalog.records) == [str(first.pk)] and state.item_records() is catalog.records
    second = add_item(2)
    assert state.serving_catalog() is catalog, "re-checked at most every RECHECK_SECONDS"
    state.clock.now += selectors.RECHECK_SECONDS + 1
    fresh = state.serving_catalog()
    assert fresh is not catalog and set(fresh.records) == {str(first.pk), str(second.pk)}
    state.clock.now += selectors.RECHECK_SECONDS + 1
    assert state.serving_catalog() is fresh, "an unchanged stamp keeps the snapshot"


def test_popularity_counts_interactions_but_not_dislikes_and_refreshes_with_a_new_model(state, tmp_path):
    item = add_item(1)
    person = Profile.objects.create(kind="imported", source="t", external_id="p")
    for kind, value in [("view", None), ("rating", 1.0), ("dislike", None)]:
        Interaction.objects.create(profile=person, item=item, kind=kind, value=value, occurred_at="2026-01-01T00:00Z")
    assert state.item_popularity() == {str(item.pk): 2.0}
    Interaction.objects.create(profile=person, item=item, kind="like", occurred_at="2026-01-01T00:00Z")
    state.clock.now += selectors.RECHECK_SECONDS + 1
    assert state.item_popularity() == {str(item.pk): 2.0}, "new events alone do not rebuild the snapshot"
    ModelVersion.objects.create(name="v1", path=str(tmp_path / "missing"), is_active=True)
    state.clock.now += selectors.RECHECK_SECONDS + 1
    assert state.item_popularity() == {str(item.pk): 3.0}


def test_a_broken_model_is_retried_after_a_minute_or_when_another_is_activated(state, tmp_path, monkeypatch):
    from recommender.engine.serving import RecommenderBundle

    loads = []

    def failing_load(path, **kwargs):
        loads.append(path)
        raise OSError("artifact gone")

    monkeypatch.setattr(RecommenderBundle, "load", failing_load)
    add_item(1)
    assert state.active_bundle() is None and loads == [], "nothing to load before the first training"
    ModelVersion.objects.create(name="v1", path=str(tmp_path / "v1"), is_active=True)
    state.clock.now += selectors.RECHECK_SECONDS + 1
    assert state.active_bundle() is None and len(loads) == 1
    state.clock.now += selectors.RECHECK_SECONDS + 1
    assert state.active_bundle() is None and len(loads) == 1, "a failure is remembered"
    ModelVersion.objects.update(is_active=False)
    ModelVersion.objects.create(name="v2", path=str(tmp_path / "v2"), is_active=True)
    state.clock.now += selectors.RECHECK_SECONDS + 1
    assert state.active_bundle() is None and len(loads) == 2
    state.clock.now += selectors.BUNDLE_RETRY_SECONDS + 1
    assert state.active_bundle() is None and len(loads) == 3


def test_the_llm_backend_survives_snapshots_and_restarts_when_its_settings_change(state, settings):
    backend = state.llm_backend()
    add_item(1)
    state.clock.now += selectors.RECHECK_SECONDS + 1
    state.item_records()
    assert state.llm_backend() is backend
    settings.CHATREC_LLM = {**settings.CHATREC_LLM, "timeout": 3}
    assert state.llm_backend() is not backend


def test_one_reset_forgets_everything(state):
    add_item(1)
    catalog, backend = state.serving_catalog(), state.llm_backend()
    state.reset()
    assert state.serving_catalog() is not catalog and state.llm_backend() is not backend


def test_the_llm_is_not_loaded_while_no_feature_needs_it(state, settings, monkeypatch):
    import recommender.engine.llm as llm

    started = []
    real = llm.start_backend
    monkeypatch.setattr(llm, "start_backend", lambda config, **kw: started.append(config["backend"]) or real(
        {"backend": "fake"} if config["backend"] != "none" else config, **kw))
    settings.CHATREC_LLM = {**settings.CHATREC_LLM, "backend": "llamacpp"}
    for name in selectors.LLM_FEATURES:
        setattr(settings, name, False)
    assert not getattr(state.llm_backend(), "enabled", False)
    assert started == ["none"]
    settings.CHATREC_LLM_REPLY = True
    assert state.llm_backend().enabled
    assert started == ["none", "llamacpp"]
