import numpy as np
import pytest

from recommender.engine.metrics import rmse
from recommender.engine.rating import (
    BiasedALS,
    BiasedMF,
    ItemAutoRec,
    ItemKNNBaseline,
    RatingModel,
    SVDPlusPlus,
    fit_baselines,
    trains_dense,
)


def _ratings(seed: int = 0):
    rng = np.random.default_rng(seed)
    n_users, n_items, k = 40, 30, 2
    U, V = rng.normal(size=(n_users, k)), rng.normal(size=(n_items, k))
    full = np.clip(np.round(3 + U @ V.T + rng.normal(0, 0.3, (n_users, n_items))), 1, 5)
    mask = rng.random((n_users, n_items)) < 0.6
    users, items = np.nonzero(mask)
    return users, items, full[users, items].astype(np.float32), n_users, n_items, full


def test_biased_mf_beats_the_global_mean():
    users, items, ratings, nu, ni, full = _ratings()
    test_u, test_i = np.nonzero(np.ones((nu, ni), dtype=bool))
    model = BiasedMF(factors=4, epochs=200, lr=0.05, reg=0.01).fit(users, items, ratings, nu, ni)
    truth = full[test_u, test_i]
    assert rmse(truth, np.clip(model.predict(test_u, test_i), 1, 5)) < rmse(truth, np.full(len(truth), ratings.mean()))


def test_unknown_ids_get_partial_predictions():
    users, items, ratings, nu, ni, _ = _ratings()
    model = BiasedMF(factors=2, epochs=20).fit(users, items, ratings, nu, ni)
    out = model.predict(np.array([-1, 0]), np.array([0, 999]))
    assert out[0] == pytest.approx(model.mu + model.bi[0])
    assert out[1] == pytest.approx(model.mu + model.bu[0])


def test_blended_model_roundtrip(tmp_path):
    users, items, ratings, nu, ni, _ = _ratings(1)
    model = RatingModel(models=["mf", "autorec"], mf={"factors": 2, "epochs": 30},
                        autorec={"hidden": 6, "epochs": 30}).fit(users, items, ratings, nu, ni)
    assert model.blend.shape == (3,)
    pred = model.predict(users[:20], items[:20])
    assert ((pred >= 1) & (pred <= 5)).all()
    model.save(tmp_path)
    again = RatingModel.load(tmp_path)
    np.testing.assert_allclose(again.predict(users[:20], items[:20]), pred)


def test_autorec_reconstructs_training_ratings_better_than_mean():
    users, items, ratings, nu, ni, _ = _ratings(2)
    model = ItemAutoRec(hidden=16, epochs=150, lr=0.02, reg=0.1).fit(users, items, ratings, nu, ni)
    assert rmse(ratings, model.predict(users, items)) < rmse(ratings, np.full(len(ratings), ratings.mean()))


def test_baselines_follow_user_and_item_offsets():
    users = np.array([0, 0, 1, 1, 2, 2])
    items = np.array([0, 1, 0, 1, 0, 1])
    ratings = np.array([5, 4, 4, 3, 3, 2], dtype=np.float32)
    mu, bu, bi = fit_baselines(users, items, ratings, 3, 2, reg_u=0.0, reg_i=0.0)
    assert bu[0] > bu[1] > bu[2]
    assert bi[0] > bi[1]
    assert mu + bu[0] + bi[0] == pytest.approx(5.0, abs=0.01)


def test_item_knn_uses_the_ratings_of_similar_items():
    # Items 0 and 1 are rated alike by every user; user 5 rated only item 1, high.
    rng = np.random.default_rng(3)
    taste = rng.choice([1.0, 5.0], size=12)
    users = np.concatenate([np.arange(12), np.arange(12)])
    items = np.concatenate([np.zeros(12, int), np.ones(12, int)])
    ratings = np.concatenate([taste, taste]).astype(np.float32)
    keep = ~((users == 5) & (items == 0))
    users, items, ratings = users[keep], items[keep], ratings[keep]
    model = ItemKNNBaseline(k=5, shrinkage=0.0, reg_u=1.0, reg_i=1.0).fit(users, items, ratings, 12, 2)
    baseline = model.mu + model.bu[5] + model.bi[0]
    pred = model.predict(np.array([5]), np.array([0]))[0]
    assert (pred - baseline) * (taste[5] - 3.0) > 0
    assert model.sim[0, 1] > 0.9


def test_user_knn_and_unknown_ids_fall_back_to_baselines():
    users, items, ratings, nu, ni, _ = _ratings(4)
    model = ItemKNNBaseline(user_based=True).fit(users, items, ratings, nu, ni)
    out = model.predict(np.array([-1, 3]), np.array([2, 999]))
    # Internally the roles swap: the first index is the item for a user-based model.
    assert out[0] == pytest.approx(model.mu + model.bu[2])
    assert out[1] == pytest.approx(model.mu + model.bi[3])


