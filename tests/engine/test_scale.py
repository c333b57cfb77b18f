"""Large-catalog training: the size switch, eigendecomposition tuning, sparse top-k and sparse artifacts."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.scale import synthetic_catalog
from recommender.engine.catalog import Catalog
from recommender.engine.data import random_split
from recommender.engine.metrics import evaluate_topk
from recommender.engine.rankers import Ranker, make_ranker, scalable
from recommender.engine.rankers.linear import _top_k_columns
from recommender.engine.rankers.scalable import (
    ease_weights,
    top_k_dense_columns,
    top_k_sparse_columns,
)
from recommender.engine.training import (
    build_hybrid,
    ease_validation_curve,
    merged_config,
    rating_config,
    train_bundle,
    tune_ease,
    uses_scalable_components,
)

from .conftest import SCALABLE, SMALL


def _names(hybrid) -> dict[str, str]:
    return {role: ranker.name for role, ranker in hybrid.components.items()}


def test_size_switch_picks_dense_components_up_to_the_limit_and_scalable_above(embedder):
    cfg = merged_config({"components": SMALL, "scalable": SCALABLE, "dense_item_limit": 30})
    assert not uses_scalable_components(30, cfg) and uses_scalable_components(31, cfg)
    dense = _names(build_hybrid(cfg, embedder, n_items=30))
    assert dense == {role: role for role in SMALL}
    large = _names(build_hybrid(cfg, embedder, n_items=31))
    assert large == {"ease": "ease_head", "ease_liked": "ease_liked_head", "itemknn": "itemknn_sparse",
                     "rp3beta": "rp3beta_sparse", "mf": "als", "popularity": "popularity", "content": "content"}
    # Without a catalog size (or without a limit) the configured components are built as they are.
    assert _names(build_hybrid(cfg, embedder)) == dense
    assert not uses_scalable_components(10**9, merged_config({"dense_item_limit": None}))


def test_train_bundle_above_the_limit_trains_and_stores_sparse_components(data, embedder, tmp_path):
    cfg = {"components": SMALL, "scalable": SCALABLE, "dense_item_limit": 10, "tune": {"ease_l2": [2.0, 20.0]},
           "rating": None, "threads": 1}
    manifest = train_bundle(data, tmp_path / "v1", config=cfg, embedder=embedder)
    assert manifest["components"]["ease"] == "ease_head" and manifest["components"]["mf"] == "als"
    assert manifest["tuned"]["ease_l2"] in (2.0, 20.0)
    stored = json.loads((tmp_path / "v1" / "hybrid" / "ease" / "meta.json").read_text())
    assert stored["ranker"] == "ease_head" and stored["params"]["l2"] == manifest["tuned"]["ease_l2"]
    for role in ("ease", "ease_liked", "itemknn", "rp3beta"):
        with np.load(tmp_path / "v1" / "hybrid" / role / "W.npz") as z:
            assert z["data"].dtype == np.float32
    hybrid = Ranker.load(tmp_path / "v1" / "hybrid")
    assert hybrid.recommend(user_key="u0", n=5)


def test_train_bundle_below_the_limit_keeps_the_dense_components(data, embedder, tmp_path):
    cfg = {"components": SMALL, "scalable": SCALABLE, "tune": {"ease_l2": [2.0, 20.0]}, "rating": None, "threads": 1}
    manifest = train_bundle(data, tmp_path / "v1", config=cfg, embedder=embedder)
    assert manifest["components"] == {role: role for role in SMALL}
    assert (tmp_path / "v1" / "hybrid" / "ease" / "state.npz").exists()


@pytest.mark.parametrize("l2", [0.5, 5.0, 50.0, 500.0])
def test_eigendecomposition_gives_the_direct_inverse_ease_weights(data, l2):
    X = Catalog.from_data(data).interactions
    G = (X.T @ X).toarray().astype(np.float64)
    direct = ease_weights(G, l2)
    s, V = np.linalg.eigh(G)
    P = (V / (s + l2)) @ V.T
    from_eigen = np.eye(len(G)) - P / np.diag(P)
    np.testing.assert_allclose(from_eigen, direct, atol=1e-9)
    # The fitted ranker uses the same weights.
    fitted = make_ranker("ease", l2=l2).fit(data)
    np.testing.assert_allclose(fitted.W, direct, atol=1e-6)


def test_validation_curve_matches_refitting_ease_per_l2(data):
    split = random_split(data, 0.2, 0)
    catalog = Catalog.from_data(split.train)
    grid = [1.0, 5.0, 25.0, 125.0]
    curve = ease_validation_curve(catalog.interactions, catalog.train, split.test_items, grid)
    for l2 in grid:
        ranker = make_ranker("ease", l2=l2).fit(split.train, catalog)
        direct = evaluate_topk(ranker.score_users, catalog.train, split.test_items, ks=(10,))["NDCG@10"]
        assert curve[l2] == pytest.approx(direct, abs=1e-9)
    best, results = tune_ease(split.train, split, grid)
    assert results == curve and best == max(curve, key=curve.get)


def test_head_validation_curve_matches_refitting_head_ease(data):
    split = random_split(data, 0.2, 0)
    catalog = Catalog.from_data(split.train)
    _, results = tune_ease(split.train, split, [2.0, 20.0], head=20)
    for l2, found in results.items():
        ranker = make_ranker("ease_head", l2=l2, head=20, k=20).fit(split.train, catalog)
        direct = evaluate_topk(ranker.score_users, catalog.train, split.test_items, ks=(10,))["NDCG@10"]
        assert found == pytest.approx(direct, abs=1e-4)


def test_sparse_and_dense_top_k_columns_agree_on_a_continuous_matrix():
    rng = np.random.default_rng(3)
    S = rng.normal(size=(40, 40))
    S[rng.random(S.shape) < 0.5] = 0.0
    np.fill_diagonal(S, 0.0)
    expected = _top_k_columns(S.astype(np.float32), 6).toarray()
    np.testing.assert_allclose(top_k_sparse_columns(sp.csr_matrix(S), 6).toarray(), expected, rtol=1e-6)
    np.testing.assert_allclose(top_k_dense_columns(S.copy(), 6, 0).toarray(), expected, rtol=1e-6)
    by_magnitude = top_k_sparse_columns(sp.csr_matrix(S), 3, by_magnitude=True).toarray()
    assert ((by_magnitude != 0).sum(axis=0) == np.minimum((S != 0).sum(axis=0), 3)).all()
    kept = np.abs(by_magnitude).min(axis=0, where=by_magnitude != 0, initial=np.inf)
    dropped = np.abs(np.where(by_magnitude == 0, S, 0)).max(axis=0)
    assert (kept >= dropped).all()


@pytest.mark.parametrize("dense_share", [0.0, np.inf], ids=["dense-blocks", "sparse-blocks"])
@pytest.mark.parametrize("dense_name,sparse_name", [("itemknn", "itemknn_sparse"), ("rp3beta", "rp3beta_sparse")])
def test_sparse_item_item_models_keep_the_dense_top_k(data, monkeypatch, dense_share, dense_name, sparse_name):
    monkeypatch.setattr(scalable, "DENSE_SHARE", dense_share)
    monkeypatch.setattr(scalable, "BLOCK_CELLS", 37 * 5)  # several blocks of 5 columns
    dense = make_ranker(dense_name, k=5).fit(data).W.toarray()
    sparse = make_ranker(sparse_name, k=5).fit(data).W
    assert sp.issparse(sparse) and sparse.dtype == np.float32
    sparse = sparse.toarray()
    # Integer co-occurrence counts tie; which of two equal neighbours is kept is arbitrary in both,
    # so compare each column's kept values, and the kept items wherever the k-th value is not tied.
    np.testing.assert_allclose(np.sort(sparse, axis=0), np.sort(dense, axis=0), rtol=1e-5, atol=1e-7)
    assert np.abs(np.diag(sparse)).max() == 0.0
    agree = [(sparse[:, c] != 0).tolist() == (dense[:, c] != 0).tolist() for c in range(dense.shape[1])]
    assert np.mean(agree) > 0.5


def test_head_ease_equals_full_ease_when_the_head_is_the_whole_catalog(data):
    full = make_ranker("ease", l2=5.0).fit(data)
    head = make_ranker("ease_head", l2=5.0, head=10_000, k=10_000).fit(data)
    np.testing.assert_allclose(head.W.toarray(), full.W, atol=1e-5)
    pruned = make_ranker("ease_head", l2=5.0, head=12, k=4).fit(data).W
    top = np.argsort(-np.asarray((Catalog.from_data(data).interactions != 0).sum(axis=0)).ravel(), kind="stable")[:12]
    assert set(np.unique(pruned.nonzero()[0])) <= set(top.tolist())
    assert (np.diff(pruned.tocsc().indptr) <= 4).all()


@pytest.mark.parametrize("name,params", [("itemknn_sparse", {"k": 8}), ("rp3beta_sparse", {"k": 8}),
                                         ("ease_head", {"l2": 5.0, "head": 25, "k": 8}),
                                         ("ease_liked_head", {"l2": 5.0, "head": 25, "k": 8}),
                                         ("als", {"factors": 8, "iterations": 3})])
def test_scalable_artifacts_round_trip_and_score_identically(data, tmp_path, name, params):
    ranker = make_ranker(name, **params).fit(data)
    path = ranker.save(tmp_path / name)
    if name != "als":
        with np.load(path / "W.npz") as z:
            assert z["data"].dtype == np.float32 and not (path / "state.npz").exists()
    loaded = Ranker.load(path)
    assert loaded.name == name and loaded.params == ranker.params
    users = np.arange(data.n_users)
    np.testing.assert_array_equal(loaded.score_users(users), ranker.score_users(users))
    assert [s.item_id for s in loaded.recommend(user_key="u4", n=5)] == [s.item_id for s in ranker.recommend(user_key="u4", n=5)]


def test_als_fold_in_ranks_a_users_own_cluster_first(data):
    ranker = make_ranker("als", factors=8, iterations=10).fit(data)
    scores = ranker.score_users(np.arange(data.n_users))
    own = [(int(data.user_ids[u][1:]) % 3) for u in range(data.n_users)]
    hits = [int(np.argmax(np.where(np.asarray(ranker.catalog.train[u].todense()).ravel() > 0, -np.inf, scores[u]))) // 12
            == own[u] for u in range(data.n_users)]
    assert np.mean(hits) > 0.8


def test_synthetic_catalog_is_deterministic_under_a_seed():
    a, b = synthetic_catalog(300, seed=7), synthetic_catalog(300, seed=7)
    c = synthetic_catalog(300, seed=8)
    assert a.n_items == 300 and a.n_interactions == 6000
    assert a.user_ids == b.user_ids and a.item_ids == b.item_ids
    np.testing.assert_array_equal(a.rows, b.rows)
    np.testing.assert_array_equal(a.cols, b.cols)
    assert [r.text() for r in a.records()] == [r.text() for r in b.records()]
    assert not np.array_equal(a.cols, c.cols)
    pairs = set(zip(a.rows.tolist(), a.cols.tolist()))
    assert len(pairs) == a.n_interactions  # one event per (user, item)
    counts = np.sort(np.bincount(a.cols, minlength=300))[::-1]
    assert counts[:30].sum() > 3 * counts[-30:].sum()  # a popular head and a long tail


def test_rating_members_with_a_square_matrix_are_left_out_above_the_dense_limit():
    cfg = merged_config({"dense_item_limit": 100})
    assert rating_config(cfg, 50, 80) == {}
    assert "knn" not in rating_config(cfg, 50, 500)["models"] and "uknn" in rating_config(cfg, 50, 500)["models"]
    assert rating_config(cfg, 50, 500)["refit"] is False
    assert rating_config(cfg, 5000, 80)["models"] == ["als", "knn", "svdpp", "autorec"]
    assert rating_config(cfg, 5000, 500)["models"] == ["als", "svdpp", "autorec"]


def test_serving_memory_is_reported_with_its_private_part():
    from benchmarks.scale import _rss_parts_mib, _serving_cells

    parts = _rss_parts_mib()
    assert parts["RssAnon"] > 0 and "RssFile" in parts  # this process, read from /proc
    row = {"p95_ms": 9.0, "p50_ms": 6.0, "serving_rss_mib": 1528.0, "serving_rss_private_mib": 1010.4, "p95_cpu_ms": 8.0}
    assert "| 1528 (1010 private) | 6.0 / 9.0 |" in _serving_cells(row)
    assert "| 700 | " in _serving_cells({**row, "serving_rss_mib": 700.0, "serving_rss_private_mib": None})


def test_item_texts_are_embedded_in_bfloat16_only_above_the_configured_size(tmp_path):
    from recommender.engine.training import component_specs, embedding_store

    cfg = merged_config({})
    small, large = cfg["fast_embedding_min_items"], cfg["fast_embedding_min_items"] + 1
    assert "precision" not in component_specs(cfg, small)["content"][1]["embedder"]  # float32, the default
    assert component_specs(cfg, large)["content"][1]["embedder"]["precision"] == "auto"
    assert cfg["components"]["content"]["embedder"] == {"kind": "sentence"}  # the config itself is left alone
    assert embedding_store(cfg, tmp_path / "v1", n_items=large).inner.precision == "auto"
    assert embedding_store(cfg, tmp_path / "v1", n_items=small).inner.precision == "float32"
    hashing = merged_config({"components": {"content": {"embedder": {"kind": "hashing", "dim": 8}}}})
    assert component_specs(hashing, large)["content"][1]["embedder"] == {"kind": "hashing", "dim": 8}


def test_synthetic_dialogues_name_two_of_a_persons_items_and_suggest_a_third():
    from benchmarks.scale import synthetic_dialogues

    data = synthetic_catalog(300, seed=3)
    made = synthetic_dialogues(data, examples=50)
    assert len(made["encoder_dialogues"]) == len(made["dialogue_pairs"]) == 50
    owned: dict[str, set[str]] = {}
    for u, i in zip(data.rows.tolist(), data.cols.tolist()):
        owned.setdefault(data.user_ids[u], set()).add(data.item_ids[i])
    for (context, suggested), (messages, _) in zip(made["dialogue_pairs"], made["encoder_dialogues"]):
        named = list(context)
        assert context == dict.fromkeys(named, 1.0) and len(set(named + suggested)) == 3
        assert any(set(named + suggested) <= items for items in owned.values())  # one person's three items
        assert all(data.items[i].title in messages[0]["content"] for i in named)
        assert data.items[suggested[0]].title not in messages[0]["content"]


def test_a_synthetic_catalog_trains_with_its_made_up_dialogues(tmp_path):
    from benchmarks.scale import synthetic_dialogues
    from recommender.engine.training import train_bundle

    data = synthetic_catalog(120, seed=4)
    config = {"components": {"content": {"embedder": {"kind": "hashing", "dim": 16}}}, "rating": {}, "encoder": None}
    manifest = train_bundle(data, tmp_path / "v", config=config, **synthetic_dialogues(data, examples=40))
    assert manifest["metrics"]["comention"]  # the made-up suggestions fitted the co-mention model


def test_encoder_rows_show_the_encoders_time_and_steps_or_why_it_did_not_train():
    from benchmarks.scale import encoder_markdown

    row = {"dataset": "synthetic:100+dialogues", "items": 100, "events": 2000, "dialogue_examples": 660,
           "train_s": 950.0, "cpu_s": 1800.0, "peak_rss_mib": 2900.0, "timings": {"encoder_s": 905.2},
           "encoder": {"steps": 1200, "planned_steps": 2400, "prepare_seconds": 80.4, "dialogue_examples": 700},
           "load_before": 1.0, "load_after": 2.0}
    table = encoder_markdown([row, {**row, "encoder": {"skipped": "10 dialogue examples, fewer than 500"}}], "cmd")
    assert "| synthetic:100 | 100 | 2,000 | 660 (700) | 950.0 | 1800.0 | 2900 | 905 (80) | 1,200 (2,400) |" in table
    assert "| – | 10 dialogue examples, fewer than 500 |" in table
