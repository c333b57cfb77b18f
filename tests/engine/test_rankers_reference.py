"""Scores, rankings and evidence of every ranker on a fixed seeded catalog match a recorded reference.

The reference (data/ranker_reference.json) was written from the rankers before their explanation
methods were merged into one contract (Ranker.item_parts); `snapshot()` reads only public methods, so the same function
produced it then and checks it now. Regenerate it only for an intended change of behaviour:
`python -m tests.engine.test_rankers_reference` writes it anew.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recommender.engine.embedding import HashingEmbedder
from recommender.engine.rankers import make_ranker
from recommender.engine.rankers.mf import use_device
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import build_hybrid, merged_config, train_bundle
from recommender.engine.types import Profile

from .conftest import make_data

REFERENCE = Path(__file__).parent / "data" / "ranker_reference.json"
SINGLE = ["popularity", "itemknn", "ease", "ease_liked", "rp3beta", "mf", "content"]
CASES = [("u3", None), (None, Profile(liked=["i0", "i2"], disliked=["i25"], query_text="space galaxy")),
         ("u7", Profile(liked=["i13"], history={"i30": 0.5}, query_text="haunted ghost Horror"))]
ITEMS = ["i3", "i4", "i14", "i20", "i26", "cold"]
BUNDLE_CONFIG = {
    "components": {"ease": {"l2": 5.0}, "rp3beta": {"k": 20}, "popularity": {},
                   "mf": {"factors": 8, "epochs": 10, "lr": 0.02, "batch_size": 16},
                   "content": {"embedder": {"kind": "hashing", "dim": 128}}},
    "tune": {"ease_l2": [2.0, 5.0]},
    "version": "v-reference",
}


def _ranker(name, data, embedder):
    if name == "mf":
        return make_ranker("mf", factors=8, epochs=15, lr=0.02, batch_size=16, ensemble=2).fit(data)
    if name == "content":
        return make_ranker("content", embedder_obj=embedder).fit(data)
    if name in ("ease", "ease_liked"):
        return make_ranker(name, l2=5.0).fit(data)
    if name == "hybrid":
        cfg = merged_config({"components": {"ease": {"l2": 5.0}, "rp3beta": {"k": 20},
                                            "mf": {"factors": 8, "epochs": 10, "lr": 0.02, "batch_size": 16},
                                            "popularity": {}, "content": {}}})
        return build_hybrid(cfg, embedder).fit_with_validation(data, seed=0)
    return make_ranker(name).fit(data)


def _evidence(evidence) -> list[list]:
    # The ranker's facts; the knowledge chain the bundle adds after them is read from the catalog, not the model.
    return [[e.kind, e.item_id, e.attribute, e.value if not isinstance(e.value, float) else round(e.value, 5),
             e.weight, e.detail] for e in evidence if e.kind != "chain"]


def snapshot(out_dir: Path) -> dict:
    """Return scores, top-10 lists and evidence of every ranker and of a trained bundle (torch on the CPU,
    where the reference was recorded: CUDA kernels round differently)."""
    with use_device("cpu"):
        return _snapshot(out_dir)


def _snapshot(out_dir: Path) -> dict:
    data, embedder = make_data(), HashingEmbedder(dim=128)
    snap: dict = {"rankers": {}, "bundle": {}}
    for name in SINGLE + ["hybrid"]:
        ranker = _ranker(name, data, embedder)
        rows = []
        for user, profile in CASES:
            rows.append({
                "scores": [float(s) for s in ranker.scores(user, profile)],
                "top": [r.item_id for r in ranker.recommend(user_key=user, profile=profile, n=10)],
                "explain": {item: _evidence(ranker.explain(item, user_key=user, profile=profile, limit=10))
                            for item in ITEMS},
            })
        snap["rankers"][name] = rows
    train_bundle(data, out_dir, config=BUNDLE_CONFIG)
    bundle = RecommenderBundle.load(out_dir, reuse=False)
    for k, (user, profile) in enumerate(CASES):
        recs = bundle.recommend(user_key=user, profile=profile, n=6)
        snap["bundle"][str(k)] = {
            "recommend": [[r.item_id, r.score, sorted(r.sources.items()), _evidence(r.evidence)] for r in recs],
            "evidence_for": {i: _evidence(ev) for i, ev in
                             bundle.evidence_for(ITEMS, user_key=user, profile=profile).items()},
        }
    return snap


def _same(actual, expected, path="") -> None:
    if isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-4, abs=1e-5), path
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for k, (a, e) in enumerate(zip(actual, expected)):
            _same(a, e, f"{path}[{k}]")
    elif isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), path
        for key in expected:
            _same(actual[key], expected[key], f"{path}.{key}")
    else:
        assert actual == expected, path


def _as_served(evidence: list[list]) -> list[list]:
    """Return recorded `explain` evidence as the served path gives it: no zero parts, details left out.

    Before the contract was merged, `explain` also listed history items and popularity terms whose part
    was exactly zero, and worded details per model; the served evidence never did either, and `explain`
    now equals it. Request-text similarity and attribute matches are listed even at zero, as before.
    """
    return [e[:5] for e in evidence
            if e[4] != 0 or e[0] == "attribute_match" or (e[0] == "content_similarity" and e[1] is None)]


def test_rankers_and_bundle_match_the_recorded_reference(tmp_path):
    expected = json.loads(REFERENCE.read_text())
    actual = json.loads(json.dumps(snapshot(tmp_path / "bundle")))
    for snap in (expected, actual):
        for rows in snap["rankers"].values():
            for row in rows:
                row["explain"] = {item: _as_served(ev) for item, ev in row["explain"].items()}
    _same(actual, expected)
    assert np.isfinite(actual["rankers"]["hybrid"][0]["scores"]).all()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        REFERENCE.write_text(json.dumps(snapshot(Path(tmp) / "bundle"), indent=0))
    print(f"wrote {REFERENCE}")
