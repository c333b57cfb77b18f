"""The bandit policy over ranking strategies: choosing per turn, and learning from feedback."""
from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction

from recommender.engine import bandit, rules
from recommender.models import BanditArm, Interaction, Profile

POLICY = "ranking-strategy"


def strategy_choose(*, rng: random.Random | None = None) -> str:
    """Return the strategy to use for this turn (Thompson sampling over stored arms)."""
    arms = {
        arm.arm: bandit.ArmStats(arm.successes, arm.failures)
        for arm in BanditArm.objects.filter(policy=POLICY)
    }
    return bandit.choose(arms, rng)


def _actor_weight(*, pk: int, profile_id: int, guest: bool, guest_address: str | None, item_id: int, arm: str,
                  created_at) -> float:
    """Return the weight of one event's reward (rules.reward_weight) from that actor's earlier rewards.

    The actor is the person, except for guests that came from a known address (`guest_address`, the keyed hash
    kept on the profile): all guests from one address are one actor, since fresh guest cookies cost nothing.
    """
    since = created_at - timedelta(seconds=rules.REWARD_WINDOW_SECONDS)
    earlier = Interaction.objects.filter(pk__lt=pk, created_at__gte=since, context__strategy=arm)
    if guest_address:
        earlier = earlier.filter(profile__kind=Profile.Kind.GUEST, profile__address_key=guest_address)
    else:
        earlier = earlier.filter(profile_id=profile_id)
    rewarded = [item for item, kind, value in earlier.values_list("item_id", "kind", "value")
                if rules.reward(kind, value) is not None]
    return rules.reward_weight(guest=guest, earlier_rewards=len(rewarded),
                               item_rewarded_before=item_id in rewarded)


def policy_update() -> dict[str, int]:
    """Fold feedback events newer than each arm's watermark into the arms; return events counted per arm.

    Each reward is weighted by rules.reward_weight, so one person (or a script behind one session) moves
    an arm by at most a few events a day, whatever it sends. Safe to run concurrently: arms are locked while
    updated and the watermark only moves forward; the weights depend only on stored events, so the result
    is the same however the events are batched.
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
            .values_list("pk", "kind", "value", "context", "profile_id", "profile__kind", "profile__address_key",
                         "item_id", "created_at")
        )
        newest = watermark
        for pk, kind, value, context, profile_id, profile_kind, address, item_id, created_at in events.iterator():
            newest = max(newest, pk)
            arm = arms.get(str(context.get("strategy")))
            reward = rules.reward(kind, value)
            if arm is None or reward is None or pk <= arm.last_event_id:
                continue
            guest_address = (address or None) if profile_kind == Profile.Kind.GUEST else None
            weight = _actor_weight(pk=pk, profile_id=profile_id, guest_address=guest_address,
                                   guest=profile_kind == Profile.Kind.GUEST, item_id=item_id, arm=arm.arm,
                                   created_at=created_at)
            if weight <= 0:
                continue
            arm.successes += weight * reward
            arm.failures += weight * (1.0 - reward)
            arm.pulls += 1
            counted[arm.arm] = counted.get(arm.arm, 0) + 1
        for arm in arms.values():
            arm.last_event_id = max(arm.last_event_id, newest)
            arm.save()
    return counted
