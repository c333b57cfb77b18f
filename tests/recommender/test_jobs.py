"""Bandit policy learning, schedules, and a real Celery worker and beat on the configured brokers."""
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from recommender.engine import bandit, rules
from recommender.engine.types import ScoredItem
from recommender.models import BanditArm, Item, Profile
from recommender.services.feedback import interaction_record
from recommender.services.policy import POLICY, policy_update, strategy_choose

ROOT = Path(__file__).resolve().parents[2]


def test_rewards_from_feedback_kinds():
    assert rules.reward("like", None) == 1.0
    assert rules.reward("dislike", None) == 0.0
    assert rules.reward("rating", 4.5) == 1.0
    assert rules.reward("rating", 2.0) == 0.0
    assert rules.reward("rating", 3.0) is None
    assert rules.reward("view", None) is None


def test_thompson_sampling_prefers_the_arm_that_earns():
    arms = {name: bandit.ArmStats(1, 30) for name in bandit.STRATEGIES}
    arms["explore"] = bandit.ArmStats(40, 2)
    rng = random.Random(7)
    picks = [bandit.choose(arms, rng) for _ in range(200)]
    assert picks.count("explore") > 190
    assert bandit.update(bandit.ArmStats(1, 1), 1.0) == bandit.ArmStats(2, 1)


def scored(*rows):
    return [ScoredItem(item_id=name, score=sum(src.values()), sources=src) for name, src in rows]


def test_strategies_reweight_component_groups():
    # the model's order: "text" (1.3) above "taste" (1.1); balanced keeps it, taste-first flips it
    items = scored(("text", {"ease": 0.6, "query": 0.7}), ("taste", {"ease": 1.0, "content": 0.1}))
    assert [s.item_id for s in bandit.apply_strategy(items, "balanced", 2)] == ["text", "taste"]
    items = scored(("text", {"ease": 0.6, "query": 0.7}), ("taste", {"ease": 1.0, "content": 0.1}))
    ranked = bandit.apply_strategy(items, "taste-first", 2)
    assert [s.item_id for s in ranked] == ["taste", "text"]
    assert ranked[0].score == pytest.approx(2.0 * 1.0 + 0.5 * 0.1)


def test_explore_labels_its_picks_from_beyond_the_top():
    items = scored(*[(f"i{k}", {"ease": 10.0 - k}) for k in range(10)])
    shown = bandit.apply_strategy(items, "explore", 5, random.Random(0))
    assert [s.item_id for s in shown[:3]] == ["i0", "i1", "i2"]
    assert all(int(s.item_id[1:]) >= 5 for s in shown[3:])
    assert all(e.kind == "exploration" for s in shown[3:] for e in s.evidence)
    assert not any(s.evidence for s in shown[:3])


@pytest.mark.django_db
def test_policy_update_counts_each_event_once():
    profile = Profile.objects.create(kind="registered")
    for n, (kind, strategy) in enumerate([("like", "explore"), ("dislike", "explore"), ("favourite", "taste-first"),
                                          ("view", "taste-first"), ("like", "no-such-arm")]):
        item = Item.objects.create(external_id=f"x{n}", title=f"X{n}")
        interaction_record(profile=profile, item=item, kind=kind, context={"strategy": strategy})
    interaction_record(profile=profile, item=item, kind="like")  # shown without a strategy: not counted
    policy_update()  # the eager per-event task already ran; running again must not double count
    explore = BanditArm.objects.get(policy=POLICY, arm="explore")
    taste = BanditArm.objects.get(policy=POLICY, arm="taste-first")
    assert (explore.successes, explore.failures, explore.pulls) == (2.0, 2.0, 2)
    assert (taste.successes, taste.failures, taste.pulls) == (2.0, 1.0, 1)
    assert strategy_choose(rng=random.Random(1)) in bandit.STRATEGIES


@pytest.mark.django_db
def test_setup_schedules_is_idempotent():
    call_command("setup_schedules")
    call_command("setup_schedules")
    tasks = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"recommender.update_bandit_policy", "recommender.retrain"} <= tasks
    assert PeriodicTask.objects.filter(task="recommender.retrain").count() == 1


def broker_envs():
    envs = [("files", {})]
    if os.environ.get("REDIS_URL"):
        envs.append(("redis", {"CELERY_BROKER_URL": os.environ["REDIS_URL"]}))
    if os.environ.get("CHATREC_TEST_AMQP_URL"):  # CI points this at its RabbitMQ
        envs.append(("rabbitmq", {"CELERY_BROKER_URL": os.environ["CHATREC_TEST_AMQP_URL"]}))
    return envs


@pytest.mark.parametrize(("name", "broker"), broker_envs(), ids=[n for n, _ in broker_envs()])
def test_real_worker_runs_a_task(tmp_path, name, broker):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update({"CHATREC_VAR_DIR": str(tmp_path), "CHATREC_LLM_BACKEND": "none", **broker})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "chatrec_site", "worker", "--pool=solo", "--loglevel=info",
         "-n", f"test-{name}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        client = (
            "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'chatrec_site.settings'); django.setup();"
            "from recommender.tasks import update_bandit_policy;"
            "print('RESULT', update_bandit_policy.delay().get(timeout=60))"
        )
        result = subprocess.run([sys.executable, "-c", client], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        assert "RESULT {}" in result.stdout
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_beat_starts_on_the_embedded_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update({"CHATREC_VAR_DIR": str(tmp_path), "CHATREC_LLM_BACKEND": "none"})
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    subprocess.run([sys.executable, "manage.py", "setup_schedules"], cwd=ROOT, env=env, check=True, timeout=60)
    log_path = tmp_path / "beat.log"
    with open(log_path, "w") as log:
        beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "chatrec_site", "beat", "--loglevel=info"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and "beat: Starting" not in log_path.read_text():
                if beat.poll() is not None:
                    break
                time.sleep(0.5)
        finally:
            beat.terminate()
            try:
                beat.wait(timeout=30)
            except subprocess.TimeoutExpired:
                beat.kill()
    output = log_path.read_text()
    assert "beat: Starting" in output, output
    assert "DatabaseScheduler" in output
