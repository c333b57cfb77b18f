"""The bandit policy over ranking strategies: choosing per turn, and learning from feedback."""
from __future__ import annotations

import random

from django.db import transaction

from recommender.engine import bandit, rules
from recommender.models import BanditArm, Interaction

POLICY = "ranking-strategy"


def strategy_choose(*, rng: random.Random | None = None) -> str:
    """Return the strategy to use for this turn (Thompson sampling over stored arms)."""
    arms = {
        arm.arm: bandit.ArmStats(arm.successes, arm.failures)
        for arm in BanditArm.objects.filter(policy=POLICY)
    }
    return bandit.choose(arms, rng)


def policy_update() -> dict[str, int]:
    """Fold feedback events newer than each arm's watermark into the arms; return events counted per arm.

    Safe to run concurrently: arms are locked while updated and the watermark only moves forward.
    """
    counted: dict[str, int] = {}
    with transaction.atomic():
        for name in bandit.STRATEGIES:
            BanditArm.objects.get_or_create(policy=POLICY, arm=name)
        arms = {a.arm: a for a in BanditArm.objects.select_for_update().filter(policy=POLICY)}
        watermark = min(a.last_event_id for a in arms.values())
        events = (
            Interaction.objects.filter(pk__gt=watermark, context__has_key="strategy")
            .order_by("pk")
            .values_list("pk", "kind", "value", "context")
        )
        newest = watermark
        for pk, kind, value, context in events.iterator():
            newest = max(newest, pk)
            arm = arms.get(str(context.get("strategy")))
            reward = rules.reward(kind, value)
            if arm is None or reward is None or pk <= arm.last_event_id:
                continue
            arm.successes += reward
            arm.failures += 1.0 - reward
            arm.pulls += 1
            counted[arm.arm] = counted.get(arm.arm, 0) + 1
        for arm in arms.values():
            arm.last_event_id = max(arm.last_event_id, newest)
            arm.save()
    return counted
