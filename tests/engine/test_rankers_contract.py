"""One contract suite run against every ranker on small synthetic data."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.engine.catalog import Catalog
from recommender.engine.rankers import RANKERS, Ranker, make_ranker
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import build_hybrid, merged_config
from recommender.engine.types import Constraints, Profile

from .conftest import COLD_ID, COLD_TEXT

NAMES = ["popularity", "itemknn", "ease", "ease_liked", "rp3beta", "mf", "content", "hybrid",
         "itemknn_sparse", "rp3beta_sparse", "ease_head", "ease_liked_head", "als"]


def build(name: str, data, embedder) -> Ranker:
    if name == "mf":
        # Two members, so every contract check also covers the averaged-ensemble path.
        return make_ranker("mf", factors=8, epochs=15, lr=0.02, batch_size=16, ensemble=2).fit(data)
    if name == "content":
        return make_ranker("content", embedder_obj=embedder).fit(data)
    if name in ("ease", "ease_liked"):
        return make_ranker(name, l2=5.0).fit(data)
    if name in ("ease_head", "ease_liked_head"):
        return make_ranker(name, l2=5.0, head=30, k=15).fit(data)
    if name == "als":
        return make_ranker("als", factors=8, iterations=5).fit(data)
    if name == "hybrid":
        cfg = merged_config({"components": {"ease": {"l2": 5.0}, "rp3beta": {"k": 20},
                                            "mf": {"factors": 8, "epochs": 10, "lr": 0.02, "batch_size": 16},
                                            "popularity": {}, "content": {}}})
        return build_hybrid(cfg, embedder).fit_with_validation(data, seed=0)
    return make_ranker(name).fit(data)


@pytest.fixture(scope="module", params=NAMES)
def ranker(request, data, embedder) -> Ranker:
    return build(request.param, data, embedder)


def test_registry_covers_every_ranker():
    assert set(NAMES) == set(RANKERS)


def test_recommend_sorted_unique_and_unseen(ranker, data):
    recs = ranker.recommend(user_key="u0", n=10)
    assert len(recs) == 10
    scores = [r.score for r in recs]
    assert scores == sorted(scores, reverse=True)
    assert len({r.item_id for r in recs}) == 10
    seen = {data.item_ids[i] for i in data.implicit()[data.user_index["u0"]].indices}
    assert not seen & {r.item_id for r in recs}
    unfiltered = ranker.recommend(user_key="u0", n=data.n_items, filter_seen=False)
    assert seen <= {r.item_id for r in unfiltered}


def test_constraints_are_exact(ranker, data):
    c = Constraints(include={"genres": ["sci-fi", "Romance"]}, exclude={"genres": ["Drama"]},
                    ranges={"year": (1975, 1999)}, domain="movie", exclude_items=["i7"])
    recs = ranker.recommend(user_key="u1", n=data.n_items, constraints=c)
    seen = {data.item_ids[i] for i in data.implicit()[data.user_index["u1"]].indices}
    expected = {
        r.item_id for r in data.records()
        if set(r.attributes["genres"]) & {"Sci-Fi", "Romance"} and "Drama" not in r.attributes["genres"]
        and 1975 <= r.attributes["year"] <= 1999 and r.domain == "movie" and r.item_id != "i7"
    } - seen
    assert {r.item_id for r in recs} == expected


def test_adhoc_profile_without_history(ranker, data):
    profile = Profile(liked=["i0", "i1", "no-such-item"], disliked=["i13"])
    recs = ranker.recommend(profile=profile, n=5)
    ids = [r.item_id for r in recs]
    assert len(ids) == 5 and not {"i0", "i1", "i13"} & set(ids)
    if ranker.name not in ("popularity",):
        # taste follows the liked sci-fi items (cluster 0: i0..i11)
        assert sum(1 for i in ids if int(i[1:]) < 12) >= 3


def test_cold_item_from_text(ranker, data):
    scores = ranker.scores(profile=Profile(query_text=COLD_TEXT))
    cold = data.item_index[COLD_ID]
    assert np.isfinite(scores[cold])
    if ranker.uses_text:
        top = ranker.recommend(profile=Profile(query_text=COLD_TEXT), n=1)
        assert top[0].item_id == COLD_ID
    else:
        assert COLD_ID in {r.item_id for r in ranker.recommend(user_key="u0", n=data.n_items)}


def test_item_parts_sum_to_score(ranker, data):
    profile = Profile(liked=["i2"], query_text="space galaxy")
    x = ranker.catalog.profile_vector("u3", profile)
    scores = ranker.scores("u3", profile)
    items = np.array([data.item_index[item] for item in ["i4", "i20", COLD_ID]])
    parts = ranker.item_parts(x, items, profile.query_text)
    assert parts.history.shape == parts.content.shape == (len(np.flatnonzero(x)), len(items))
    np.testing.assert_allclose(parts.totals(), scores[items], rtol=1e-4, atol=1e-5)
    for k, idx in enumerate(items):  # one item at a time gives the same parts as several at once
        alone = ranker.item_parts(x, np.array([idx]), profile.query_text)
        assert alone.totals()[0] == pytest.approx(parts.totals()[k], rel=1e-6, abs=1e-7)
    evidence = ranker.explain("i4", user_key="u3", profile=profile, limit=100)
    assert evidence and sum(e.weight for e in evidence) == pytest.approx(1.0, rel=1e-4)
    assert ranker.explain("no-such-item", user_key="u3") == []


def _same_evidence(served, explained):
    """Equal evidence: the same facts, worded alike, with weights and similarities equal up to float rounding
    (one item alone and several at once go through different BLAS kernels). The served list may end with the
    knowledge chain that links its facts to the item (weight 0, checked in tests/engine/explain/test_chains.py)."""
    served = [e for e in served if e.kind != "chain"]
    assert [(e.kind, e.item_id, e.attribute, e.detail) for e in served] == \
        [(e.kind, e.item_id, e.attribute, e.detail) for e in explained]
    assert [e.weight for e in served] == pytest.approx([e.weight for e in explained], rel=1e-5, abs=1e-6)
    for a, b in zip(served, explained):
        assert a.value == (pytest.approx(b.value, rel=1e-5) if isinstance(b.value, float) else b.value)


@pytest.mark.parametrize("user_key,profile", [
    ("u3", None),
    ("u3", Profile(query_text="space galaxy Sci-Fi")),
    ("u7", Profile(history={"i30": 0.5}, query_text="haunted ghost")),
])
def test_served_evidence_equals_explain(ranker, data, user_key, profile):
    """With a known history and nothing named in the conversation, the evidence the chat serves
    (bundle.evidence_for, recommend) is exactly `explain`, for every ranker."""
    bundle = RecommenderBundle(ranker)
    items = ["i4", "i14", "i26", COLD_ID]
    served = bundle.evidence_for(items, user_key=user_key, profile=profile)
    assert list(served) == items
    for item in items:
        _same_evidence(served[item], ranker.explain(item, user_key=user_key, profile=profile))
    for rec in bundle.recommend(user_key=user_key, profile=profile, n=4):
        _same_evidence(rec.evidence, ranker.explain(rec.item_id, user_key=user_key, profile=profile))
        assert rec.evidence and rec.score == pytest.approx(float(ranker.scores(user_key, profile)[
            data.item_index[rec.item_id]]), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("user_key,profile", [
    (None, Profile(liked=["i0", "i2"], disliked=["i25"], query_text="space galaxy Sci-Fi")),
    ("u7", Profile(liked=["i13"], history={"i30": 0.5}, query_text="haunted ghost")),
])
def test_served_evidence_of_a_conversation_is_the_rankers_own_scaled_down(ranker, data, user_key, profile):
    """When the conversation names items the mix adds its own parts; whatever the ranker contributes to the
    served evidence is the ranker's `explain` fact, with at most its weight (its share of a larger score)."""
    bundle = RecommenderBundle(ranker)
    for rec in bundle.recommend(user_key=user_key, profile=profile, n=4):
        assert sum(rec.sources.values()) == pytest.approx(rec.score, rel=1e-4, abs=1e-5)
        explained = {(e.kind, e.item_id, e.attribute, e.detail): e.weight
                     for e in ranker.explain(rec.item_id, user_key=user_key, profile=profile, limit=100)}
        for e in rec.evidence:
            assert 0 <= e.weight <= 1
            key = (e.kind, e.item_id, e.attribute, e.detail)
            if key in explained:
                assert e.weight <= explained[key] + 1e-6


