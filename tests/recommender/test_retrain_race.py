"""Retraining under concurrency: the data mark, one retrain at a time, and nothing lost or half-written."""
from __future__ import annotations

from datetime import timedelta

import pytest

from recommender.engine import training as engine_training
from recommender.models import Interaction, JobLock, ModelVersion
from recommender.services import training
from recommender.services.feedback import interaction_record
from recommender.services.locks import LockHeld, job_lock, keep_alive, lock_claim, lock_release, lock_renew
from recommender.services.training import model_train, model_train_if_stale
from tests.recommender.test_training import FAST, small_shop  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def fast_config(monkeypatch):
    """Retrains triggered by staleness use the small test configuration."""
    real = engine_training.train_bundle
    monkeypatch.setattr(engine_training, "train_bundle",
                        lambda data, out_dir, config=None, progress=None, dialogue_pairs=None, dialogues=None, **_: real(data, out_dir, config=FAST))
    return real


def test_feedback_arriving_during_a_run_counts_as_new(small_shop, monkeypatch, fast_config):
    person = Interaction.objects.first().profile

    def train_while_feedback_arrives(data, out_dir, config=None, progress=None, dialogue_pairs=None, dialogues=None, **_):
        interaction_record(profile=person, item=small_shop[0], kind="like")  # stored mid-training
        return fast_config(data, out_dir, config=FAST)

    monkeypatch.setattr(engine_training, "train_bundle", train_while_feedback_arrives)
    first = model_train_if_stale()
    assert first["trained"]
    version = ModelVersion.objects.get(is_active=True)
    late = Interaction.objects.order_by("-pk").first()
    assert version.data_through_event_id < late.pk  # the mark was taken before the late event
    assert version.n_interactions == 120  # and the data stops at the mark
    monkeypatch.setattr(engine_training, "train_bundle",
                        lambda data, out_dir, config=None, progress=None, dialogue_pairs=None, dialogues=None, **_: fast_config(data, out_dir, config=FAST))
    again = model_train_if_stale()
    assert again["trained"] and again["new_events"] == 1  # the late event is news for the next run
    assert model_train_if_stale() == {"trained": False, "new_events": 0}


def test_only_one_retrain_runs_at_a_time(small_shop, fast_config):
    token = lock_claim(name=training.RETRAIN_LOCK, ttl=timedelta(hours=1))  # another worker is training
    assert token
    assert model_train_if_stale() == {"trained": False, "busy": True}
    with pytest.raises(LockHeld):
        model_train(config=FAST)
    assert ModelVersion.objects.count() == 0
    assert lock_release(name=training.RETRAIN_LOCK, token=token)
    assert model_train_if_stale()["trained"]
    assert JobLock.objects.get(name=training.RETRAIN_LOCK).holder == ""  # released after the run


def test_a_dead_workers_lock_expires():
    stale = lock_claim(name="job", ttl=timedelta(seconds=-1))  # claimed by a worker that died long ago
    assert stale
    fresh = lock_claim(name="job", ttl=timedelta(minutes=5))
    assert fresh and fresh != stale
    assert not lock_release(name="job", token=stale)  # the dead worker cannot free the new holder's lock
    assert lock_claim(name="job", ttl=timedelta(minutes=5)) is None
    with pytest.raises(LockHeld):
        with job_lock(name="job", ttl=timedelta(minutes=5)):
            pass


class Ticks:
    """A stop event that lets a keep-alive loop run `n` rounds without waiting."""

    def __init__(self, n: int):
        self.n = n

    def wait(self, timeout=None) -> bool:
        self.n -= 1
        return self.n < 0


def test_a_live_holder_keeps_its_lock_and_only_its_own():
    token = lock_claim(name="job", ttl=timedelta(seconds=-1))  # about to expire
    assert lock_renew(name="job", token=token, ttl=timedelta(minutes=5))
    assert lock_claim(name="job", ttl=timedelta(minutes=5)) is None  # renewed: still held
    assert not lock_renew(name="job", token="someone-else", ttl=timedelta(minutes=5))
    assert keep_alive(name="job", token=token, ttl=timedelta(minutes=5), every=60, stop=Ticks(3)) == 3
    lock_release(name="job", token=token)
    assert keep_alive(name="job", token=token, ttl=timedelta(minutes=5), every=60, stop=Ticks(2)) == 0


def test_retraining_renews_a_short_lock():
    # A killed trainer blocks the next retrain for at most the ttl; the renewal keeps a live one's lock.
    assert training.RETRAIN_LOCK_TTL <= timedelta(minutes=10)
    assert training.RETRAIN_LOCK_RENEW_S * 3 <= training.RETRAIN_LOCK_TTL.total_seconds()


def test_a_killed_training_leaves_the_active_version_serving(small_shop, monkeypatch, settings, fast_config):
    good = model_train(config=FAST)
    artifacts = settings.CHATREC_ARTIFACTS_DIR

    def killed(data, out_dir, config=None, progress=None, dialogue_pairs=None, dialogues=None, **_):
        partial = out_dir.with_name(out_dir.name + training.PARTIAL_SUFFIX)
        partial.mkdir(parents=True)
        (partial / "half.npy").write_bytes(b"\0" * 10)
        raise SystemExit("worker killed")  # not an Exception: nothing may swallow it

    interaction_record(profile=Interaction.objects.first().profile, item=small_shop[0], kind="like")
    monkeypatch.setattr(engine_training, "train_bundle", killed)
    with pytest.raises(SystemExit):
        model_train_if_stale()
    assert list(ModelVersion.objects.filter(is_active=True)) == [good]
    assert ModelVersion.objects.count() == 1
    assert [p.name for p in artifacts.iterdir() if p.name.endswith(".partial")]
    monkeypatch.setattr(engine_training, "train_bundle",
                        lambda data, out_dir, config=None, progress=None, dialogue_pairs=None, dialogues=None, **_: fast_config(data, out_dir, config=FAST))
    result = model_train_if_stale()  # the lock was released; the next run sweeps the leftover
    assert result["trained"]
    assert not [p for p in artifacts.iterdir() if p.name.endswith(".partial")]
