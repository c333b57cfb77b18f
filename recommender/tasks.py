"""Celery tasks: thin wrappers around services (imported inside, so workers start fast)."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="recommender.update_bandit_policy", acks_late=True)
def update_bandit_policy() -> dict:
    """Fold new shown lists and feedback into the ranking-strategy policy (idempotent: watermarks)."""
    from recommender.services.policy import policy_update

    return policy_update()


@shared_task(name="recommender.retrain", time_limit=60 * 60)
def retrain(min_new_events: int = 1, config: dict | None = None) -> dict:
    """Retrain all models jointly from the database when there is new feedback; activate the new version when
    its validation passes the gate (rules.model_gate), and prune old artifacts (rules.MODEL_KEEP_INACTIVE).

    One retrain runs at a time across workers (a job lock in the database, see services.training); a second
    one returns {"trained": False, "busy": True} at once. Not acks_late: a retrain killed mid-run is not
    redelivered, the next scheduled one starts afresh (the active version keeps serving meanwhile).
    """
    from recommender.services.training import model_train_if_stale

    return model_train_if_stale(min_new_events=min_new_events, config=config)
