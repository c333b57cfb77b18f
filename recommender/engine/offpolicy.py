"""Off-policy estimates of a policy's value from another policy's logs: IPS, SNIPS, direct method and DR.

The logs hold, per shown list, the context, the arm chosen, its probability under the logging policy (the
propensity stored with the list, `contextual.LinearThompson.choose`) and the reward observed. A target policy
is given as its probability of every arm in every logged context (an n x K matrix). The formulas are the
standard ones (Dudik, Langford and Li 2011; Swaminathan and Joachims 2015):

    IPS   = mean(w_i r_i)                       w_i = pi(a_i | x_i) / p_i
    SNIPS = sum(w_i r_i) / sum(w_i)
    DM    = mean(sum_a pi(a | x_i) q(x_i, a))
    DR    = DM + mean(w_i (r_i - q(x_i, a_i)))

with q a reward model fitted on the logs (`ridge_reward_model`). Written here (a few lines each) because obp,
the usual library, does not install on this Python; tests check them against hand-computed cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Logs:
    """Logged bandit feedback: contexts (n x d), chosen arm indices, their propensities and rewards."""

    contexts: np.ndarray
    actions: np.ndarray
    propensities: np.ndarray
    rewards: np.ndarray

    def __post_init__(self):
        n = len(self.actions)
        if not (len(self.contexts) == len(self.propensities) == len(self.rewards) == n):
            raise ValueError("contexts, actions, propensities and rewards must have one row per logged turn")
        if n and (np.any(self.propensities <= 0) or np.any(self.propensities > 1)):
            raise ValueError("propensities must be in (0, 1]")


def _weights(logs: Logs, target: np.ndarray) -> np.ndarray:
    return target[np.arange(len(logs.actions)), logs.actions] / logs.propensities


def ips(logs: Logs, target: np.ndarray) -> float:
    """Return the inverse propensity score estimate of the target policy's mean reward per turn."""
    return float(np.mean(_weights(logs, target) * logs.rewards))


def snips(logs: Logs, target: np.ndarray) -> float:
    """Return the self-normalised IPS estimate (0 when the target never takes a logged arm)."""
    w = _weights(logs, target)
    total = w.sum()
    return float((w * logs.rewards).sum() / total) if total > 0 else 0.0


def direct(target: np.ndarray, predicted: np.ndarray) -> float:
    """Return the direct-method estimate: the reward model's prediction under the target's arm probabilities."""
    return float(np.mean((target * predicted).sum(axis=1)))


def doubly_robust(logs: Logs, target: np.ndarray, predicted: np.ndarray) -> float:
    """Return the doubly robust estimate: the direct method corrected by the weighted residuals of logged arms."""
    rows = np.arange(len(logs.actions))
    residual = logs.rewards - predicted[rows, logs.actions]
    return direct(target, predicted) + float(np.mean(_weights(logs, target) * residual))


def ridge_reward_model(logs: Logs, n_arms: int, prior: float = 1.0) -> np.ndarray:
    """Return q(x_i, a) for every logged context and arm: a ridge regression of reward on context per arm."""
    X = logs.contexts
    predicted = np.zeros((len(X), n_arms))
    for a in range(n_arms):
        mine = logs.actions == a
        A = prior * np.eye(X.shape[1]) + X[mine].T @ X[mine]
        theta = np.linalg.solve(A, X[mine].T @ logs.rewards[mine])
        predicted[:, a] = X @ theta
    return predicted


def estimates(logs: Logs, target: np.ndarray, n_arms: int) -> dict[str, float]:
    """Return every estimator's value of the target policy from the logs."""
    predicted = ridge_reward_model(logs, n_arms)
    return {
        "IPS": ips(logs, target),
        "SNIPS": snips(logs, target),
        "DM": direct(target, predicted),
        "DR": doubly_robust(logs, target, predicted),
    }


def deterministic(actions: np.ndarray, n_arms: int) -> np.ndarray:
    """Return the n x K probability matrix of a policy that takes the given arm in each context."""
    out = np.zeros((len(actions), n_arms))
    out[np.arange(len(actions)), actions] = 1.0
    return out
