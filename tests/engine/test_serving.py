"""Training writes a versioned artifact without pickle; the serving bundle answers from it."""
from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import train_bundle
from recommender.engine.types import Constraints, ItemRecord, Profile

from .conftest import COLD_ID

CONFIG = {
    "components": {"ease": {"l2": 5.0}, "rp3beta": {"k": 20}, "popularity": {},
                   "content": {"embedder": {"kind": "hashing", "dim": 128}}},
    "tune": {"ease_l2": [2.0, 5.0]},
    "rating": {"models": ["mf", "autorec"], "mf": {"factors": 4, "epochs": 60}, "autorec": {"hidden": 8, "epochs": 60}},
    "version": "v-test",
}


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("artifacts") / "v1"
    stages = []
    manifest = train_bundle(data, out, config=CONFIG, progress=lambda stage, f: stages.append((stage, f)))
    return out, manifest, stages


def test_manifest_and_files(trained, data):
    out, manifest, stages = trained
    assert manifest["version"] == "v-test"
    assert manifest["item_ids"] == data.item_ids
    assert json.loads((out / "manifest.json").read_text())["metrics"] == json.loads(json.dumps(manifest["metrics"]))
    assert manifest["metrics"]["validation"]["objective"] == "NDCG@10"
    assert "ndcg@10" in manifest["metrics"]["validation"]
    assert manifest["tuned"]["ease_l2"] in (2.0, 5.0)
    assert manifest["metrics"]["rating_holdout"]["rmse"] > 0
    assert not list(out.rglob("*.pkl"))
    for npz in out.rglob("*.npz"):
        with np.load(npz, allow_pickle=False) as arrays:  # loads without pickle
            assert arrays.files
    assert stages[-1] == ("done", 1.0)
    assert not (out.parent / "v1.partial").exists()


def test_bundle_recommend_evidence_and_sources(trained, data):
    out, _, _ = trained
    bundle = RecommenderBundle.load(out)
    assert RecommenderBundle.load(out) is bundle  # loaded once per process
    recs = bundle.recommend(user_key="u0", n=5)
    assert len(recs) == 5
    seen = {data.item_ids[i] for i in data.implicit()[data.user_index["u0"]].indices}
    assert not seen & {r.item_id for r in recs}
    for rec in recs:
        assert rec.evidence and set(rec.sources) <= {"ease", "rp3beta", "popularity", "content"}
        assert sum(rec.sources.values()) == pytest.approx(rec.score, rel=1e-4, abs=1e-5)
    assert len(bundle.recommend(user_key="u0", n=3, candidates=8)) == 8


def test_bundle_constraints_and_constraint_evidence(trained):
    bundle = RecommenderBundle.load(trained[0])
    c = Constraints(include={"genres": ["Horror"]}, ranges={"year": (2000, 2010)})
    recs = bundle.recommend(profile=Profile(liked=["i24"]), constraints=c, n=20)
    assert recs and all("Horror" in bundle.items[r.item_id].attributes["genres"] for r in recs)
    assert all(2000 <= bundle.items[r.item_id].attributes["year"] <= 2010 for r in recs)
    assert any(e.kind == "constraint" and e.value == "Horror" for e in recs[0].evidence)


def test_unknown_user_and_items_fall_back(trained, data):
    bundle = RecommenderBundle.load(trained[0])
    cold_user = bundle.recommend(user_key="nobody", n=3)
    counts = np.asarray(data.implicit().getnnz(axis=0))
    assert [r.item_id for r in cold_user] == [data.item_ids[i] for i in np.argsort(-counts, kind="stable")[:3]] or \
        all(e.kind == "popularity" for r in cold_user for e in r.evidence)
    recs = bundle.recommend(profile=Profile(liked=["missing-id", "i1"]), n=3)
    assert len(recs) == 3
    assert bundle.explain(item_id="missing-id", user_key="u0") == []


def test_explain_similar_rating_and_items(trained):
    bundle = RecommenderBundle.load(trained[0])
    evidence = bundle.explain(item_id="i3", profile=Profile(liked=["i0", "i1"]))
    cited = {e.item_id for e in evidence if e.kind in ("liked_item", "content_similarity") and e.item_id}
    assert cited and cited <= {"i0", "i1"}
    sims = bundle.similar_items("i0", n=4)
    assert len(sims) == 4 and "i0" not in {s.item_id for s in sims}
    r = bundle.predict_rating("u0", "i0")
    assert 1.0 <= r <= 5.0
    assert 1.0 <= bundle.predict_rating("nobody", "missing") <= 5.0
    assert bundle.has_item(COLD_ID) and not bundle.has_item("missing")
    assert bundle.items["i0"].title == "Sci-Fi Film 0"


