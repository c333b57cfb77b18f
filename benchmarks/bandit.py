"""Learning-loop simulator: the ranking-strategy policies on simulated people drawn from MovieLens ratings.

python -m benchmarks.bandit [--data-dir DIR] [--turns 10000] [--seeds 0 1 2 3 4] [--no-docs]

The people. ML-100K users are split (per seed) into 70 % whose ratings train the engine's hybrid (EASE, the
content model over item text with the hashing embedder, popularity) and 30 % who are simulated. A simulated
turn takes one of them with a visible history: in 35 % of turns a new person (their first 1-5 ratings by
time), otherwise a returning one (the first 30-90 % of their ratings). Everything they rated after that
prefix is what they hold out: an item rated >= 4 they like, <= 2 they dislike, 3 or unrated is silence
(rules.signed_reward, the one reward rule). In 30 % of turns the person asks for a genre of their history:
a hard constraint (only that genre is listed) and the request text the content model reads.

The arms. The candidates are the hybrid's best CANDIDATE_POOL unseen items, scored by the engine's own
components on the visible history; each strategy of `bandit.STRATEGIES` then ranks them with
`bandit.apply_strategy` (the code that serves them; "varied" reads the items' genres), shows 10, and the person examines rank r with probability 1 / log2(r + 1) and reacts to what
they examine: the turn's reward is likes minus dislikes. Expected rewards (examination probabilities times
reactions) give the regret; realised ones (the same examination draws for every policy) drive learning.

The policies: uniform random, epsilon-greedy (10 %), context-free Thompson sampling over Beta arms fed one
event at a time (the policy served before the contextual one), the contextual linear Thompson sampling
(`engine/contextual.py`, the served policy, updated per shown list as `services/policy.py` does) and the best
fixed strategy in hindsight. Off-policy: IPS, SNIPS and DR of every fixed strategy and of the contextual
policy's final greedy rule, from the uniform policy's logs and from the contextual policy's own logs (its
logged propensities), beside their true simulated values.

The LLM re-rank arm (`bandit.LLM_RERANK`) is not simulated: what a language model makes of a request and its
candidates cannot be replayed from ratings, so the simulated arms are the strategies alone.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from benchmarks.common import REPO, add_data_dir, data_root, write_section
from recommender.engine import bandit, contextual, offpolicy, rules
from recommender.engine.data import InteractionData, load_ml100k, ml100k_dir
from recommender.engine.rankers import make_ranker
from recommender.engine.types import ScoredItem

LIST_LENGTH = 10
NEW_SHARE, CONSTRAINED_SHARE = 0.35, 0.30
SIMULATED_USERS = 0.30
EPSILON = 0.10
ARMS = list(bandit.STRATEGIES)
PLOT = REPO / "docs" / "img" / "bandit-regret.svg"
BATCH = 500


@dataclass
class Turns:
    """A seed's simulated turns: contexts, feature vectors, every arm's expected and realised reward."""

    contexts: list[dict]
    X: np.ndarray
    expected: np.ndarray  # n x K
    events: np.ndarray  # n x K x 2: likes and dislikes among the examined items
    realised: np.ndarray  # n x K: likes minus dislikes


def _hybrid(data: InteractionData):
    components = {
        "ease": make_ranker("ease"),
        "content": make_ranker("content", embedder={"kind": "hashing"}),
        "popularity": make_ranker("popularity"),
    }
    hybrid = make_ranker("hybrid", weights={"ease": 1.0, "content": 0.5, "popularity": 0.3}).with_components(components)
    return hybrid.fit(data)


def _people(data: InteractionData, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    users = rng.permutation(data.n_users)
    return users[int(len(users) * SIMULATED_USERS) :], users[: int(len(users) * SIMULATED_USERS)]


def _turn_people(data, simulated, n_turns, rng, genres):
    """Return per turn: (visible items with grades, held-out item -> signed reaction, constraint genre or '')."""
    by_user = {u: np.flatnonzero(data.rows == u) for u in simulated}
    out = []
    for _ in range(n_turns):
        u = int(rng.choice(simulated))
        idx = by_user[u][np.argsort(data.timestamps[by_user[u]], kind="stable")]
        new = rng.random() < NEW_SHARE
        cut = int(rng.integers(1, 6)) if new else max(6, int(len(idx) * rng.uniform(0.3, 0.9)))
        cut = min(cut, len(idx) - 1)
        visible, held = idx[:cut], idx[cut:]
        truth = {int(data.cols[i]): rules.signed_reward("rating", float(data.values[i])) or 0.0 for i in held}
        genre = ""
        if rng.random() < CONSTRAINED_SHARE:
            pool = [g for i in visible for g in genres[int(data.cols[i])]]
            genre = str(rng.choice(pool)) if pool else ""
        out.append((data.cols[visible], data.values[visible], truth, genre))
    return out


def _context(cols, genre, popularity: dict, n_items) -> dict:
    """Return the turn's context as the chat logs it (`contextual.turn_context`): a genre asked is one include."""
    understanding = {"domain": "movie", "include": {"genres": [genre]} if genre else {}}
    return contextual.turn_context(
        intent=rules.RECOMMEND,
        language="en",
        understanding=understanding,
        history_items=[str(c) for c in cols],
        returning=len(cols) > 5,
        catalog_size=n_items,
        popularity=popularity,
    )


