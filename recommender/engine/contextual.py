"""A contextual bandit over the ranking strategies: linear Thompson sampling with logged propensities.

Each strategy (an arm of `bandit.STRATEGIES`) has a Bayesian linear model of the reward it earns in a turn's
context (`context_vector`: intent, language, domain, hard constraints, history length, returning person,
catalog size, how mainstream the person's history is). A turn draws each arm's expected reward from its
posterior and takes the best; the probability of every arm under that rule is worked out from the same
posterior (`probabilities`) and mixed with a uniform floor (`EXPLORE_FLOOR`), and the arm is drawn from
exactly those probabilities, so the logged propensity is the probability the arm was really chosen with:
what replay, IPS, SNIPS and DR need (`offpolicy.py`).

Old feedback fades: each update first multiplies an arm's evidence by `DECAY` (a half-life of about 700
updates of that arm), so a strategy that stopped working loses its lead. Pure numpy; no Django.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import rules

FEATURES = ("bias", "recommend", "chinese", "movie", "constraints", "history", "returning", "catalog", "mainstream")
DECAY = 0.999  # per update of an arm: evidence older than ~700 of that arm's updates counts half
PRIOR = 1.0  # ridge prior precision (lambda): how many observations one feature's weight is worth before data
NOISE = 0.5  # posterior scale v: exploration width of the Thompson draws
EXPLORE_FLOOR = 0.05  # every arm keeps at least EXPLORE_FLOOR / K probability, so logs cover every arm
DRAWS = 2000  # Monte Carlo draws per turn for the arms' probabilities under Thompson sampling
HISTORY_SCALE = math.log1p(500)  # history length on a log scale: 500 events or more read as 1
CATALOG_SCALE = 6.0  # log10 of the catalog size: a million items read as 1


MAINSTREAM_HALF = 50.0  # an item with this many interactions reads as half mainstream


def mainstream(history_items: list[str], popularity: Mapping[str, float]) -> float:
    """Return how mainstream a history is, 0 to 1: the mean of count / (count + MAINSTREAM_HALF) over its items."""
    if not history_items:
        return 0.0
    counts = [float(popularity.get(item, 0.0)) for item in history_items]
    return sum(c / (c + MAINSTREAM_HALF) for c in counts) / len(counts)


def turn_context(
    *,
    intent: str,
    language: str,
    understanding: dict | None,
    history_items: list[str],
    returning: bool,
    catalog_size: int,
    popularity: Mapping[str, float],
) -> dict[str, Any]:
    """Return the context logged with a shown list (the dict `context_vector` reads)."""
    u = understanding or {}
    constraints = sum(len(u.get(part) or {}) for part in ("include", "exclude", "ranges"))
    return {
        "intent": intent,
        "language": language,
        "domain": u.get("domain") or u.get("topic_domain") or "",
        "hard_constraints": constraints,
        "history_length": len(history_items),
        "returning": bool(returning),
        "catalog_size": int(catalog_size),
        "mainstream": round(mainstream(history_items, popularity), 4),
    }


def context_vector(context: dict[str, Any]) -> np.ndarray:
    """Return the feature vector (FEATURES order) of a turn's logged context dict; missing keys read as 0.

    The context is logged as the dict, not the vector, so a later feature mapping can still replay old logs.
    """
    history = max(float(context.get("history_length", 0) or 0), 0.0)
    catalog = max(float(context.get("catalog_size", 1) or 1), 1.0)
    return np.array(
        [
            1.0,
            1.0 if context.get("intent") == rules.RECOMMEND else 0.0,
            1.0 if context.get("language") == "zh" else 0.0,
            1.0 if context.get("domain", "movie") in ("", "movie") else 0.0,
            min(float(context.get("hard_constraints", 0) or 0), 3.0) / 3.0,
            min(math.log1p(history) / HISTORY_SCALE, 1.0),
            1.0 if context.get("returning") else 0.0,
            min(math.log10(catalog) / CATALOG_SCALE, 1.0),
            min(max(float(context.get("mainstream", 0.0) or 0.0), 0.0), 1.0),
        ]
    )


@dataclass
class LinearArm:
    """One arm's posterior: precision A = PRIOR*I + sum(decayed x x^T), and b = sum(decayed r x)."""

    A: np.ndarray
    b: np.ndarray
    pulls: float = 0.0  # decayed count of updates

    @classmethod
    def fresh(cls, dim: int) -> LinearArm:
        return cls(A=PRIOR * np.eye(dim), b=np.zeros(dim))

    def mean(self) -> np.ndarray:
        return np.linalg.solve(self.A, self.b)

    def add_reward(self, x: np.ndarray, reward: float) -> None:
        """Add reward that arrived after its observation was folded in (x x^T is already in A)."""
        self.b = self.b + reward * x

    def update(self, x: np.ndarray, reward: float, weight: float = 1.0, decay: float = DECAY) -> None:
        """Fold one reward in (weight scales its say, rules.reward_weight); older evidence fades by `decay`."""
        eye = PRIOR * np.eye(len(x))
        self.A = decay * (self.A - eye) + eye + weight * np.outer(x, x)
        self.b = decay * self.b + weight * reward * x
        self.pulls = decay * self.pulls + weight


