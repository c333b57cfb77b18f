"""The contextual policy (linear Thompson sampling with logged propensities) and the off-policy estimators."""

import numpy as np
import pytest

from recommender.engine import contextual, offpolicy, rules


def test_context_vector_reads_the_logged_context_and_missing_keys_as_zero():
    x = contextual.context_vector(
        {
            "intent": "recommend",
            "language": "zh",
            "domain": "movie",
            "hard_constraints": 6,
            "history_length": 10_000,
            "returning": True,
            "catalog_size": 10**9,
            "mainstream": 0.25,
        }
    )
    assert x.tolist() == [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.25]
    empty = contextual.context_vector({"domain": "book"})
    assert empty.tolist() == [1.0] + [0.0] * (len(contextual.FEATURES) - 1)


def two_contexts():
    return np.array([1.0, 0, 0, 1, 0, 0.1, 0, 0.5, 0.5]), np.array([1.0, 0, 0, 1, 0, 0.9, 1, 0.5, 0.5])


def test_policy_learns_a_different_best_arm_per_context():
    new, returning = two_contexts()
    policy = contextual.LinearThompson.fresh(["popular", "taste"])
    rng = np.random.default_rng(0)
    for _ in range(300):
        policy.update("popular", new, 1.0 + rng.normal(0, 0.3))
        policy.update("taste", new, 0.2 + rng.normal(0, 0.3))
        policy.update("popular", returning, 0.1 + rng.normal(0, 0.3))
        policy.update("taste", returning, 0.9 + rng.normal(0, 0.3))
    assert policy.greedy(new) == "popular" and policy.greedy(returning) == "taste"
    probs = policy.probabilities(new, rng)
    assert probs.sum() == pytest.approx(1.0)
    assert probs[0] > 0.9 and probs[1] >= policy.floor / 2  # the floor keeps every arm in the logs


def test_the_logged_propensity_is_the_probability_the_arm_was_drawn_with():
    new, _ = two_contexts()
    policy = contextual.LinearThompson.fresh(["a", "b", "c"])
    policy.update("a", new, 0.3)
    policy.update("b", new, 0.2)
    rng = np.random.default_rng(1)
    picks, logged = [], {}
    for _ in range(3000):
        arm, prob, probs = policy.choose(new, rng)
        assert prob == pytest.approx(probs[policy.names.index(arm)])
        picks.append(arm)
        logged.setdefault(arm, []).append(prob)
    for arm, probs in logged.items():
        assert picks.count(arm) / len(picks) == pytest.approx(np.mean(probs), abs=0.03)


def test_old_feedback_fades_so_a_strategy_that_stopped_working_loses_its_lead():
    x, _ = two_contexts()
    policy = contextual.LinearThompson.fresh(["a", "b"], decay=0.99)
    for _ in range(500):
        policy.update("a", x, 1.0)
        policy.update("b", x, 0.5)
    for _ in range(300):
        policy.update("a", x, 0.0)  # a stops working
    assert policy.greedy(x) == "b"
    assert policy.arms["a"].pulls < 100  # decayed count, not 800
    never = contextual.LinearThompson.fresh(["a", "b"], decay=1.0)
    for _ in range(500):
        never.update("a", x, 1.0)
        never.update("b", x, 0.5)
    for _ in range(300):
        never.update("a", x, 0.0)
    assert never.greedy(x) == "a"  # without decay 500 old successes still outweigh 300 new failures


def test_state_round_trips_and_new_arms_start_fresh():
    x, _ = two_contexts()
    policy = contextual.LinearThompson.fresh(["a", "b"])
    policy.update("a", x, 1.0, weight=0.5)
    restored = contextual.LinearThompson.from_state(policy.to_state(), ["a", "b", "c"])
    assert np.allclose(restored.arms["a"].A, policy.arms["a"].A) and restored.updates == 1
    assert np.allclose(restored.arms["c"].A, np.eye(len(x)) * contextual.PRIOR)
    with pytest.raises(KeyError):
        restored.update("nope", x, 1.0)