def _arm_outcomes(candidates: list[ScoredItem], truth: dict, u: np.ndarray, rng: random.Random, records: dict):
    """Return each arm's (expected reward, likes, dislikes) on one turn's candidates."""
    exam = 1.0 / np.log2(np.arange(2, LIST_LENGTH + 2))
    out = []
    for arm in ARMS:
        fresh = [ScoredItem(item_id=c.item_id, score=c.score, sources=dict(c.sources)) for c in candidates]
        shown = bandit.apply_strategy(fresh, arm, LIST_LENGTH, random.Random(rng.random()), records=records)
        values = np.array([truth.get(int(s.item_id), 0.0) for s in shown])
        looked = u[: len(values)] < exam[: len(values)]
        out.append(
            (
                float(exam[: len(values)] @ values),
                int(((values > 0) & looked).sum()),
                int(((values < 0) & looked).sum()),
            )
        )
    return out


def simulate_turns(data: InteractionData, seed: int, n_turns: int) -> Turns:
    """Return the simulated turns of one seed (see the module docstring)."""
    rng = np.random.default_rng(seed)
    trained, simulated = _people(data, rng)
    train_mask = np.isin(data.rows, trained)
    hybrid = _hybrid(data.subset(train_mask))
    catalog = hybrid.catalog
    genres = [list(catalog.records[i].attributes.get("genres", [])) for i in range(catalog.n_items)]
    records = {str(i): catalog.records[i] for i in range(catalog.n_items)}  # the kinds the varied arm reads
    counts = np.bincount(data.cols[train_mask], minlength=catalog.n_items)
    popularity = {str(i): float(c) for i, c in enumerate(counts)}
    people = _turn_people(data, simulated, n_turns, rng, genres)
    turn_rng = random.Random(seed)
    contexts, expected, events = [], np.zeros((n_turns, len(ARMS))), np.zeros((n_turns, len(ARMS), 2))
    for start in range(0, n_turns, BATCH):
        batch = people[start : start + BATCH]
        rows = [np.full(len(c), r) for r, (c, _, _, _) in enumerate(batch)]
        cols = np.concatenate([c for c, _, _, _ in batch])
        vals = np.concatenate([np.where(v >= rules.LIKE_THRESHOLD, 1.0, rules.NEUTRAL_WEIGHT) for _, v, _, _ in batch])
        X = sp.csr_matrix((vals, (np.concatenate(rows), cols)), shape=(len(batch), catalog.n_items))
        parts = hybrid.component_scores(X, [g for _, _, _, g in batch], weighted_only=True)
        scaled = {
            name: hybrid._weight(name)
            * S
            / np.where(S.std(axis=1, keepdims=True) > 1e-9, S.std(axis=1, keepdims=True), 1.0)
            for name, S in parts.items()
        }
        total = sum(scaled.values())
        for r, (hist, _, truth, genre) in enumerate(batch):
            n = start + r
            allowed = np.ones(catalog.n_items, dtype=bool)
            allowed[hist] = False
            if genre:
                allowed &= np.array([genre in g for g in genres])
            score = np.where(allowed, total[r], -np.inf)
            top = np.argsort(-score)[: bandit.CANDIDATE_POOL]
            top = top[np.isfinite(score[top])]
            candidates = [
                ScoredItem(
                    item_id=str(i), score=float(score[i]), sources={name: float(S[r, i]) for name, S in scaled.items()}
                )
                for i in top
            ]
            contexts.append(_context(hist, genre, popularity, catalog.n_items))
            u = np.array([turn_rng.random() for _ in range(LIST_LENGTH)])
            for a, (mean, likes, dislikes) in enumerate(_arm_outcomes(candidates, truth, u, turn_rng, records)):
                expected[n, a], events[n, a] = mean, (likes, dislikes)
    X_all = np.array([contextual.context_vector(c) for c in contexts])
    return Turns(contexts, X_all, expected, events, events[:, :, 0] - events[:, :, 1])