@dataclass
class LinearThompson:
    """Linear Thompson sampling over named arms, with exact logged propensities (see the module docstring)."""

    arms: dict[str, LinearArm]
    noise: float = NOISE
    floor: float = EXPLORE_FLOOR
    decay: float = DECAY
    draws: int = DRAWS
    updates: int = field(default=0)

    @classmethod
    def fresh(cls, names: list[str] | tuple[str, ...], dim: int = len(FEATURES), **params) -> LinearThompson:
        return cls(arms={name: LinearArm.fresh(dim) for name in names}, **params)

    @property
    def names(self) -> list[str]:
        return list(self.arms)

    def score_moments(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return each arm's posterior mean and standard deviation of x . theta (the expected reward here)."""
        means, sds = [], []
        for arm in self.arms.values():
            solved = np.linalg.solve(arm.A, np.column_stack([arm.b, x]))
            means.append(float(x @ solved[:, 0]))
            sds.append(self.noise * math.sqrt(max(float(x @ solved[:, 1]), 0.0)))
        return np.array(means), np.array(sds)

    def probabilities(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return each arm's probability of being chosen in context x (Thompson share mixed with the floor).

        x . theta under an arm's Gaussian posterior is itself Gaussian, so each draw is one normal per arm.
        """
        means, sds = self.score_moments(x)
        samples = means + sds * rng.standard_normal((self.draws, len(means)))
        share = np.bincount(samples.argmax(axis=1), minlength=len(means)) / self.draws
        return (1.0 - self.floor) * share + self.floor / len(means)

    def choose(self, x: np.ndarray, rng: np.random.Generator) -> tuple[str, float, np.ndarray]:
        """Return (arm, its probability, every arm's probability): the arm is drawn from those probabilities."""
        probs = self.probabilities(x, rng)
        index = int(rng.choice(len(probs), p=probs))
        return self.names[index], float(probs[index]), probs

    def greedy(self, x: np.ndarray) -> str:
        """Return the arm with the highest posterior mean (the policy without exploration)."""
        means, _ = self.score_moments(x)
        return self.names[int(means.argmax())]

    def update(self, arm: str, x: np.ndarray, reward: float, weight: float = 1.0) -> None:
        if arm not in self.arms:
            raise KeyError(f"unknown arm {arm!r}")
        self.arms[arm].update(x, reward, weight, self.decay)
        self.updates += 1

    def to_state(self) -> dict:
        """Return the model as JSON-ready data (stored in the database between processes)."""
        return {
            "features": list(FEATURES),
            "noise": self.noise,
            "floor": self.floor,
            "decay": self.decay,
            "updates": self.updates,
            "arms": {
                name: {"A": arm.A.tolist(), "b": arm.b.tolist(), "pulls": arm.pulls} for name, arm in self.arms.items()
            },
        }

    @classmethod
    def from_state(cls, state: dict, names: list[str] | tuple[str, ...]) -> LinearThompson:
        """Return the stored model; arms it lacks (a strategy added later), or a changed feature list, start fresh."""
        dim = len(FEATURES)
        same_features = list(state.get("features") or []) == list(FEATURES)
        arms = {}
        for name in names:
            stored = (state.get("arms") or {}).get(name) if same_features else None
            arms[name] = (
                LinearArm(
                    A=np.array(stored["A"], dtype=float),
                    b=np.array(stored["b"], dtype=float),
                    pulls=float(stored.get("pulls", 0.0)),
                )
                if stored
                else LinearArm.fresh(dim)
            )
        return cls(
            arms=arms,
            noise=float(state.get("noise", NOISE)),
            floor=float(state.get("floor", EXPLORE_FLOOR)),
            decay=float(state.get("decay", DECAY)),
            updates=int(state.get("updates", 0)),
        )
