"""The learning loop in the database: the retraining gate, artifact pruning, job progress, and the policy's logs."""

from __future__ import annotations

import pytest
from django.utils import timezone

from recommender import selectors
from recommender.engine import rules
from recommender.models import Interaction, Item, JobLock, ModelVersion, Profile
from recommender.services import training

FULL = {"components": {"ease": {"l2": 10.0}, "popularity": {}}, "tune": {}, "rating": None}
WORSE = {"components": {"popularity": {}}, "tune": {}, "rating": None}


def taste_groups(groups: int = 5, size: int = 5, people: int = 16) -> None:
    """Store people who each like most of one group of films: a model that reads co-likes beats popularity."""
    items = [
        [
            Item.objects.create(
                source="t", external_id=f"g{g}-{i}", title=f"Film {g}-{i}", attributes={"genres": [f"G{g}"]}
            )
            for i in range(size)
        ]
        for g in range(groups)
    ]
    now = timezone.now()
    for g, group in enumerate(items):
        for p in range(people + 4 * g):  # groups differ in size, so popularity alone points at the big one
            person = Profile.objects.create(kind="imported", source="t", external_id=f"p{g}-{p}")
            for i, item in enumerate(group):
                if (i + p) % size != 0:
                    Interaction.objects.create(profile=person, item=item, kind="like", occurred_at=now, origin="import")


def test_the_gate_keeps_a_worse_version_out_within_a_documented_tolerance():
    active = {"objective": "NDCG@10", "ndcg@10": 0.40}
    assert rules.model_gate({"objective": "NDCG@10", "ndcg@10": 0.45}, active)[0]
    assert rules.model_gate({"objective": "NDCG@10", "ndcg@10": 0.40 * (1 - rules.MODEL_GATE_TOLERANCE)}, active)[0]
    refused, why = rules.model_gate({"objective": "NDCG@10", "ndcg@10": 0.30}, active)
    assert not refused and "0.3000 <" in why
    assert rules.model_gate({"objective": "NDCG@10", "ndcg@10": 0.1}, None)[0]  # nothing to compare with
    assert rules.model_gate({"objective": "P@5", "p@5": 0.1}, active)[0]  # a different objective
    assert not rules.model_gate({"objective": "NDCG@10"}, active)[0]  # no value: not activated


@pytest.mark.django_db
def test_retraining_activates_a_better_version_refuses_a_worse_one_and_prunes(settings, tmp_path):
    settings.CHATREC_ARTIFACTS_DIR = tmp_path
    taste_groups()
    first = training.model_train(config=WORSE)  # popularity only, activated by hand
    stamp = selectors.serving_stamp()
    better = training.model_train_if_stale(min_new_events=0, config=FULL)
    assert better["trained"] and better["activated"], better
    active = ModelVersion.objects.get(is_active=True)
    assert active.name == better["version"] and active.metrics["gate"]["against"] == first.name
    assert selectors.serving_stamp() != stamp  # every process's serving snapshot follows the active version
    worse = training.model_train_if_stale(min_new_events=0, config=WORSE)
    assert worse["trained"] and not worse["activated"], worse
    assert ModelVersion.objects.get(is_active=True).name == better["version"]
    refused = ModelVersion.objects.get(name=worse["version"])
    assert refused.metrics["gate"]["activated"] is False
    assert JobLock.objects.get(name=training.RETRAIN_LOCK).progress["stage"] == "done (kept the active version)"
    for _ in range(3):
        training.model_train_if_stale(min_new_events=0, config=WORSE)
    kept = ModelVersion.objects.filter(is_active=False).exclude(path="")
    assert kept.count() == rules.MODEL_KEEP_INACTIVE
    pruned = ModelVersion.objects.filter(path="")
    assert pruned.count() == ModelVersion.objects.count() - 1 - rules.MODEL_KEEP_INACTIVE
    assert not any((tmp_path / v.name).exists() for v in pruned)
    assert (tmp_path / better["version"]).is_dir()  # the active one stays


@pytest.mark.django_db
def test_a_running_jobs_stage_shows_in_the_admin(django_user_model):
    from django.test import Client

    JobLock.objects.create(name=training.RETRAIN_LOCK, holder="w1")
    training.lock_progress(training.RETRAIN_LOCK)("fitting hybrid", 0.42)
    staff = django_user_model.objects.create_superuser("boss", password="pw-123456")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/recommender/joblock/")
    assert page.status_code == 200 and b"fitting hybrid" in page.content and b"42 %" in page.content
    assert client.get("/admin/recommender/shownlist/").status_code == 200


@pytest.mark.django_db
def test_the_rerank_arm_is_drawn_only_when_offered_and_learned_like_any_arm():
    import numpy as np

    from recommender.engine import bandit, contextual
    from recommender.services import policy

    context = {"intent": rules.RECOMMEND, "language": "en", "domain": "movie", "history_length": 3}
    without = policy.strategy_choose_for(context, rng=np.random.default_rng(0))
    offered = policy.strategy_choose_for(context, llm_rerank=True, rng=np.random.default_rng(0))
    assert list(without.probabilities) == list(bandit.STRATEGIES) and without.arm in bandit.STRATEGIES
    assert list(offered.probabilities) == [*bandit.STRATEGIES, bandit.LLM_RERANK]
    for choice in (without, offered):
        assert sum(choice.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    person = Profile.objects.create(kind="user")
    item = Item.objects.create(source="t", external_id="x", title="X")
    shown = policy.list_log(
        choice=policy.Choice(bandit.LLM_RERANK, 0.2, {bandit.LLM_RERANK: 0.2}, context),
        items=[str(item.pk)],
        profile=person,
    )
    Interaction.objects.create(
        profile=person,
        item=item,
        kind="like",
        occurred_at=timezone.now(),
        context={"list": shown.pk, "strategy": bandit.LLM_RERANK, "propensity": 0.2},
    )
    assert policy.policy_update()["lists"] == 1
    x = contextual.context_vector(context)
    assert policy.policy_model().arms[bandit.LLM_RERANK].b == pytest.approx(x)
    # a turn without the arm on does not wipe what it learned
    policy.strategy_choose_for(context)
    policy.policy_update()
    assert policy.policy_model().arms[bandit.LLM_RERANK].b == pytest.approx(x)
