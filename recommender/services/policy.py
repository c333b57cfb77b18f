"""The policy over ranking strategies: choosing per turn from its context, logging the choice, learning.

A turn's strategy is drawn by the contextual policy (`engine/contextual.py`) from the model stored in
`PolicyState`; the list it ranks is logged as a `ShownList` (arm, propensity, every arm's probability, the
context), and feedback on a listed item carries the list's id. `policy_update` folds new lists and new
feedback into the model (a list's reward is the sum of `rules.signed_reward` over its events, each weighted by
`rules.reward_weight`; silence adds nothing) and, as before, into the context-free Beta arms.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db import transaction

from recommender.engine import bandit, contextual, offpolicy, rules
from recommender.models import BanditArm, Interaction, PolicyState, Profile, ShownList

POLICY = "ranking-strategy"


@dataclass
class Choice:
    """The strategy a turn ranks with: the arm, its probability under the policy, and the context it saw."""

    arm: str
    propensity: float
    probabilities: dict[str, float] = field(default_factory=dict)
    context: dict = field(default_factory=dict)
    forced: bool = False  # not drawn by the policy (the person asked for a different selection)


def policy_model(arms: list[str] | None = None) -> contextual.LinearThompson:
    """Return the stored contextual model over the given arms (every arm by default; fresh before any feedback)."""
    state = PolicyState.objects.filter(policy=POLICY).values_list("state", flat=True).first() or {}
    return contextual.LinearThompson.from_state(state, arms or list(bandit.ALL_ARMS))


def strategy_choose_for(context: dict, *, llm_rerank: bool = False,
                        rng: np.random.Generator | None = None) -> Choice:
    """Return the strategy drawn for a turn's context, with its exact probability (logged for evaluation).

    The draw is over the arms the turn can use (`bandit.offered_arms`: the LLM re-rank only when `llm_rerank`,
    a backend enabled and re-ranking switched on), so the logged probabilities sum to 1 over those.
    """
    model = policy_model(bandit.offered_arms(llm_rerank=llm_rerank))
    arm, propensity, probs = model.choose(contextual.context_vector(context), rng or np.random.default_rng())
    return Choice(arm=arm, propensity=propensity, context=context,
                  probabilities={name: round(float(p), 6) for name, p in zip(model.names, probs)})


def best_choice(context: dict, *, llm_rerank: bool = False) -> Choice:
    """Return the strategy the policy currently rates best in this context, with no exploration: for a list whose
    feedback can never reach the policy (a stateless call logs nothing), a random draw would only cost quality.
    Ties (no evidence yet) go to the first arm, the default strategy. Kept out of off-policy evaluation."""
    model = policy_model(bandit.offered_arms(llm_rerank=llm_rerank))
    return forced_choice(model.greedy(contextual.context_vector(context)), context)


def forced_choice(arm: str, context: dict) -> Choice:
    """Return a choice the policy did not make (kept out of off-policy evaluation)."""
    return Choice(arm=arm, propensity=1.0, probabilities={arm: 1.0}, context=context, forced=True)


def list_log(*, choice: Choice, items: list[str], profile: Profile | None, conversation=None,
             message_id: int | None = None) -> ShownList:
    """Store a shown list with the policy's choice (call in the turn's transaction)."""
    return ShownList.objects.create(policy=POLICY, arm=choice.arm, propensity=choice.propensity,
                                    probabilities=choice.probabilities, context=choice.context, items=list(items),
                                    forced=choice.forced, profile=profile, conversation=conversation,
                                    message_id=message_id)


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


def policy_update() -> dict:
    """Fold new feedback into the Beta arms and new lists and feedback into the contextual model.

    Returns the events counted per Beta arm, plus "lists" and "rewards" folded into the contextual model when
    there were any.
    """
    counted: dict = dict(_beta_update())
    folded = contextual_update()
    counted.update({key: value for key, value in folded.items() if value})
    return counted


def _beta_update() -> dict[str, int]:
    """Fold feedback events newer than each arm's watermark into the arms; return events counted per arm.

    Each reward is weighted by rules.reward_weight, so one person (or a script behind one session) moves
    an arm by at most a few events a day, whatever it sends. Safe to run concurrently: arms are locked while
    updated and the watermark only moves forward; the weights depend only on stored events, so the result
    is the same however the events are batched.
    """
    counted: dict[str, int] = {}
    with transaction.atomic():
        for name in bandit.ALL_ARMS:
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


def _list_rewards(events) -> tuple[dict[int, float], int]:
    """Return the weighted signed reward per shown-list id of new feedback events, and the newest event id."""
    rewards: dict[int, float] = {}
    newest = 0
    for pk, kind, value, context, profile_id, profile_kind, address, item_id, created_at in events.iterator():
        newest = max(newest, pk)
        reward, list_id = rules.signed_reward(kind, value), context.get("list")
        if reward is None or not isinstance(list_id, int):
            continue
        guest_address = (address or None) if profile_kind == Profile.Kind.GUEST else None
        weight = _actor_weight(pk=pk, profile_id=profile_id, guest_address=guest_address,
                               guest=profile_kind == Profile.Kind.GUEST, item_id=item_id,
                               arm=str(context.get("strategy")), created_at=created_at)
        if weight > 0:
            rewards[list_id] = rewards.get(list_id, 0.0) + weight * reward
    return rewards, newest


def contextual_update() -> dict[str, int]:
    """Fold shown lists and feedback newer than the model's marks into it; return lists and rewards folded.

    A new list is one observation of its arm in its context, with the reward its events have earned so far;
    feedback that comes after its list was folded adds its reward to that arm's evidence in the list's context.
    Locked and marked like the Beta arms, so concurrent runs and re-runs count everything once.
    """
    with transaction.atomic():
        PolicyState.objects.get_or_create(policy=POLICY)
        row = PolicyState.objects.select_for_update().get(policy=POLICY)
        model = contextual.LinearThompson.from_state(row.state, list(bandit.ALL_ARMS))
        events = (Interaction.objects.filter(pk__gt=row.events_through, context__has_key="list").order_by("pk")
                  .values_list("pk", "kind", "value", "context", "profile_id", "profile__kind",
                               "profile__address_key", "item_id", "created_at"))
        rewards, newest_event = _list_rewards(events)
        lists = ShownList.objects.filter(policy=POLICY, pk__gt=row.lists_through).order_by("pk")
        folded, newest_list = 0, row.lists_through
        for shown in lists.iterator():
            newest_list = shown.pk
            if shown.forced or shown.arm not in model.arms:
                continue
            model.update(shown.arm, contextual.context_vector(shown.context), rewards.pop(shown.pk, 0.0))
            folded += 1
        late = ShownList.objects.filter(pk__in=list(rewards), forced=False, pk__lte=row.lists_through)
        for shown in late:
            if shown.arm in model.arms:
                model.arms[shown.arm].add_reward(contextual.context_vector(shown.context), rewards[shown.pk])
        row.state = model.to_state()
        row.lists_through = newest_list
        row.events_through = max(row.events_through, newest_event)
        row.save()
    return {"lists": folded, "rewards": len(late)}


REPORT_MAX_LISTS = 20_000  # the newest lists of a window the dashboard's estimates read
Z95 = 1.96


def _interval(values: list[float]) -> dict:
    """Return the mean of list rewards with a normal 95 % interval (None without lists)."""
    n = len(values)
    if not n:
        return {"lists": 0, "mean": None, "low": None, "high": None}
    mean = float(np.mean(values))
    half = Z95 * float(np.std(values, ddof=1)) / np.sqrt(n) if n > 1 else 0.0
    return {"lists": n, "mean": round(mean, 4), "low": round(mean - half, 4), "high": round(mean + half, 4)}


def logged_lists(*, start, end, domain: str = "") -> list[dict]:
    """Return the policy's shown lists in a time range (newest REPORT_MAX_LISTS), each with the reward its
    feedback earned so far: likes minus dislikes (rules.signed_reward), silence adding nothing."""
    lists = ShownList.objects.filter(policy=POLICY, forced=False, created_at__gte=start, created_at__lt=end)
    if domain:
        lists = lists.filter(context__domain=domain)
    rows = list(lists.order_by("-pk").values("pk", "arm", "propensity", "context", "created_at")[:REPORT_MAX_LISTS])
    reward = {row["pk"]: 0.0 for row in rows}
    events = Interaction.objects.filter(context__list__in=list(reward)).values_list("context", "kind", "value")
    for context, kind, value in events.iterator():
        signed = rules.signed_reward(kind, value)
        if signed is not None and context.get("list") in reward:
            reward[context["list"]] += signed
    return [{**row, "reward": reward[row["pk"]]} for row in reversed(rows)]


def policy_report(*, start, end, domain: str = "") -> dict:
    """Return the dashboard's view of the policy: per-arm value of shown lists with 95 % intervals, overall and
    per day, and off-policy estimates (IPS, SNIPS, DR) of each fixed strategy and of the current policy's
    greedy choice from the logged propensities."""
    rows = logged_lists(start=start, end=end, domain=domain)
    arms = list(bandit.ALL_ARMS)
    per_arm = {arm: _interval([r["reward"] for r in rows if r["arm"] == arm]) for arm in arms}
    days: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        days.setdefault((r["created_at"].date().isoformat(), r["arm"]), []).append(r["reward"])
    by_day = [{"day": day, "arm": arm, **_interval(values)} for (day, arm), values in sorted(days.items())]
    known = [r for r in rows if r["arm"] in arms]
    estimates = []
    if known:
        X = np.array([contextual.context_vector(r["context"]) for r in known])
        logs = offpolicy.Logs(X, np.array([arms.index(r["arm"]) for r in known]),
                              np.array([r["propensity"] for r in known]), np.array([r["reward"] for r in known]))
        model = policy_model()
        targets = {f"always {arm}": np.full(len(known), a) for a, arm in enumerate(arms)}
        targets["current policy (greedy)"] = np.array([arms.index(model.greedy(x)) for x in X])
        for name, actions in targets.items():
            values = offpolicy.estimates(logs, offpolicy.deterministic(actions, len(arms)), len(arms))
            estimates.append({"target": name, **{k: round(v, 4) for k, v in values.items()}})
    return {"lists": len(rows), "logged_mean": _interval([r["reward"] for r in rows])["mean"],
            "arms": [{"arm": arm, **per_arm[arm]} for arm in arms], "by_day": by_day, "estimates": estimates}