def test_signed_reward_shares_the_grades_of_the_beta_reward():
    for kind, value in [
        ("like", None),
        ("favourite", None),
        ("purchase", None),
        ("rating", 4.0),
        ("dislike", None),
        ("rating", 2.0),
        ("rating", 3.0),
        ("view", None),
        ("unlike", None),
    ]:
        beta, signed = rules.reward(kind, value), rules.signed_reward(kind, value)
        assert (beta is None) == (signed is None)
        if beta is not None:
            assert signed == 2 * beta - 1


# ---------------------------------------------------------------- off-policy estimators, by hand


def hand_logs():
    # 4 logged turns, 2 arms; logging probabilities of the chosen arm and rewards
    return offpolicy.Logs(
        contexts=np.ones((4, 1)),
        actions=np.array([0, 1, 0, 1]),
        propensities=np.array([0.5, 0.25, 0.8, 0.5]),
        rewards=np.array([1.0, 0.0, 0.5, 1.0]),
    )


def test_ips_snips_dm_dr_against_hand_computed_values():
    logs = hand_logs()
    target = offpolicy.deterministic(np.array([0, 0, 0, 1]), 2)  # the target takes arm 0, 0, 0, 1
    # weights: 1/0.5=2, 0 (target 0, logged 1), 1/0.8=1.25, 1/0.5=2
    assert offpolicy.ips(logs, target) == pytest.approx((2 * 1.0 + 0 + 1.25 * 0.5 + 2 * 1.0) / 4)
    assert offpolicy.snips(logs, target) == pytest.approx((2 + 0.625 + 2) / (2 + 1.25 + 2))
    predicted = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    assert offpolicy.direct(target, predicted) == pytest.approx((0.6 + 0.6 + 0.6 + 0.4) / 4)
    residual_terms = 2 * (1.0 - 0.6) + 0 + 1.25 * (0.5 - 0.6) + 2 * (1.0 - 0.4)
    assert offpolicy.doubly_robust(logs, target, predicted) == pytest.approx(0.55 + residual_terms / 4)


def test_a_perfect_reward_model_makes_dr_exact_and_stochastic_targets_weigh_by_probability():
    logs = hand_logs()
    target = np.array([[0.5, 0.5]] * 4)
    truth = np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 1.0], [0.5, 1.0]])
    rewards = truth[np.arange(4), logs.actions]
    exact = offpolicy.Logs(logs.contexts, logs.actions, logs.propensities, rewards)
    assert offpolicy.doubly_robust(exact, target, truth) == pytest.approx((target * truth).sum(axis=1).mean())
    assert offpolicy.ips(exact, target) == pytest.approx(
        np.mean([0.5 / 0.5 * 1, 0.5 / 0.25 * 0, 0.5 / 0.8 * 0.5, 0.5 / 0.5 * 1.0])
    )


def test_estimators_recover_a_known_value_from_uniform_logs():
    rng = np.random.default_rng(3)
    n, k = 20_000, 3
    X = np.column_stack([np.ones(n), rng.random(n)])
    means = np.column_stack([0.2 + 0.6 * X[:, 1], 0.5 * np.ones(n), 0.8 - 0.6 * X[:, 1]])
    actions = rng.integers(0, k, n)
    rewards = means[np.arange(n), actions] + rng.normal(0, 0.2, n)
    logs = offpolicy.Logs(X, actions, np.full(n, 1 / k), rewards)
    best = offpolicy.deterministic(means.argmax(axis=1), k)
    true = means.max(axis=1).mean()
    for name, value in offpolicy.estimates(logs, best, k).items():
        assert value == pytest.approx(true, rel=0.05), name


def test_logs_refuse_bad_propensities():
    with pytest.raises(ValueError):
        offpolicy.Logs(np.ones((1, 1)), np.array([0]), np.array([0.0]), np.array([1.0]))
    with pytest.raises(ValueError):
        offpolicy.Logs(np.ones((2, 1)), np.array([0]), np.array([0.5]), np.array([1.0]))
