"""The transformers backend against a tiny randomly initialised model written to a temp directory."""
import threading

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from recommender.engine.llm import LLMError, get_backend
from recommender.engine.llm.transformers_backend import pick_device

WORDS = ["[UNK]", "[PAD]", "[EOS]"] + [f"w{i}" for i in range(29)] + ["hello", "horror", "summer"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-lm")
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(WORDS), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64,
                         pad_token_id=1, eos_token_id=2, bos_token_id=2)
    LlamaForCausalLM(config).save_pretrained(path)
    return str(path)


def test_streams_greedy_tokens_deterministically(model_dir):
    backend = get_backend({"backend": "transformers", "model": model_dir, "device": "cpu"})
    chunks = list(backend.generate("hello horror", max_tokens=4))
    text = "".join(chunks)
    assert text.strip(), "the tiny model should produce some tokens"
    assert len(text.split()) <= 4
    assert backend.complete("hello horror", max_tokens=4) == text
    backend.check()


def test_generations_share_one_long_lived_thread(model_dir):
    # cuDNN keeps attention plans per thread: a new thread per call would re-plan every decode step on CUDA.
    backend = get_backend({"backend": "transformers", "model": model_dir, "device": "cpu"})
    backend.load()
    seen, generate = [], backend._lm.generate

    def recording_generate(**kwargs):
        seen.append(threading.get_ident())
        return generate(**kwargs)

    backend._lm.generate = recording_generate
    backend.complete("hello", max_tokens=2)
    backend.complete("summer horror", max_tokens=2)
    assert len(seen) == 2 and seen[0] == seen[1] != threading.get_ident()


def test_embed_returns_hidden_size_vectors(model_dir):
    backend = get_backend({"backend": "transformers", "model": model_dir, "device": "cpu"})
    vectors = backend.embed(["hello", "summer horror"])
    assert len(vectors) == 2 and len(vectors[0]) == 16


def test_missing_directory_is_an_llm_error(tmp_path):
    backend = get_backend({"backend": "transformers", "model": str(tmp_path / "absent")})
    with pytest.raises(LLMError, match="could not load"):
        backend.check()


def test_device_defaults_to_cuda_only_when_present():
    assert pick_device("cpu") == "cpu"
    assert pick_device() == ("cuda" if torch.cuda.is_available() else "cpu")
