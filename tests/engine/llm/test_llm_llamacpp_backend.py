"""The embedded default backend with the real packaged Gemma 3 270M GGUF."""
import pytest

from recommender.engine.llm import LLMError, get_backend
from recommender.engine.llm.llamacpp import packaged_model_path


@pytest.fixture(scope="module")
def backend():
    backend = get_backend({})  # no settings: the embedded default
    backend.load()
    return backend


def test_default_backend_is_llamacpp_with_packaged_model(backend):
    assert backend.name == "llamacpp"
    assert packaged_model_path().name.endswith(".gguf")


def test_short_generation_streams_and_stops(backend):
    chunks = list(backend.generate("Paris is the capital of", max_tokens=6, stop=["\n"]))
    text = "".join(chunks)
    assert chunks and text.strip()
    assert "\n" not in text
    # Greedy decoding is deterministic: the same prompt gives the same text.
    assert backend.complete("Paris is the capital of", max_tokens=6, stop=["\n"]) == text


def test_missing_gguf_is_an_llm_error(tmp_path):
    with pytest.raises(LLMError, match="not found"):
        get_backend({"backend": "llamacpp", "model_path": str(tmp_path / "none.gguf")}).check()