# ---------------------------------------------------------------- policies


def run_uniform(turns: Turns, rng: np.random.Generator):
    n, k = turns.expected.shape
    actions = rng.integers(0, k, n)
    return actions, np.full(n, 1.0 / k)


def run_epsilon_greedy(turns: Turns, rng: np.random.Generator):
    n, k = turns.expected.shape
    sums, counts = np.zeros(k), np.zeros(k)
    actions, props = np.zeros(n, dtype=int), np.zeros(n)
    for t in range(n):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
        best = int(np.argmax(means))
        a = int(rng.integers(k)) if rng.random() < EPSILON else best
        actions[t], props[t] = a, EPSILON / k + (1 - EPSILON) * (a == best)
        sums[a] += turns.realised[t, a]
        counts[a] += 1
    return actions, props


def run_context_free_thompson(turns: Turns, rng: np.random.Generator):
    """Today's policy before the contextual one: Beta arms, one success per like and one failure per dislike."""
    n, k = turns.expected.shape
    arms = {name: bandit.ArmStats() for name in ARMS}
    py_rng = random.Random(int(rng.integers(1 << 30)))
    actions = np.zeros(n, dtype=int)
    for t in range(n):
        a = ARMS.index(bandit.choose(arms, py_rng))
        likes, dislikes = turns.events[t, a]
        arms[ARMS[a]] = bandit.ArmStats(arms[ARMS[a]].successes + likes, arms[ARMS[a]].failures + dislikes)
        actions[t] = a
    return actions, np.full(n, np.nan)  # propensities of Beta sampling are not worked out


def run_contextual(turns: Turns, rng: np.random.Generator):
    policy = contextual.LinearThompson.fresh(ARMS)
    n = len(turns.X)
    actions, props = np.zeros(n, dtype=int), np.zeros(n)
    for t in range(n):
        arm, prob, _ = policy.choose(turns.X[t], rng)
        a = ARMS.index(arm)
        actions[t], props[t] = a, prob
        policy.update(arm, turns.X[t], float(turns.realised[t, a]))
    return actions, props, policy


# ---------------------------------------------------------------- evaluation


def off_policy_rows(turns: Turns, logs_actions, logs_props, final: contextual.LinearThompson, label: str):
    """Return rows (log, target, true value, IPS, SNIPS, DR) for every fixed arm and the final greedy rule."""
    k = len(ARMS)
    n = len(turns.X)
    logs = offpolicy.Logs(turns.X, logs_actions, logs_props, turns.realised[np.arange(n), logs_actions])
    targets = {f"always {arm}": np.full(n, a) for a, arm in enumerate(ARMS)}
    targets["contextual (greedy, final)"] = np.array([ARMS.index(final.greedy(x)) for x in turns.X])
    rows = []
    for name, acts in targets.items():
        truth = float(turns.expected[np.arange(n), acts].mean())
        est = offpolicy.estimates(logs, offpolicy.deterministic(acts, k), k)
        rows.append({"log": label, "target": name, "true": truth, **est})
    return rows


