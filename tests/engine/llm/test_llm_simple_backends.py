"""The backend contract, the fake and none backends, and the factory."""
import pytest

from recommender.engine.llm import CircuitBreaker, FakeBackend, LLMError, NoneBackend, get_backend, start_backend
from recommender.engine.llm.base import _cut_at_stop


def test_fake_backend_streams_scripted_reply_in_chunks():
    backend = FakeBackend({"translate": "summer, dresses"}, chunk_size=3)
    chunks = list(backend.generate("please translate this", max_tokens=10))
    assert len(chunks) > 1
    assert "".join(chunks) == "summer, dresses"
    assert backend.complete("nothing matches", max_tokens=5) == ""


def test_fake_backend_respects_max_tokens():
    backend = FakeBackend(default="one two three four five")
    assert backend.complete("x", max_tokens=2) == "one two"


def test_stop_string_split_across_chunks_is_cut():
    chunks = ["hel", "lo\n", "\nworld"]
    assert "".join(_cut_at_stop(iter(chunks), ["\n\n"])) == "hello"
    assert "".join(_cut_at_stop(iter(["abc"]), ["zz"])) == "abc"


def test_stop_applies_to_fake_backend_output():
    backend = FakeBackend(default="keywords: horror\nUser: more")
    assert backend.complete("p", max_tokens=20, stop=["\n"]) == "keywords: horror"


def test_none_backend_is_disabled_and_raises_on_generate():
    backend = get_backend({"backend": "none"})
    assert isinstance(backend, NoneBackend)
    assert backend.enabled is False
    backend.check()  # nothing to check: a chat without an LLM is a valid setup
    with pytest.raises(LLMError):
        backend.complete("hello")


def test_failures_surface_as_llm_error():
    with pytest.raises(LLMError):
        FakeBackend(fail=True).complete("x")

    class Broken(FakeBackend):
        def _stream(self, prompt, max_tokens, stop, temperature):
            raise ValueError("library blew up")
            yield ""  # pragma: no cover

    with pytest.raises(LLMError, match="library blew up"):
        Broken().complete("x")


def test_max_tokens_must_be_positive():
    with pytest.raises(LLMError):
        FakeBackend().complete("x", max_tokens=0)


def test_unknown_backend_name_is_a_clear_error():
    with pytest.raises(LLMError, match="unknown LLM backend"):
        get_backend({"backend": "gpt-17"})


def test_missing_settings_are_start_up_errors():
    with pytest.raises(LLMError, match="base_url"):
        get_backend({"backend": "openai"})
    with pytest.raises(LLMError, match="model directory"):
        get_backend({"backend": "transformers"})


def test_start_backend_falls_back_to_none_with_the_reason():
    backend, error = start_backend({"backend": "no-such-backend"})
    assert isinstance(backend, NoneBackend)
    assert error and "unknown LLM backend" in error
    with pytest.raises(LLMError):
        start_backend({"backend": "openai", "base_url": "http://127.0.0.1:9", "model": "m", "retries": 0, "timeout": 0.5}, fallback=False)


def test_start_backend_puts_an_unreachable_server_behind_an_open_circuit():
    backend, error = start_backend({"backend": "openai", "base_url": "http://127.0.0.1:9", "model": "m", "retries": 0,
                                    "timeout": 0.5, "call_budget": 1.0, "probe_interval": 60})
    try:
        assert error is None and isinstance(backend, CircuitBreaker)
        assert not backend.enabled  # callers skip it until a background check succeeds
        with pytest.raises(LLMError, match="unavailable"):
            backend.complete("hi")
    finally:
        backend.close()


def test_fake_embed_returns_one_vector_per_text():
    vectors = FakeBackend().embed(["a", "bb"])
    assert len(vectors) == 2 and len(vectors[0]) == 16 and vectors[0] != vectors[1]
