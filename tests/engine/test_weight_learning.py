"""Weight learning ranks fused validation scores over shortlists that give the catalog-wide top-k."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.engine.catalog import Catalog
from recommender.engine.data import random_split
from recommender.engine.embedding import HashingEmbedder
from recommender.engine.metrics import relevance_matrix
from recommender.engine.rankers.hybrid import FusedTopK, named_rows
from recommender.engine.training import build_hybrid, merged_config


def _scores(n_users: int = 60, n_items: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    taste = rng.normal(size=(n_users, 1))
    normed = {"a": (taste * rng.normal(size=(1, n_items)) + rng.normal(size=(n_users, n_items))).astype(np.float32),
              "b": rng.gumbel(size=(n_users, n_items)).astype(np.float32),
              "popularity": np.broadcast_to(rng.normal(size=n_items).astype(np.float32), (n_users, n_items)).copy()}
    seen = sp.csr_matrix(rng.random((n_users, n_items)) < 0.05)
    held = {u: rng.choice(np.flatnonzero(~seen[u].toarray().ravel()), size=3, replace=False) for u in range(n_users)}
    return normed, seen, relevance_matrix(np.arange(n_users), held, n_items)


@pytest.mark.parametrize("weights", [{"a": 1.0}, {"a": 1.0, "b": 0.3}, {"a": 1.0, "b": 2.0, "popularity": -0.3},
                                     {"a": 0.5, "popularity": 3.0}, {"b": 1.0, "popularity": 0.05}])
@pytest.mark.parametrize("depth", [3, 10, 50])
def test_shortlisted_top_k_equals_the_catalog_top_k(weights, depth):
    normed, seen, rel = _scores()
    exact, _ = FusedTopK(normed, seen, rel, 10, None).top(weights)
    found, _ = FusedTopK(normed, seen, rel, 10, depth).top(weights)
    np.testing.assert_array_equal(found, exact)
    assert not np.take_along_axis(seen.toarray(), found, axis=1).any()


def test_learned_weights_do_not_depend_on_the_shortlist(data):
    split = random_split(data, 0.2, 0)
    catalog = Catalog.from_data(split.train)
    hybrid = build_hybrid(merged_config({}), HashingEmbedder(dim=64), n_items=data.n_items)
    for ranker in hybrid.components.values():
        ranker.fit(split.train, catalog)
    hybrid.catalog = catalog
    users = np.array(sorted(split.test_items))
    rows = catalog.train[users]
    scores = hybrid.component_scores(rows)
    full = dict(hybrid.learn_weights(scores, rows, split.test_items, users, shortlist=None))
    full_quality = hybrid.validation
    short = dict(hybrid.learn_weights(scores, rows, split.test_items, users, shortlist=4))
    assert short == full and hybrid.validation == full_quality


def test_named_rows_keep_a_few_liked_items_of_each_row():
    rows = sp.csr_matrix(np.array([[1.0, 0.5, 1.0, 1.0, 1.0], [0.5, 0.5, 1.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0, 0.5]],
                                  dtype=np.float32))
    named = named_rows(rows, 2, seed=0)
    assert named.getnnz(axis=1).tolist() == [2, 1, 0]
    assert set(named[0].indices) <= {0, 2, 3, 4} and named[1].indices.tolist() == [2]
    assert (named.data == 1.0).all()


def test_weights_learned_on_named_favourites_too_serve_the_component_that_reads_few_items_well():
    # Component "few" ranks the held-out items first only when a user is read from a few named items; with that
    # reading added to the validation, it earns a weight it never gets from whole histories.
    normed, seen, rel = _scores()
    users = np.arange(rel.shape[0])
    held = {int(u): np.flatnonzero(rel[u]) for u in users}
    hits = rel.astype(np.float32)
    whole = {"a": hits + 0.5 * normed["b"], "few": normed["a"]}
    few = {"a": normed["a"], "few": hits + 0.5 * normed["b"]}
    hybrid = build_hybrid(merged_config({}), HashingEmbedder(dim=8), n_items=rel.shape[1])
    alone = hybrid.learn_weights(whole, seen, held, users)
    both = hybrid.learn_weights(whole, seen, held, users, named_scores=few)
    assert alone.get("few", 0.0) == 0.0 and both["few"] > 0
