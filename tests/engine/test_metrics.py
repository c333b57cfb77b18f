import numpy as np
import pytest

from recommender.engine.metrics import (
    batch_topk_metrics,
    evaluate_topk,
    like_accuracy_f1,
    mae,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    relevance_matrix,
    rmse,
    topk_indices,
)


def test_precision_recall_hand_computed():
    ranked, relevant = ["a", "b", "c", "d", "e"], {"b", "e", "z"}
    assert precision_at_k(ranked, relevant, 5) == pytest.approx(2 / 5)
    assert recall_at_k(ranked, relevant, 5) == pytest.approx(2 / 3)
    assert precision_at_k(ranked, relevant, 1) == 0.0
    assert recall_at_k(ranked, set(), 5) == 0.0


def test_ndcg_hand_computed():
    # hits at ranks 2 and 5: DCG = 1/log2(3) + 1/log2(6); ideal with 3 relevant = 1 + 1/log2(3) + 1/2
    dcg = 1 / np.log2(3) + 1 / np.log2(6)
    idcg = 1 + 1 / np.log2(3) + 0.5
    assert ndcg_at_k(["a", "b", "c", "d", "e"], {"b", "e", "z"}, 5) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["b", "e", "z"], {"b", "e", "z"}, 3) == pytest.approx(1.0)


def test_batch_metrics_match_scalar_versions():
    rng = np.random.default_rng(1)
    top = np.array([rng.permutation(20)[:10] for _ in range(6)])
    rel = rng.random((6, 20)) < 0.3
    out = batch_topk_metrics(top, rel, (5, 10))
    for r in range(6):
        relevant = set(np.flatnonzero(rel[r]))
        assert out["P@5"][r] == pytest.approx(precision_at_k(top[r], relevant, 5))
        assert out["R@10"][r] == pytest.approx(recall_at_k(top[r], relevant, 10))
        assert out["NDCG@5"][r] == pytest.approx(ndcg_at_k(top[r], relevant, 5))


def test_rating_errors_hand_computed():
    truth, pred = [4, 2, 5, 1], [3.5, 2.0, 4.0, 3.0]
    assert rmse(truth, pred) == pytest.approx(np.sqrt((0.25 + 0 + 1 + 4) / 4))
    assert mae(truth, pred) == pytest.approx((0.5 + 0 + 1 + 2) / 4)
    # like = >= 4: truth [T, F, T, F], pred [F, F, T, F] -> acc 3/4, tp 1 fp 0 fn 1 -> F1 2/3
    acc, f1 = like_accuracy_f1(truth, pred)
    assert acc == pytest.approx(0.75)
    assert f1 == pytest.approx(2 / 3)


def test_topk_indices_order_and_evaluate_excludes_seen():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]])
    assert topk_indices(scores, 3).tolist() == [[1, 3, 2]]
    import scipy.sparse as sp

    train = sp.csr_matrix(np.array([[0, 1, 0, 0]], dtype=np.float32))
    result = evaluate_topk(lambda users: scores[users], train, {0: np.array([3])}, ks=(1,))
    assert result["P@1"] == 1.0  # item 1 is seen, so item 3 ranks first
    assert relevance_matrix(np.array([0]), {0: np.array([3])}, 4).tolist() == [[False, False, False, True]]
