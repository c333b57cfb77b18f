"""Ranking strategies (the bandit's arms) and context-free Thompson sampling over Beta-Bernoulli arms.

Each strategy is a way of weighting the hybrid's parts for a conversation turn. The served policy picks one
per turn from the turn's context (`contextual.py`); the Beta arms here stay as its context-free summary (the
dashboard's pulls, the baseline in `benchmarks.bandit`): the reward of an event is `rules.reward` (a like is
a success, a dislike a failure).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .types import Evidence, ScoredItem

# Multipliers on the hybrid's per-ranker score terms, by group; "explore" also shows a few items from
# further down the candidate list, labelled as exploration.
# The multipliers are far enough apart that the strategies really differ by context (popular-first for people
# with a short history, taste-first for returning ones): `python -m benchmarks.bandit` measures it.
STRATEGIES: dict[str, dict[str, float]] = {
    "balanced": {},
    "taste-first": {"collaborative": 2.0, "content": 0.5, "popularity": 0.5},
    "request-first": {"collaborative": 0.5, "content": 2.5},
    "popular-first": {"popularity": 3.0, "collaborative": 0.5, "content": 0.5},
    "explore": {"popularity": 0.3},
}
COMPONENT_GROUPS = {"content": "content", "query": "content", "likeness": "content", "popularity": "popularity"}  # the rest: collaborative
EXPLORE_PICKS = 2
CANDIDATE_POOL = 30
DEFAULT_STRATEGY = "balanced"


@dataclass
class ArmStats:
    successes: float = 1.0  # Beta(1, 1) prior
    failures: float = 1.0


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


def group_of(component: str) -> str:
    """Return the strategy group a hybrid component belongs to."""
    return COMPONENT_GROUPS.get(component, "collaborative")


def apply_strategy(scored: list[ScoredItem], strategy: str, n: int,
                   rng: random.Random | None = None) -> list[ScoredItem]:
    """Return the top n of the candidates re-scored under a strategy (candidates carry per-component sources).

    "explore" replaces the last EXPLORE_PICKS places with random picks from beyond the top n and labels them
    with exploration evidence, so explanations say honestly why they are there.
    """
    weights = STRATEGIES.get(strategy, {})
    if weights:
        for item in scored:
            if item.sources:
                item.score = float(sum(weights.get(group_of(name), 1.0) * value for name, value in item.sources.items()))
        scored = sorted(scored, key=lambda item: item.score, reverse=True)
    if strategy != "explore" or len(scored) <= n:
        return scored[:n]
    rng = rng or random.Random()
    picks = rng.sample(scored[n:], min(EXPLORE_PICKS, len(scored) - n, n))
    for item in picks:
        item.evidence.append(Evidence(kind="exploration", weight=0.0, detail="shown to learn more about your taste"))
    return scored[:n - len(picks)] + picks
