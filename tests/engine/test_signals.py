"""Graded training matrix: liked 1.0, other interactions 0.5; interaction and like models read their part."""
from __future__ import annotations

import numpy as np
import pytest

from recommender.engine.catalog import NEUTRAL_WEIGHT, Catalog, graded_train, interaction_signal, like_signal
from recommender.engine.data import InteractionData
from recommender.engine.rankers import make_ranker
from recommender.engine.types import Profile


def test_graded_train_marks_likes_and_other_interactions():
    data = InteractionData(["a", "a", "a", "b"], ["x", "y", "z", "x"], [5.0, 3.0, 4.0, 1.0])
    train = graded_train(data).toarray()
    row_a, row_b = train[data.user_index["a"]], train[data.user_index["b"]]
    assert [row_a[data.item_index[i]] for i in ("x", "y", "z")] == [1.0, NEUTRAL_WEIGHT, 1.0]
    assert row_b[data.item_index["x"]] == NEUTRAL_WEIGHT


def test_ungraded_data_counts_every_interaction_as_liked():
    data = InteractionData(["a", "a", "b"], ["x", "y", "x"])
    assert set(graded_train(data).data) == {1.0}


def test_signals_split_the_graded_matrix():
    data = InteractionData(["a", "a", "b"], ["x", "y", "y"], [5.0, 2.0, 4.0])
    catalog = Catalog.from_data(data)
    assert catalog.interactions.nnz == 3 and set(catalog.interactions.data) == {1.0}
    liked = catalog.liked.toarray()
    assert liked[data.user_index["a"], data.item_index["x"]] == 1.0
    assert liked[data.user_index["a"], data.item_index["y"]] == 0.0
    signed = catalog.train.copy()
    signed.data[0] = -1.0  # a dislike survives both readings
    assert -1.0 in interaction_signal(signed).data and -1.0 in like_signal(signed).data


def test_interaction_models_see_grades_as_plain_interactions(data):
    """EASE on the graded catalog scores a neutral history item exactly as a liked one."""
    ease = make_ranker("ease", l2=5.0).fit(data)
    neutral = ease.scores(profile=Profile(history={"i0": NEUTRAL_WEIGHT}))
    liked = ease.scores(profile=Profile(liked=["i0"]))
    np.testing.assert_allclose(neutral, liked, rtol=1e-6)


def test_like_model_ignores_items_not_liked_and_cites_only_likes(data):
    ranker = make_ranker("ease_liked", l2=5.0).fit(data)
    only_neutral = ranker.scores(profile=Profile(history={"i0": NEUTRAL_WEIGHT}))
    assert not np.any(only_neutral)
    mixed = Profile(liked=["i1"], history={"i2": NEUTRAL_WEIGHT, "i3": NEUTRAL_WEIGHT})
    cited = {e.item_id for e in ranker.explain("i4", profile=mixed, limit=10) if e.item_id}
    assert cited == {"i1"}


def test_like_model_is_fitted_on_likes_only(data):
    """Ratings of 2 in the fixture are not likes: the like model's matrix leaves them out."""
    ranker = make_ranker("ease_liked", l2=5.0).fit(data)
    explicit = data.explicit()
    assert ranker.fit_matrix.nnz == int((explicit.data >= 4).sum())
    assert ranker.fit_matrix.nnz < ranker.catalog.interactions.nnz


@pytest.mark.parametrize("name", ["ease", "rp3beta", "itemknn", "popularity"])
def test_interaction_models_unchanged_by_grading(name, data):
    """Fitting on the graded catalog gives the same scores as on all-ones values."""
    flat = InteractionData([data.user_ids[r] for r in data.rows], [data.item_ids[c] for c in data.cols],
                           items=list(data.items.values()))
    graded = make_ranker(name).fit(data)
    plain = make_ranker(name).fit(flat)
    users = np.arange(5)
    np.testing.assert_allclose(graded.score_users(users), plain.score_users(users), rtol=1e-5, atol=1e-6)


def test_history_evidence_is_labelled_by_its_grade_on_both_paths(data, embedder):
    """A seen-but-not-liked item is history_item in explain() and in the serving bundle's evidence."""
    from recommender.engine.serving import RecommenderBundle
    from recommender.engine.training import build_hybrid, merged_config

    cfg = merged_config({"components": {"ease": {"l2": 5.0}, "popularity": {}}})
    hybrid = build_hybrid(cfg, embedder).fit_with_validation(data, seed=0)
    profile = Profile(liked=["i0"], history={"i1": NEUTRAL_WEIGHT}, disliked=["i30"])
    ease = make_ranker("ease", l2=5.0).fit(data)
    kinds = {e.item_id: e.kind for e in ease.explain("i2", profile=profile, limit=10) if e.item_id}
    assert kinds.get("i0") == "liked_item" and kinds.get("i1") == "history_item"
    bundle = RecommenderBundle(hybrid)
    # (the likeness to a named item is an attribute match citing it, not a history fact)
    cited = {(e.item_id, e.kind) for rec in bundle.recommend(profile=profile, n=5) for e in rec.evidence
             if e.item_id in ("i0", "i1", "i30") and e.kind != "same_kind"}
    assert ("i1", "history_item") in cited and ("i0", "liked_item") in cited
    assert cited <= {("i0", "liked_item"), ("i1", "history_item"), ("i30", "disliked_item")}
    slow = {e.item_id: e.kind for e in hybrid.explain("i2", profile=profile, limit=10) if e.item_id}
    assert slow.get("i1") == "history_item" and slow.get("i0") == "liked_item"