def test_similar_items_excludes_the_item(ranker):
    sims = ranker.similar_items("i5", n=5)
    assert len(sims) == 5 and "i5" not in {s.item_id for s in sims}
    assert ranker.similar_items("no-such-item") == []


def test_save_load_roundtrip_gives_identical_scores(ranker, tmp_path):
    path = ranker.save(tmp_path / ranker.name)
    assert not list(path.rglob("*.pkl")) and not list(path.rglob("*.pickle"))
    loaded = Ranker.load(path)
    if loaded.name in ("content", "hybrid"):
        embedder = ranker.embedder if ranker.name == "content" else ranker.components["content"].embedder
        target = loaded if loaded.name == "content" else loaded.components["content"]
        assert target.params["embedder"] == embedder.config()
    profile = Profile(liked=["i1", "i30"], query_text="haunted ghost")
    np.testing.assert_allclose(loaded.scores("u2", profile), ranker.scores("u2", profile), rtol=1e-6, atol=1e-6)
    assert [r.item_id for r in loaded.recommend(user_key="u5", n=5)] == [r.item_id for r in ranker.recommend(user_key="u5", n=5)]


def test_score_users_matches_single_user_scores(ranker, data):
    batch = ranker.score_users(np.array([0, 4]))
    np.testing.assert_allclose(batch[1], ranker.scores(data.user_ids[4]), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ hand-computed evidence


def test_mf_ensemble_scores_are_the_mean_of_its_members(data):
    params = dict(factors=4, epochs=3, lr=0.02, batch_size=16)
    members = [make_ranker("mf", seed=s, **params).fit(data) for s in (7, 8)]
    ensemble = make_ranker("mf", seed=7, ensemble=2, **params).fit(data)
    users = np.arange(5)
    expected = (members[0].score_users(users) + members[1].score_users(users)) / 2
    assert ensemble.Q.shape[1] == 8
    np.testing.assert_allclose(ensemble.score_users(users), expected, rtol=1e-4, atol=1e-5)


def test_ease_evidence_matches_hand_computed_weights(data):
    ranker = make_ranker("ease", l2=5.0).fit(data)
    idx = data.item_index["i3"]
    liked = ["i0", "i1", "i14"]
    W = ranker.W
    raw = {j: float(W[data.item_index[j], idx]) for j in liked}
    total = sum(raw.values())
    evidence = {e.item_id: e.weight for e in ranker.explain("i3", profile=Profile(liked=liked), limit=10)}
    for j in liked:
        if raw[j] != 0:
            assert evidence[j] == pytest.approx(raw[j] / total, rel=1e-5)


def test_popularity_evidence_is_labelled_popularity(data):
    ranker = make_ranker("popularity").fit(data)
    evidence = ranker.explain("i0", user_key="u0")
    assert [e.kind for e in evidence] == ["popularity"]
    assert evidence[0].value == int(data.implicit()[:, data.item_index["i0"]].nnz)


def test_content_evidence_cites_liked_items_and_query(data, embedder):
    ranker = make_ranker("content", embedder_obj=embedder).fit(data)
    evidence = ranker.explain("i4", profile=Profile(liked=["i2"], query_text="space Sci-Fi"), limit=10)
    kinds = {(e.kind, e.item_id) for e in evidence}
    assert ("content_similarity", "i2") in kinds and ("content_similarity", None) in kinds
    assert any(e.kind == "attribute_match" and e.value == "Sci-Fi" for e in evidence)
    E = ranker.E
    sim = float(E[data.item_index["i2"]] @ E[data.item_index["i4"]])
    cited = next(e for e in evidence if e.item_id == "i2")
    assert cited.value == pytest.approx(sim, rel=1e-5)


def test_hybrid_weights_learned_and_sources_reported(data, embedder):
    hybrid = build("hybrid", data, embedder)
    assert set(hybrid.weights) == {"ease", "rp3beta", "mf", "popularity", "content"}
    assert max(hybrid.weights.values()) == 1.0
    x = hybrid.catalog.profile_vector("u0", None)
    scored = hybrid.score_vector(x)
    np.testing.assert_allclose(scored.scores, sum(scored.sources.values()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scored.scores, hybrid.scores("u0"), rtol=1e-5, atol=1e-5)


def test_catalog_add_items_makes_new_item_scorable(data, embedder):
    from recommender.engine.types import ItemRecord

    ranker = make_ranker("content", embedder_obj=embedder).fit(data, Catalog.from_data(data))
    new = ranker.catalog.add_items([ItemRecord("fresh", "Lighthouse Keeper", description="lonely lighthouse keeper storm")])
    ranker.extend(new)
    assert ranker.recommend(profile=Profile(query_text="lighthouse keeper storm"), n=1)[0].item_id == "fresh"
    assert ranker.score_matrix(sp.csr_matrix((1, ranker.catalog.n_items))).shape == (1, ranker.catalog.n_items)


class _ItemBias(Ranker):
    """A model written against the contract alone: each item's score is a fixed per-item bias."""

    name = "item_bias"

    def _fit(self, data) -> None:
        self.bias = np.linspace(-1.0, 1.0, self.catalog.n_items).astype(np.float32)

    def _score_rows(self, X, queries=None):
        return np.broadcast_to(self.bias, (X.shape[0], len(self.bias))).copy()

    def item_parts(self, x, items, query_text="", scored=None):
        from recommender.engine.rankers.base import ItemParts

        parts = ItemParts.zeros(len(np.flatnonzero(x)), len(items))
        parts.bias[:] = self.bias[np.asarray(items)]
        return parts


def test_hybrid_composes_any_ranker_through_the_contract_alone(data):
    from recommender.engine.rankers import HybridRanker

    hybrid = HybridRanker(weights={"ease": 1.0, "item_bias": 0.5}).with_components(
        {"ease": make_ranker("ease", l2=5.0), "item_bias": _ItemBias()}).fit(data)
    profile = Profile(liked=["i0", "i2"])
    x = hybrid.catalog.profile_vector("u3", profile)
    items = np.array([data.item_index[i] for i in ("i4", "i20", COLD_ID)])
    scored = hybrid.score_vector(x)
    np.testing.assert_allclose(hybrid.item_parts(x, items, scored=scored).totals(), scored.scores[items],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scored.scores, hybrid.scores("u3", profile), rtol=1e-5, atol=1e-5)
    # the bias model's term is reported as the item's own (popularity) part, scaled as in the score
    bias_term = scored.sources["item_bias"][items]
    np.testing.assert_allclose(hybrid.item_parts(x, items).bias, bias_term, rtol=1e-5, atol=1e-6)
    _same_evidence(RecommenderBundle(hybrid).evidence_for(["i4"], user_key="u3")["i4"],
                   hybrid.explain("i4", user_key="u3"))
