"""Ranking strategies (the bandit's arms) and context-free Thompson sampling over Beta-Bernoulli arms.

Each strategy is a way of weighting the hybrid's parts for a conversation turn. The served policy picks one
per turn from the turn's context (`contextual.py`); the Beta arms here stay as its context-free summary (the
dashboard's pulls, the baseline in `benchmarks.bandit`): the reward of an event is `rules.reward` (a like is
a success, a dislike a failure).
"""
from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from .likeness import kind_values
from .types import Evidence, ItemRecord, ScoredItem

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
    "varied": {},  # balanced scores, then a maximal-marginal-relevance pass over the items' kinds (`diversify`)
}
VARIED = "varied"
DIVERSITY_LAMBDA = 0.7  # MMR: weight of relevance against likeness to what is already listed
# The LLM re-ranks the balanced candidates (`rerank.py`). An arm only where a backend is enabled and re-ranking
# is switched on, so it is not one of STRATEGIES: `offered_arms` says which arms a turn may draw.
LLM_RERANK = "llm-rerank"
ALL_ARMS = (*STRATEGIES, LLM_RERANK)
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


def offered_arms(*, llm_rerank: bool) -> list[str]:
    """Return the arms a turn may be ranked with: the strategies, and the LLM re-rank when it is available."""
    return [*STRATEGIES, LLM_RERANK] if llm_rerank else list(STRATEGIES)


def reranks(strategy: str) -> bool:
    """Return whether the arm has the LLM reorder the ranked candidates."""
    return strategy == LLM_RERANK


def group_of(component: str) -> str:
    """Return the strategy group a hybrid component belongs to."""
    return COMPONENT_GROUPS.get(component, "collaborative")


def apply_strategy(scored: list[ScoredItem], strategy: str, n: int, rng: random.Random | None = None,
                   records: Mapping[str, ItemRecord] | None = None) -> list[ScoredItem]:
    """Return the top n of the candidates re-scored under a strategy (candidates carry per-component sources).

    "explore" replaces the last EXPLORE_PICKS places with random picks from beyond the top n and labels them
    with exploration evidence, so explanations say honestly why they are there. "varied" orders the candidates
    by maximal marginal relevance over their kinds (`records` gives them; without records it is "balanced").
    """
    weights = STRATEGIES.get(strategy, {})
    if weights:
        for item in scored:
            if item.sources:
                item.score = float(sum(weights.get(group_of(name), 1.0) * value for name, value in item.sources.items()))
        scored = sorted(scored, key=lambda item: item.score, reverse=True)
    if strategy == VARIED and records is not None:
        return diversify(scored, records, n)
    if strategy != "explore" or len(scored) <= n:
        return scored[:n]
    rng = rng or random.Random()
    picks = rng.sample(scored[n:], min(EXPLORE_PICKS, len(scored) - n, n))
    for item in picks:
        item.evidence.append(Evidence(kind="exploration", weight=0.0, detail="shown to learn more about your taste"))
    return scored[:n - len(picks)] + picks


def _jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def diversify(scored: list[ScoredItem], records: Mapping[str, ItemRecord], n: int,
              weight: float = DIVERSITY_LAMBDA) -> list[ScoredItem]:
    """Return n of the candidates (best first) picked by maximal marginal relevance over their kinds.

    Each place takes the candidate with the best weight * relevance - (1 - weight) * its largest kind overlap
    (Jaccard of genres / category) with the items already picked; relevance is the score scaled to 0..1 over the
    candidates. The best-scored candidate keeps the first place; nothing outside the candidates is added.
    """
    if len(scored) <= 1 or n <= 1:
        return scored[:n]
    kinds = [frozenset(kind_values(records[s.item_id])) if s.item_id in records else frozenset() for s in scored]
    top, bottom = max(s.score for s in scored), min(s.score for s in scored)
    spread = top - bottom if top > bottom else 1.0
    relevance = [(s.score - bottom) / spread for s in scored]
    picked = [0]
    closest = [_jaccard(kinds[i], kinds[0]) for i in range(len(scored))]
    left = set(range(1, len(scored)))
    while left and len(picked) < n:
        best = max(left, key=lambda i: (weight * relevance[i] - (1 - weight) * closest[i], -i))
        picked.append(best)
        left.discard(best)
        closest = [max(closest[i], _jaccard(kinds[i], kinds[best])) for i in range(len(scored))]
    return [scored[i] for i in picked]
