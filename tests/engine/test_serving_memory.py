"""Serving memory: memory-mapped float32/sparse artifacts, shared between processes; the ANN size switch;
item embeddings stored across trainings."""
from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.engine.ann import NearestItems, uses_ann
from recommender.engine.arrays import is_mapped, load_csr, load_npz, save_csr, save_npz
from recommender.engine.catalog import Catalog
from recommender.engine.embedding import HashingEmbedder, StoredEmbeddings
from recommender.engine.rankers import make_ranker
from recommender.engine.rankers.base import load_model
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import build_hybrid, merged_config, train_bundle
from recommender.engine.types import Profile

from .conftest import SCALABLE, SMALL

PROFILES = [Profile(liked=["i1", "i2"]), Profile(liked=["i14"], disliked=["i3"], query_text="love wedding"),
            Profile(history={"i25": 0.5}, query_text="haunted ghost")]


def _scoring_arrays(bundle: RecommenderBundle) -> dict[str, np.ndarray]:
    """Return the arrays a request reads, by name."""
    hybrid = bundle.hybrid
    out = {"train.data": bundle.catalog.train.data, "train.indices": bundle.catalog.train.indices}
    for role, ranker in hybrid.components.items():
        for attr in ("W", "E", "P", "Q", "pop"):
            value = getattr(ranker, attr, None)
            if value is None:
                continue
            out[f"{role}.{attr}"] = value.data if sp.issparse(value) else value
    return out


def _scores(bundle: RecommenderBundle) -> list[list[tuple[str, float]]]:
    return [[(s.item_id, s.score) for s in bundle.recommend(profile=p, n=8)] for p in PROFILES]


@pytest.fixture(scope="module")
def artifact(data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("served") / "v1"
    train_bundle(data, out, embedder=HashingEmbedder(dim=64), config={
        "components": SMALL, "scalable": SCALABLE, "dense_item_limit": 10, "tune": {"ease_l2": [2.0, 20.0]},
        "threads": 1, "embedding_cache": None})
    return out


def test_npz_members_load_memory_mapped_and_equal_what_was_saved(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"E": rng.random((40, 7), dtype=np.float32), "F": np.asfortranarray(rng.random((5, 3))),
              "mu": np.array(3.5), "empty": np.zeros(0)}
    save_npz(tmp_path / "s.npz", **arrays)
    loaded = load_npz(tmp_path / "s.npz")
    assert set(loaded) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value)
    assert is_mapped(loaded["E"]) and is_mapped(loaded["F"]) and not loaded["E"].flags.writeable
    W = sp.random(60, 50, density=0.1, format="csr", dtype=np.float32, random_state=1)
    save_csr(tmp_path / "W.npz", W)
    mapped = load_csr(tmp_path / "W.npz")
    assert (mapped != W).nnz == 0
    assert all(is_mapped(a) for a in (mapped.data, mapped.indices, mapped.indptr))


def test_a_loaded_version_reads_float32_arrays_mapped_read_only(artifact):
    bundle = RecommenderBundle.load(artifact, reuse=False)
    arrays = _scoring_arrays(bundle)
    assert {"content.E", "itemknn.W", "ease.W", "mf.P", "mf.Q", "popularity.pop"} <= set(arrays)
    for name, value in arrays.items():
        assert is_mapped(value), name
        assert not value.flags.writeable, name
        if value.dtype.kind == "f":
            assert value.dtype == np.float32, name


def test_float32_sparse_artifacts_round_trip_and_score_as_the_model_in_memory(data, tmp_path):
    cfg = merged_config({"components": SMALL, "scalable": SCALABLE, "dense_item_limit": 10})
    hybrid = build_hybrid(cfg, HashingEmbedder(dim=64), n_items=data.n_items).fit(data)
    hybrid.save(tmp_path / "hybrid")
    loaded = load_model(tmp_path / "hybrid", Catalog.load(tmp_path / "hybrid"))
    assert all(is_mapped(a) for a in _scoring_arrays(RecommenderBundle(loaded)).values())
    # Identical arrays; only float32 rounding may differ where BLAS takes another path for mapped memory.
    for served, memory in zip(_scores(RecommenderBundle(loaded)), _scores(RecommenderBundle(hybrid))):
        assert [i for i, _ in served] == [i for i, _ in memory]
        np.testing.assert_allclose([s for _, s in served], [s for _, s in memory], rtol=1e-6)
    users = np.arange(data.n_users)
    np.testing.assert_allclose(loaded.score_users(users), hybrid.score_users(users), rtol=1e-6, atol=1e-6)


def _serve_in_child(path: str) -> dict:
    bundle = RecommenderBundle.load(path)
    arrays = _scoring_arrays(bundle)
    maps = Path("/proc/self/maps").read_text() if Path("/proc/self/maps").exists() else ""
    return {"scores": _scores(bundle), "mapped": all(is_mapped(a) for a in arrays.values()),
            "writeable": any(a.flags.writeable for a in arrays.values()),
            "files_mapped": sorted({line.split()[-1] for line in maps.splitlines() if path in line})}


def test_two_processes_map_one_artifact_and_score_identically(artifact):
    parent = _scores(RecommenderBundle.load(artifact, reuse=False))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        first, second = pool.map(_serve_in_child, [str(artifact.resolve())] * 2)
    assert first["scores"] == second["scores"] == parent
    for child in (first, second):
        assert child["mapped"] and not child["writeable"]
        if Path("/proc/self/maps").exists():  # the pages come from the artifact's files: one copy in the page cache
            assert any(f.endswith("content/state.npz") for f in child["files_mapped"])
            assert any(f.endswith("hybrid/train.npz") for f in child["files_mapped"])