def test_add_items_makes_new_item_recommendable_cold(trained, tmp_path):
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    added = bundle.add_items([ItemRecord("new", "Volcano Diver", description="volcano lava diver expedition")])
    assert added == ["new"] and bundle.has_item("new")
    recs = bundle.recommend(profile=Profile(query_text="volcano lava diver expedition"), n=1)
    assert recs[0].item_id == "new"
    assert any(e.kind == "content_similarity" for e in recs[0].evidence)
    assert 1.0 <= bundle.predict_rating("u0", "new") <= 5.0


def test_serving_evidence_matches_exact_decomposition(trained):
    # A stored history and nothing named in the conversation: the trained model's score as it is.
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    hybrid = bundle.hybrid
    hybrid.params["weights"] = {"ease": 1.0, "rp3beta": 0.5, "popularity": -0.2, "content": 0.3}
    profile = Profile(query_text="space galaxy")
    x = bundle.catalog.profile_vector("u4", profile)
    for rec in bundle.recommend(user_key="u4", profile=profile, n=4):
        idx = bundle.catalog.item_index[rec.item_id]
        # the served weights are shares of an exact decomposition of the served score
        assert hybrid.item_parts(x, np.array([idx]), profile.query_text).totals()[0] == \
            pytest.approx(rec.score, rel=1e-4, abs=1e-5)
        exact = hybrid.explain(rec.item_id, user_key="u4", profile=profile, limit=5)
        assert [(e.kind, e.item_id) for e in rec.evidence[:5]] == [(e.kind, e.item_id) for e in exact]
        assert [e.weight for e in rec.evidence[:5]] == pytest.approx([e.weight for e in exact], rel=1e-4, abs=1e-6)


def test_named_items_are_mixed_with_parts_that_sum_to_the_score(trained):
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    bundle.hybrid.params["weights"] = {"ease": 1.0, "rp3beta": 0.5, "popularity": -0.2, "content": 0.3}
    profile = Profile(liked=["i0", "i13"], disliked=["i25"], query_text="space galaxy")
    recs = bundle.recommend(user_key="u4", profile=profile, n=4)
    assert recs
    for rec in recs:
        assert sum(rec.sources.values()) == pytest.approx(rec.score, rel=1e-4, abs=1e-5)
        assert {"likeness", "popularity"} <= set(rec.sources)
        weights = [e.weight for e in rec.evidence if e.kind not in ("constraint", "chain")]  # facts of weight 0
        assert weights and all(0 < w <= 1 for w in weights)


def test_the_assistants_suggestions_make_an_exchange_whatever_the_person_made_of_them(trained, monkeypatch):
    from recommender.engine import serving

    seen, original = [], serving.mix_parts
    monkeypatch.setattr(serving, "mix_parts", lambda mix, inp: seen.append(inp.discussed) or original(mix, inp))
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    bundle.recommend(profile=Profile(liked=["i0"]), n=3)  # a single request: "I love X"
    bundle.recommend(profile=Profile(liked=["i0"], suggested=["i0", "i3"]), n=3)  # liked what was suggested
    assert seen == [0, 2]


def test_items_the_assistant_suggested_are_cited_as_suggested_not_as_history(trained):
    from recommender.engine.explain.cited import SHOWN_DETAIL

    bundle = RecommenderBundle.load(trained[0], reuse=False)
    bundle.hybrid.params["weights"] = {"ease": 1.0, "rp3beta": 0.5, "popularity": -0.2}  # the history's neighbours
    shown = ["i1", "i2", "i3", "i4"]
    profile = Profile(liked=["i0"], history={i: 0.5 for i in shown}, exclude=shown, suggested=shown + ["i0"])
    facts = [e for rec in bundle.recommend(profile=profile, n=6) for e in rec.evidence if e.item_id in shown]
    assert any(e.kind == "history_item" for e in facts)
    assert all(e.detail == SHOWN_DETAIL for e in facts if e.kind == "history_item")
    # The suggestion the person liked is their like, cited as such.
    liked = [e for rec in bundle.recommend(profile=profile, n=6) for e in rec.evidence if e.item_id == "i0"]
    assert all(e.detail != SHOWN_DETAIL for e in liked)


