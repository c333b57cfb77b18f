"""Thompson sampling over ranking strategies, with Beta-Bernoulli arms.

Each strategy is a way of weighting the hybrid's parts for a conversation turn. Feedback on what a strategy
showed (like, favourite, purchase, high rating = success; dislike, low rating = failure) updates its arm.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

# Multipliers on the hybrid's per-ranker scores; "explore" mixes in less-seen items on purpose.
STRATEGIES: dict[str, dict[str, float]] = {
    "balanced": {},
    "taste-first": {"collaborative": 1.5, "content": 0.7},
    "request-first": {"collaborative": 0.7, "content": 1.6},
    "explore": {"popularity": 0.3, "novelty": 1.0},
}
DEFAULT_STRATEGY = "balanced"

SUCCESS_KINDS = {"like", "favourite", "purchase"}
FAILURE_KINDS = {"dislike"}


@dataclass
class ArmStats:
    successes: float = 1.0  # Beta(1, 1) prior
    failures: float = 1.0


def reward_of(kind: str, value: float | None) -> float | None:
    """Return 1 for positive feedback, 0 for negative, None when the event says nothing."""
    if kind in SUCCESS_KINDS:
        return 1.0
    if kind in FAILURE_KINDS:
        return 0.0
    if kind == "rating" and value is not None:
        if value >= 4:
            return 1.0
        if value <= 2.5:
            return 0.0
    return None


def choose(arms: dict[str, ArmStats], rng: random.Random | None = None) -> str:
    """Return the strategy with the highest Beta sample (unknown strategies start from the prior)."""
    rng = rng or random.Random()
    best, best_draw = DEFAULT_STRATEGY, -1.0
    for name in STRATEGIES:
        stats = arms.get(name, ArmStats())
        draw = rng.betavariate(max(stats.successes, 1e-3), max(stats.failures, 1e-3))
        if draw > best_draw:
            best, best_draw = name, draw
    return best


def update(stats: ArmStats, reward: float) -> ArmStats:
    """Return the arm after one observed reward in [0, 1]."""
    return ArmStats(successes=stats.successes + reward, failures=stats.failures + (1.0 - reward))
