"""The social component: friends' likes weighted by shared taste (top-N) and TrustSVD (ratings), on data made here."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.engine import social
from recommender.engine.rankers.social import SocialRanker, SocialRatingModel, TrustSVD, trust_matrix


def interactions(rows: dict[int, list[int]], n_users: int, n_items: int) -> sp.csr_matrix:
    pairs = [(u, i) for u, items in rows.items() for i in items]
    users, items = zip(*pairs)
    return sp.csr_matrix((np.ones(len(pairs), np.float32), (users, items)), shape=(n_users, n_items))


def test_ties_drop_self_links_and_duplicates():
    T = trust_matrix(np.array([0, 0, 1, 2]), np.array([1, 1, 1, 0]), 3)
    assert T.nnz == 2 and T[0, 1] == 1.0 and T[1, 1] == 0 and T[2, 0] == 1.0


def test_friends_with_shared_taste_weigh_more_and_parts_sum_to_the_score():
    # User 0 trusts 1 (same taste: items 0, 1) and 2 (nothing shared); user 3 trusts nobody.
    X = interactions({0: [0, 1], 1: [0, 1, 2], 2: [3, 4], 3: [0]}, 4, 5)
    ranker = SocialRanker().fit(X, trust_matrix(np.array([0, 0]), np.array([1, 2]), 4))
    S = ranker.score_users(np.arange(4))
    assert S[0, 2] > S[0, 3] > 0  # the like-minded friend's film first
    assert not S[3].any()  # no ties: no social score
    parts = ranker.parts(0, 2)
    assert set(parts) == {1} and abs(sum(parts.values()) - S[0, 2]) < 1e-6
    shared = social.taste_similarity({"0", "1"}, {"0", "1", "2"})
    assert abs(S[0, 2] - (social.SIMILARITY_FLOOR + shared)) < 1e-6  # the formula a chat turn serves


def ratings_data(seed: int = 0):
    """Two taste groups rating 12 films; user 0 has no ratings and trusts two people of group A."""
    rng = np.random.default_rng(seed)
    users, items, values = [], [], []
    for u in range(1, 21):
        group = u % 2
        for i in rng.choice(12, 8, replace=False):
            users.append(u)
            items.append(i)
            values.append(4.0 if (i < 6) == (group == 0) else 1.0)
    return np.array(users), np.array(items), np.array(values, np.float32)


def test_trustsvd_gives_a_person_without_ratings_the_taste_of_whom_they_trust():
    users, items, values = ratings_data()
    trust = trust_matrix(np.array([0, 0]), np.array([2, 4]), 21)  # users 2 and 4: group A likes films 0-5
    empty = sp.csr_matrix((21, 21), dtype=np.float32)
    with_trust = TrustSVD(trust, factors=4, epochs=150, lr=0.05, reg=0.05).fit(users, items, values, 21, 12)
    without = TrustSVD(empty, factors=4, epochs=150, lr=0.05, reg=0.05).fit(users, items, values, 21, 12)
    liked, other = np.arange(6), np.arange(6, 12)
    gap_with = with_trust.predict(np.zeros(6, int), liked).mean() - with_trust.predict(np.zeros(6, int), other).mean()
    gap_without = without.predict(np.zeros(6, int), liked).mean() - without.predict(np.zeros(6, int), other).mean()
    assert gap_with > 0.5 and abs(gap_without) < 0.2


def test_the_social_rating_blend_has_trustsvd_as_a_member():
    users, items, values = ratings_data()
    trust = trust_matrix(np.array([0, 1]), np.array([2, 3]), 21)
    model = SocialRatingModel(
        trust, trustsvd={"factors": 4, "epochs": 20}, models=("als",), low=1.0, high=4.0, refit=False
    )
    model.fit(users, items, values, 21, 12)
    assert model.cfg["models"] == ["als", "trustsvd"] and isinstance(model.models[1], TrustSVD)
    pred = model.predict(users[:5], items[:5])
    assert pred.shape == (5,) and ((1.0 <= pred) & (pred <= 4.0)).all()
    assert len(model.blend) == 2 * 3  # intercept and two members, as is and times the activity term
    newcomer = model.predict(np.array([0, -1]), np.array([0, 0]))  # no ratings, unknown: the activity term is 1
    assert np.isfinite(newcomer).all()
    plain = SocialRatingModel(None, models=("als", "knn"), low=1.0, high=4.0, refit=False)
    assert plain.cfg["models"] == ["als", "knn"]
