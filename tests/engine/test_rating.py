import numpy as np
import pytest

from recommender.engine.metrics import rmse
from recommender.engine.rating import BiasedMF, ItemAutoRec, RatingModel


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