def test_als_and_svdpp_beat_the_global_mean_on_held_out_cells():
    users, items, ratings, nu, ni, full = _ratings(5)
    test_u, test_i = np.nonzero(np.ones((nu, ni), dtype=bool))
    truth = full[test_u, test_i]
    mean_rmse = rmse(truth, np.full(len(truth), ratings.mean()))
    als = BiasedALS(factors=3, iters=8, reg=0.02).fit(users, items, ratings, nu, ni)
    pp = SVDPlusPlus(factors=3, epochs=150, lr=0.05, reg=0.01).fit(users, items, ratings, nu, ni)
    assert rmse(truth, np.clip(als.predict(test_u, test_i), 1, 5)) < 0.8 * mean_rmse
    assert rmse(truth, np.clip(pp.predict(test_u, test_i), 1, 5)) < mean_rmse


def test_default_blend_is_validated_and_roundtrips(tmp_path):
    users, items, ratings, nu, ni, _ = _ratings(6)
    model = RatingModel(holdout=0.2, als={"factors": 3, "iters": 5}, svdpp={"factors": 3, "epochs": 30},
                        autorec={"hidden": 4, "epochs": 20}).fit(users, items, ratings, nu, ni)
    assert model.cfg["models"] == ["als", "knn", "uknn", "svdpp", "autorec"]
    assert model.blend.shape == (6,)
    assert model.holdout_metrics["in_training"] is False
    assert set(model.holdout_metrics["per_model"]) == {"als", "knn", "uknn", "svdpp", "autorec"}
    probe_u, probe_i = np.array([0, 1, -1, 2]), np.array([0, 5, 3, 999])
    pred = model.predict(probe_u, probe_i)
    assert np.isfinite(pred).all() and ((pred >= 1) & (pred <= 5)).all()
    model.save(tmp_path)
    again = RatingModel.load(tmp_path)
    np.testing.assert_allclose(again.predict(probe_u, probe_i), pred)


def test_sparse_ratings_train_on_sparse_matrices_and_filled_small_ones_dense():
    assert trains_dense(943, 1682, 100_000)  # ML-100K: 6.3 % of the cells rated
    assert not trains_dense(610, 9742, 100_836)  # ml-latest-small: 1.7 %
    assert not trains_dense(100_000, 1_000, 50_000_000)  # filled, but more cells than dense memory allows


def test_without_refit_the_blend_keeps_the_parts_fitted_without_the_held_out_slice():
    users, items, ratings, nu, ni, _ = _ratings(7)
    cfg = {"holdout": 0.2, "models": ["als", "uknn"], "als": {"factors": 3, "iters": 5}}
    kept = RatingModel(refit=False, **cfg).fit(users, items, ratings, nu, ni)
    refitted = RatingModel(**cfg).fit(users, items, ratings, nu, ni)
    held = np.random.default_rng(0).random(len(ratings)) < 0.2
    # The slice stays unseen: predicting it again gives the validation figure the blend was fitted on.
    assert kept._scores(users[held], items[held], ratings[held])["rmse"] == pytest.approx(kept.holdout_metrics["rmse"])
    assert refitted._scores(users[held], items[held], ratings[held])["rmse"] < refitted.holdout_metrics["rmse"]
    np.testing.assert_array_equal(kept.blend, refitted.blend)


def test_autorec_decoding_every_cell_fits_the_same_model_as_gathering_the_rated_ones(monkeypatch):
    from recommender.engine import rating

    rng = np.random.default_rng(3)
    nu, ni, n = 60, 250, 300  # 2 % filled: below the dense path's fill, so the sparse input is used
    cells = rng.choice(nu * ni, size=n, replace=False)
    users, items = cells // ni, cells % ni
    ratings = rng.integers(1, 6, size=n).astype(np.float32)
    assert not trains_dense(nu, ni, n)
    every_cell = ItemAutoRec(hidden=8, epochs=40, lr=0.02, reg=1.0).fit(users, items, ratings, nu, ni)
    monkeypatch.setattr(rating, "DENSE_IMPLICIT_CELLS", 0)  # too big to decode every cell: per-rating gathers
    gathered = ItemAutoRec(hidden=8, epochs=40, lr=0.02, reg=1.0).fit(users, items, ratings, nu, ni)
    np.testing.assert_allclose(every_cell.predict(users, items), gathered.predict(users, items), atol=1e-4)
    assert rmse(every_cell.predict(users, items), ratings) < rmse(np.full(n, ratings.mean()), ratings)