def test_an_empty_request_from_nobody_lists_what_people_like_not_the_least_known(trained):
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    # A popularity correction learned for people with a history must not rank the least-known items first.
    bundle.hybrid.params["weights"] = {"ease": 1.0, "popularity": -0.5}
    counts = np.asarray(bundle.catalog.interactions.getnnz(axis=0))
    recs = bundle.recommend(profile=Profile(), n=3)
    listed = [counts[bundle.catalog.item_index[r.item_id]] for r in recs]
    assert min(listed) >= np.sort(counts)[-3]
    assert all(e.kind == "popularity" and e.weight > 0 for r in recs for e in r.evidence)


def test_zero_weight_components_are_skipped_but_scores_unchanged(trained):
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    hybrid = bundle.hybrid
    hybrid.params["weights"] = {"ease": 1.0, "rp3beta": 0.0, "popularity": 0.3, "content": 0.0}
    x = bundle.catalog.profile_vector("u4")
    scored = hybrid.score_vector(x)
    parts, sources, spreads = scored.state["components"], scored.sources, scored.state["spreads"]
    assert set(parts) == {"ease", "popularity"} and set(sources) == set(spreads) == set(parts)
    full = hybrid.score_matrix(bundle.catalog.train[[bundle.catalog.user_index["u4"]]])[0]
    assert scored.scores == pytest.approx(full, rel=1e-5, abs=1e-5)
    assert sum(sources.values()) == pytest.approx(scored.scores, rel=1e-5, abs=1e-5)


def test_evidence_for_matches_recommend_evidence(trained):
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    profile = Profile(liked=["i0"], query_text="space")
    recs = bundle.recommend(user_key="u2", profile=profile, n=3)
    found = bundle.evidence_for([r.item_id for r in recs] + ["no-such-item"], user_key="u2", profile=profile)
    assert list(found) == [r.item_id for r in recs]
    for rec in recs:
        assert [(e.kind, e.item_id, round(e.weight, 6)) for e in found[rec.item_id]] == \
            [(e.kind, e.item_id, round(e.weight, 6)) for e in rec.evidence]


def test_a_catalog_too_small_to_hold_anything_out_still_trains_and_serves(tmp_path):
    """Four items, three people: the validation split has no one in it; training must not fail on that."""
    from recommender.engine.data import InteractionData

    items = [ItemRecord(item_id=f"i{n}", title=f"Item {n}") for n in range(4)]
    data = InteractionData(["a", "a", "b", "c"], ["i0", "i1", "i1", "i2"], np.full(4, 5.0, np.float32), items=items)
    manifest = train_bundle(data, tmp_path / "v1", config={**CONFIG, "rating": {"models": ["mf"], "mf": {"factors": 2, "epochs": 5}}})
    assert manifest["metrics"]["validation"]["ndcg@10"] == 0.0  # nothing held out to measure
    top = RecommenderBundle.load(tmp_path / "v1").recommend(profile=Profile(liked=["i1"]), n=2)
    assert len(top) == 2 and "i1" not in [r.item_id for r in top]


def test_history_positions_are_reused_only_for_a_vector_that_cannot_change():
    from recommender.engine.rankers.base import history_indices

    x = np.zeros(50, dtype=np.float32)
    x[[3, 7]] = 1.0
    assert history_indices(x).tolist() == [3, 7]
    x[9] = 0.5  # a writable vector may change between calls: never answered from before
    assert history_indices(x).tolist() == [3, 7, 9]
    x.flags.writeable = False
    first = history_indices(x)
    assert history_indices(x) is first and first.tolist() == [3, 7, 9]
    y = x.copy()  # another vector with the same values is its own
    y[0] = 1.0
    y.flags.writeable = False
    assert history_indices(y).tolist() == [0, 3, 7, 9]


def test_words_from_nobody_are_ranked_by_how_well_items_match_them(trained):
    """With nothing known of the person the collaborative components have only item biases to add; the words'
    match is the model's part, and the parts still sum to the score."""
    bundle = RecommenderBundle.load(trained[0], reuse=False)
    bundle.hybrid.params["weights"] = {"ease": 1.0, "rp3beta": 0.5, "popularity": -0.2, "content": 1.0, "query": 1.0}
    recs = bundle.recommend(profile=Profile(query_text="space galaxy stars"), n=5)
    assert recs
    for rec in recs:
        assert not {"ease", "rp3beta"} & set(rec.sources), rec.sources
        assert sum(rec.sources.values()) == pytest.approx(rec.score, rel=1e-4, abs=1e-5)
    matched = [r for r in recs if r.sources.get("query", 0) > 0]
    assert len(matched) >= 3
