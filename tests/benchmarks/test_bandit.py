"""The learning-loop simulator on a small synthetic catalog: turns, policies, regret, off-policy rows, the plot."""

from __future__ import annotations

import numpy as np

from benchmarks import bandit as sim
from recommender.engine.data import InteractionData
from tests.engine.conftest import make_data


def timed(data: InteractionData) -> InteractionData:
    users = [data.user_ids[u] for u in data.rows]
    items = [data.item_ids[i] for i in data.cols]
    return InteractionData(
        users, items, data.values.tolist(), timestamps=np.arange(len(users)).tolist(), items=list(data.items.values())
    )


def test_a_seed_gives_every_policy_a_curve_and_the_best_fixed_arm_is_best_in_hindsight(tmp_path):
    data = timed(make_data())
    result = sim.run_seed(data, 0, 300)
    curves = result["curves"]
    assert {"uniform random", "epsilon-greedy", "context-free Thompson", "contextual LinTS"} <= set(curves)
    assert all(len(c) == 300 for c in curves.values())
    best = sim._best_name(result)
    assert curves[best][-1] == max(result["fixed"].values())
    assert result["best_arm"] in sim.ARMS
    for row in result["ope"]:
        assert np.isfinite([row["true"], row["IPS"], row["SNIPS"], row["DR"]]).all()
    text = sim.report([result], 300)
    assert "| contextual LinTS |" in text and "| log | target | true | IPS | SNIPS | DR |" in text
    plot = tmp_path / "regret.svg"
    sim.regret_svg([result], plot)
    svg = plot.read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 4


def test_turns_are_the_same_for_every_policy_of_a_seed():
    data = timed(make_data())
    first, second = sim.simulate_turns(data, 3, 120), sim.simulate_turns(data, 3, 120)
    assert np.array_equal(first.expected, second.expected) and first.contexts == second.contexts
    assert first.expected.shape == (120, len(sim.ARMS))
    # a turn's realised reward is likes minus dislikes among the examined items
    assert np.array_equal(first.realised, first.events[:, :, 0] - first.events[:, :, 1])
