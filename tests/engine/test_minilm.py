"""The packaged all-MiniLM-L6-v2 loads from its local path and drives the content ranker."""
from __future__ import annotations

import numpy as np
import pytest

from recommender.engine.embedding import SentenceEmbedder, cpu_has_native_bfloat16, default_model_path, make_embedder
from recommender.engine.rankers import make_ranker
from recommender.engine.types import Profile

from .conftest import COLD_ID


@pytest.fixture(scope="module")
def minilm() -> SentenceEmbedder:
    return SentenceEmbedder()


def test_model_path_is_configurable(tmp_path):
    assert SentenceEmbedder().model_path == default_model_path()  # the packaged model unless one is passed
    assert SentenceEmbedder(model_path=tmp_path).model_path == str(tmp_path)
    assert make_embedder({"kind": "sentence", "model_path": "/models/x"}).config() == {
        "kind": "sentence", "model_path": "/models/x"}


def test_real_minilm_embeds_and_ranks_cold_item(minilm, data):
    vectors = minilm.encode(["a spaceship crew explores a distant galaxy", "astronauts travel to another planet",
                             "a tender wedding love story"])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    ranker = make_ranker("content", embedder_obj=minilm).fit(data)
    top = ranker.recommend(profile=Profile(query_text="a submarine voyage under the arctic ice"), n=1)
    assert top[0].item_id == COLD_ID


def test_bfloat16_encoding_gives_the_float32_vectors_to_within_rounding():
    texts = ["a spaceship crew explores a distant galaxy", "a tender wedding love story", "jazz for a rainy night"]
    exact = SentenceEmbedder(precision="float32").encode(texts)
    fast = SentenceEmbedder(precision="bfloat16").encode(texts)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(fast, axis=1), 1.0, rtol=1e-5)
    assert float((exact * fast).sum(axis=1).min()) > 0.999  # close enough to share one embedding store
    assert not np.array_equal(exact, fast)  # the setting really changes how the model computes


def test_precision_auto_uses_bfloat16_only_on_cpus_that_compute_it_natively():
    assert cpu_has_native_bfloat16("flags\t: fpu avx2 avx512f avx512_bf16 avx512_vnni")
    assert cpu_has_native_bfloat16("flags\t: fpu avx2 amx_bf16 amx_tile")
    assert not cpu_has_native_bfloat16("flags\t: fpu sse4_2 avx2 avx512f")
    assert not cpu_has_native_bfloat16("model name\t: avx512_bf16 in a name is not a flag")
    with pytest.raises(ValueError, match="precision"):
        SentenceEmbedder(precision="int4")