def _clustered(n: int, dim: int = 48, clusters: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    E = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dim))
    return (E / np.linalg.norm(E, axis=1, keepdims=True)).astype(np.float32)


def test_ann_top_k_recall_against_exact_is_high():
    vectors = _clustered(6200)
    E, queries = vectors[:6000], vectors[6000:]  # queries from the items' distribution, not in the index
    found = NearestItems.build(E).search(queries, 10)
    exact = np.argsort(-(queries @ E.T), axis=1)[:, :10]
    recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact)])
    assert recall >= 0.9


def test_size_switch_picks_the_ann_index_above_the_threshold(data, embedder):
    assert not uses_ann(1000, 1000) and uses_ann(1001, 1000) and not uses_ann(10**9, None)
    below = make_ranker("content", embedder_obj=embedder, ann_min_items=data.n_items).fit(data)
    above = make_ranker("content", embedder_obj=embedder, ann_min_items=data.n_items - 1, ann_candidates=6).fit(data)
    assert below.ann is None and above.ann is not None and above.ann.size == data.n_items
    x = below.catalog.profile_vector(None, PROFILES[1])
    exact, approx = below.score_vector(x, "love wedding"), above.score_vector(x, "love wedding")
    # Above the threshold each term keeps its nearest items' exact cosine and 0 for the rest.
    for term in ("history", "query"):
        kept = np.flatnonzero(approx.terms[term])
        assert 0 < len(kept) <= 6
        np.testing.assert_allclose(approx.terms[term][kept], exact.terms[term][kept], rtol=1e-5, atol=1e-6)
        assert set(np.argsort(-exact.terms[term])[:3]) <= set(kept)
    # Explanations decompose the approximate score exactly, in and outside the kept items.
    items = np.arange(data.n_items)
    parts = above.item_parts(x, items, "love wedding", approx)
    np.testing.assert_allclose(parts.totals(), approx.scores, rtol=1e-5, atol=1e-6)


def test_ann_index_round_trips_with_the_content_model(data, embedder, tmp_path):
    ranker = make_ranker("content", embedder_obj=embedder, ann_min_items=10, ann_candidates=8).fit(data)
    ranker.save(tmp_path / "content")
    loaded = load_model(tmp_path / "content", ranker.catalog)
    assert loaded.ann is not None
    users = np.arange(data.n_users)
    np.testing.assert_allclose(loaded.score_users(users), ranker.score_users(users), rtol=1e-6)


class _Counting(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(dim=32)
        self.embedded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.embedded += texts
        return super().encode(texts)


def test_stored_embeddings_embed_only_texts_not_seen_before(tmp_path):
    first = _Counting()
    a = StoredEmbeddings(first, tmp_path).encode(["red fox", "blue whale", "red fox"])
    assert first.embedded == ["red fox", "blue whale"]
    second = _Counting()  # a later training: a new process, the same store on disk
    b = StoredEmbeddings(second, tmp_path).encode(["blue whale", "grey owl", "red fox"])
    assert second.embedded == ["grey owl"]
    np.testing.assert_array_equal(b[[0, 2]], a[[1, 0]])
    np.testing.assert_array_equal(b[1], HashingEmbedder(dim=32).encode(["grey owl"])[0])
    other = _Counting.__new__(_Counting)
    HashingEmbedder.__init__(other, dim=16)
    other.embedded = []
    StoredEmbeddings(other, tmp_path).encode(["red fox"])
    assert other.embedded == ["red fox"]  # another model configuration keeps its own store


def test_stored_embeddings_find_every_text_again(tmp_path):
    texts = [f"text {i}" for i in range(400)]  # "text 171" has a SHA-1 digest ending in a NUL byte
    StoredEmbeddings(_Counting(), tmp_path).encode(texts)
    again = _Counting()
    StoredEmbeddings(again, tmp_path).encode(texts)
    assert again.embedded == []


def test_stored_embeddings_report_progress_and_keep_what_a_killed_run_embedded(tmp_path):
    class _Dies(_Counting):
        def encode(self, texts):
            if len(self.embedded) >= 4:
                raise KeyboardInterrupt  # the process is stopped part-way through a cold run
            return super().encode(texts)

    texts = [f"item {i}" for i in range(10)]
    store = StoredEmbeddings(_Dies(), tmp_path, chunk=2, save_every_s=0.0)
    with pytest.raises(KeyboardInterrupt):
        store.encode(texts)
    resumed, seen = _Counting(), []
    out = StoredEmbeddings(resumed, tmp_path, chunk=4).encode(texts, progress=lambda done, total: seen.append((done, total)))
    assert resumed.embedded == texts[4:]  # the two saved chunks are not embedded again
    assert seen == [(4, 6), (6, 6)]
    np.testing.assert_array_equal(out, HashingEmbedder(dim=32).encode(texts))


def test_saved_members_start_aligned_so_mapped_arrays_take_the_fast_paths(tmp_path):
    save_npz(tmp_path / "s.npz", a=np.arange(3, dtype=np.int8), E=np.ones((7, 5), dtype=np.float32),
             idx=np.arange(11, dtype=np.int64))
    loaded = load_npz(tmp_path / "s.npz")
    assert all(is_mapped(v) and v.ctypes.data % 64 == 0 and v.flags.aligned for v in loaded.values())
    np.savez(tmp_path / "plain.npz", E=np.ones((7, 5), dtype=np.float32))  # members at whatever offset
    plain = load_npz(tmp_path / "plain.npz")["E"]
    assert plain.flags.aligned and (is_mapped(plain) or plain.flags.writeable)