def run_seed(data: InteractionData, seed: int, n_turns: int) -> dict:
    started = time.perf_counter()
    turns = simulate_turns(data, seed, n_turns)
    built = time.perf_counter() - started
    rng = np.random.default_rng(seed + 1000)
    n = len(turns.X)
    chosen = {
        "uniform random": run_uniform(turns, rng)[0],
        "epsilon-greedy": run_epsilon_greedy(turns, rng)[0],
        "context-free Thompson": run_context_free_thompson(turns, rng)[0],
    }
    ctx_actions, ctx_props, final = run_contextual(turns, rng)
    chosen["contextual LinTS"] = ctx_actions
    fixed = turns.expected.sum(axis=0)
    best_arm = int(fixed.argmax())
    chosen[f"best fixed in hindsight ({ARMS[best_arm]})"] = np.full(n, best_arm)
    curves = {name: np.cumsum(turns.expected[np.arange(n), acts]) for name, acts in chosen.items()}
    uniform_actions, uniform_props = run_uniform(turns, np.random.default_rng(seed + 2000))
    ope = off_policy_rows(turns, uniform_actions, uniform_props, final, "uniform random") + off_policy_rows(
        turns, ctx_actions, ctx_props, final, "contextual LinTS"
    )
    per_context = _per_context_best(turns)
    return {
        "seed": seed,
        "curves": curves,
        "best_arm": ARMS[best_arm],
        "fixed": dict(zip(ARMS, fixed.tolist())),
        "ope": ope,
        "seconds": time.perf_counter() - started,
        "build_seconds": built,
        "per_context": per_context,
    }


def _per_context_best(turns: Turns) -> dict:
    """Return which arm earns most in each kind of turn (new/returning x constrained/not): does context matter?"""
    out = {}
    for new in (True, False):
        for constrained in (True, False):
            mask = np.array(
                [(not c["returning"]) == new and bool(c["hard_constraints"]) == constrained for c in turns.contexts]
            )
            if mask.any():
                means = turns.expected[mask].mean(axis=0)
                key = f"{'new' if new else 'returning'}, {'genre asked' if constrained else 'no constraint'}"
                out[key] = {arm: round(float(m), 3) for arm, m in zip(ARMS, means)}
    return out


# ---------------------------------------------------------------- report


