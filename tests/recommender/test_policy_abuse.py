"""One actor cannot steer the shared bandit: per-person caps, one reward per item, guests count half."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommender.engine import rules
from recommender.models import BanditArm, Interaction, Item, Profile
from recommender.services.feedback import interaction_record
from recommender.services.policy import POLICY, policy_update

pytestmark = pytest.mark.django_db


def arm(name="explore"):
    return BanditArm.objects.get(policy=POLICY, arm=name)


def items(n):
    return [Item.objects.create(external_id=f"i{k}", title=f"Item {k}") for k in range(n)]


def like(profile, item, strategy="explore", kind="like"):
    interaction_record(profile=profile, item=item, kind=kind, context={"strategy": strategy})


def test_thirty_likes_of_one_item_from_a_guest_barely_move_the_arm():
    guest = Profile.objects.create(kind="guest", session_key="abc")
    item = items(1)[0]
    for _ in range(30):
        like(guest, item)
    policy_update()
    assert (arm().successes, arm().failures) == (1.0 + rules.GUEST_REWARD_WEIGHT, 1.0)


@pytest.mark.parametrize("kind, weight", [("guest", rules.GUEST_REWARD_WEIGHT), ("registered", 1.0)])
def test_one_person_counts_for_at_most_the_cap_per_window(kind, weight):
    person = Profile.objects.create(kind=kind, session_key="s" if kind == "guest" else None)
    for item in items(30):
        like(person, item)
    policy_update()
    assert arm().successes == pytest.approx(1.0 + weight * rules.ACTOR_REWARDS_PER_WINDOW)
    assert arm().pulls == rules.ACTOR_REWARDS_PER_WINDOW


def test_many_people_still_teach_the_bandit_and_batching_does_not_matter():
    catalog = items(3)
    people = [Profile.objects.create(kind="registered") for _ in range(8)]
    for person in people[:4]:
        like(person, catalog[0])
    policy_update()  # a run in the middle of the stream
    for person in people[4:]:
        like(person, catalog[0])
        like(person, catalog[0], kind="dislike")  # a change of mind about the same item is not counted again
    policy_update()
    assert (arm().successes, arm().failures, arm().pulls) == (9.0, 1.0, 8)


def test_the_cap_is_per_strategy_and_rewards_leave_the_window():
    person = Profile.objects.create(kind="registered")
    catalog = items(12)
    for item in catalog[:6]:
        like(person, item, strategy="explore")
    for item in catalog[6:]:
        like(person, item, strategy="taste-first")
    policy_update()
    cap = rules.ACTOR_REWARDS_PER_WINDOW
    assert arm("explore").pulls == cap and arm("taste-first").pulls == cap
    # A day later the same person counts again.
    Interaction.objects.update(created_at=timezone.now() - timedelta(seconds=rules.REWARD_WINDOW_SECONDS + 60))
    like(person, Item.objects.create(external_id="later", title="Later"))
    policy_update()
    assert arm("explore").pulls == cap + 1


def test_reward_weight_rule():
    assert rules.reward_weight(guest=False, earlier_rewards=0, item_rewarded_before=False) == 1.0
    assert rules.reward_weight(guest=True, earlier_rewards=0, item_rewarded_before=False) == rules.GUEST_REWARD_WEIGHT
    assert rules.reward_weight(guest=False, earlier_rewards=0, item_rewarded_before=True) == 0.0
    assert rules.reward_weight(guest=False, earlier_rewards=rules.ACTOR_REWARDS_PER_WINDOW,
                               item_rewarded_before=False) == 0.0


def test_guests_from_one_address_share_one_reward_budget():
    catalog = items(30)
    farm = [Profile.objects.create(kind="guest", session_key=f"farm{i}", address_key="a" * 32) for i in range(20)]
    for n, guest in enumerate(farm):  # twenty fresh cookies, each liking new items
        like(guest, catalog[n])
        like(guest, catalog[n + 5])
    elsewhere = Profile.objects.create(kind="guest", session_key="other", address_key="b" * 32)
    like(elsewhere, catalog[0])
    policy_update()
    budget = rules.ACTOR_REWARDS_PER_WINDOW + 1  # the farm's address, and one guest from another
    assert arm().successes == pytest.approx(1.0 + rules.GUEST_REWARD_WEIGHT * budget)
    assert arm().pulls == budget