def regret_svg(results: list[dict], path: Path) -> None:
    """Write the mean cumulative regret against the best fixed strategy, per policy, as a small SVG line chart."""
    names = [n for n in results[0]["curves"] if not n.startswith("best fixed")]
    regret = {}
    for name in names:
        curves = [r["curves"][_best_name(r)] - r["curves"][name] for r in results]
        regret[name] = np.mean(curves, axis=0)
    width, height, pad = 640, 360, 50
    n = len(next(iter(regret.values())))
    lo, hi = min(float(v.min()) for v in regret.values()), max(float(v.max()) for v in regret.values())
    hi = max(hi, lo + 1e-9)
    colours = ["#888888", "#d98c00", "#1f77b4", "#2ca02c", "#9467bd"]

    def xy(t, v):
        return pad + (width - 2 * pad) * t / max(n - 1, 1), height - pad - (height - 2 * pad) * (v - lo) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{pad}" y="20">Cumulative regret vs the best fixed strategy in hindsight '
        f"(mean of {len(results)} seeds)</text>",
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2 - 20}" y="{height - 15}">turn (0-{n})</text>',
        f'<text x="5" y="{pad}">{hi:.0f}</text><text x="5" y="{height - pad}">{lo:.0f}</text>',
    ]
    zero_y = xy(0, 0.0)[1]
    parts.append(
        f'<line x1="{pad}" y1="{zero_y:.1f}" x2="{width - pad}" y2="{zero_y:.1f}" stroke="#ccc" stroke-dasharray="4"/>'
    )
    step = max(n // 200, 1)
    for i, (name, values) in enumerate(regret.items()):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(t, values[t]) for t in range(0, n, step)))
        colour = colours[i % len(colours)]
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        parts.append(f'<text x="{pad + 10}" y="{pad + 16 * i + 10}" fill="{colour}">{name}: {values[-1]:.0f}</text>')
    parts.append("</svg>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def _best_name(result: dict) -> str:
    return next(n for n in result["curves"] if n.startswith("best fixed"))


def report(results: list[dict], n_turns: int) -> str:
    names = [n for n in results[0]["curves"] if not n.startswith("best fixed")]
    totals = {name: [float(r["curves"][name][-1]) for r in results] for name in names}
    best = [float(r["curves"][_best_name(r)][-1]) for r in results]
    ours = np.array(totals["contextual LinTS"])

    def wins(name: str | None) -> str:
        if name == "contextual LinTS":
            return "–"
        other = np.array(best) if name is None else np.array(totals[name])
        return f"{int((ours > other).sum())} of {len(results)}"

    lines = [
        f"Simulated people from ML-100K (30 % of users held out of training per seed), {n_turns} turns a seed, "
        f"seeds {', '.join(str(r['seed']) for r in results)}; reward = likes minus dislikes among the examined "
        f"items of a list of {LIST_LENGTH}. Command: `python -m benchmarks.bandit`.",
        "",
        "| policy | cumulative reward (mean ± sd) | share of best fixed | regret vs best fixed | seeds where contextual LinTS earns more |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        vals = np.array(totals[name])
        share = np.array(totals[name]) / np.array(best)
        lines.append(
            f"| {name} | {vals.mean():.0f} ± {vals.std():.0f} | {share.mean():.3f} (min {share.min():.3f}) "
            f"| {np.mean(np.array(best) - vals):.0f} | {wins(name)} |"
        )
    lines.append(
        f"| best fixed in hindsight ({', '.join(sorted({r['best_arm'] for r in results}))}) | "
        f"{np.mean(best):.0f} ± {np.std(best):.0f} | 1.000 | 0 | {wins(None)} |"
    )
    lines += [
        "",
        "Mean expected reward per turn by kind of turn and strategy (seed "
        f"{results[0]['seed']}): the strategies differ by context.",
        "",
        "| turn | " + " | ".join(ARMS) + " |",
        "|---|" + "---|" * len(ARMS),
    ]
    for key, means in results[0]["per_context"].items():
        lines.append(f"| {key} | " + " | ".join(f"{means[a]:.3f}" for a in ARMS) + " |")
    lines += [
        "",
        "Off-policy estimates (mean over seeds; relative error against the true simulated value):",
        "",
        "| log | target | true | IPS | SNIPS | DR |",
        "|---|---|---|---|---|---|",
    ]
    keys = [(row["log"], row["target"]) for row in results[0]["ope"]]
    for i, (log, target) in enumerate(keys):
        rows = [r["ope"][i] for r in results]
        true = np.mean([row["true"] for row in rows])
        cells = []
        for est in ("IPS", "SNIPS", "DR"):
            value = np.mean([row[est] for row in rows])
            err = np.mean([abs(row[est] - row["true"]) / abs(row["true"]) for row in rows])
            cells.append(f"{value:.3f} ({100 * err:.1f} %)")
        lines.append(f"| {log} | {target} | {true:.3f} | " + " | ".join(cells) + " |")
    lines += ["", f"![regret]({PLOT.relative_to(REPO / 'docs').as_posix()})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_dir(parser)
    parser.add_argument("--turns", type=int, default=10000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md as it is")
    args = parser.parse_args(argv)
    data = load_ml100k(ml100k_dir(data_root(args.data_dir)))
    results = []
    for seed in args.seeds:
        result = run_seed(data, seed, args.turns)
        results.append(result)
        finals = {name: round(float(c[-1]), 1) for name, c in result["curves"].items()}
        print(
            f"seed {seed}: {finals} ({result['seconds']:.0f} s, turns built in {result['build_seconds']:.0f} s)",
            flush=True,
        )
    text = report(results, args.turns)
    print(text)
    if not args.no_docs:
        regret_svg(results, PLOT)
        write_section("bandit", "## Learning loop: contextual policy on simulated people\n\n" + text)


if __name__ == "__main__":
    main()
