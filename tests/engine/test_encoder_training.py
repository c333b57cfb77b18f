"""Joint training of the text encoder: its pairs, its batches, a tiny CPU training, and the served version."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import numpy as np
import pytest

from recommender.engine.embedding import SentenceEmbedder, TextRetrieval, default_model_path, dialogue_text
from recommender.engine.encoder_training import (
    EncoderData,
    _FullEncoder,
    _LowerLayerStates,
    batches,
    co_liked_pairs,
    fit_encoder,
    phrase_pairs,
    pick_device,
    text_without,
    trained_or_reused,
)
from recommender.engine.mixing import ConversationMix, MixInputs, mix_parts
from recommender.engine.serving import RecommenderBundle
from recommender.engine.training import encoder_data, train_bundle
from recommender.engine.types import ItemRecord, Profile

from .conftest import make_data

# A training small enough for a test on a busy CPU: the CUDA path is the same code with device "cuda".
TINY = {
    "batch_size": 4,
    "max_steps": 3,
    "trainable_layers": 1,
    "context_tokens": 32,
    "item_tokens": 16,
    "min_dialogue_examples": 2,
    "device": "cpu",
    "budget_s": 120.0,
}
GENRES = {
    "0": "space rocket alien galaxy",
    "1": "love wedding heart kiss",
    "2": "ghost haunted blood scream",
    "3": "cowboy horse desert sheriff",
    "4": "war soldier battle trench",
}


def tiny_data() -> EncoderData:
    texts = {i: f"Film {i}. {words}" for i, words in GENRES.items()}
    dialogues = [(f"user: I want {words.split()[0]} films\nassistant: sure", i) for i, words in GENRES.items()]
    return EncoderData(texts, dialogues * 2, [("0", "3"), ("1", "2")])


def test_dialogue_text_keeps_the_latest_turns_with_their_roles():
    messages = [
        {"role": "user", "content": "old " * 400},
        {"role": "assistant", "content": "Try  Alien"},
        {"role": "user", "content": "seen it, something newer?"},
    ]
    text = dialogue_text(messages, max_chars=200)
    assert text.endswith("assistant: Try Alien\nuser: seen it, something newer?")
    assert len(text) <= 200
    assert dialogue_text([{"role": "user", "content": "  "}]) == ""


def test_co_liked_pairs_take_only_liked_allowed_items_of_one_person():
    users, items, values = [0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 3, 0], [5, 5, 1, 4, 5, 5]
    ids = ["a", "b", "c", "d"]
    pairs = co_liked_pairs(users, items, values, ids, 50, liked_value=4.0, seed=1)
    assert len(pairs) == 50
    assert {frozenset(p) for p in pairs} == {frozenset("ab"), frozenset("bd")}  # c was rated 1; user 2 liked one
    allowed = co_liked_pairs(users, items, values, ids, 20, liked_value=4.0, allowed={"a", "b", "c"})
    assert {frozenset(p) for p in allowed} == {frozenset("ab")}
    assert co_liked_pairs([0], [0], [5], ids, 5, liked_value=None) == []


def test_co_liked_pairs_pair_an_anchor_with_its_nearest_items_not_anything_one_person_liked():
    # Five people like a and b together; one person likes a, c and d as well.
    users = [u for u in range(5) for _ in (0, 1)] + [5, 5, 5]
    items = [i for _ in range(5) for i in (0, 1)] + [0, 2, 3]
    ids = ["a", "b", "c", "d"]
    pairs = co_liked_pairs(users, items, [5] * len(users), ids, 200, liked_value=4.0, seed=3, neighbours=1)
    assert {p for p in pairs if p[0] == "a"} == {("a", "b")}
    assert {p[0] for p in pairs} == {"a", "b"}  # c and d, liked by one person each, are never anchors
    wider = co_liked_pairs(users, items, [5] * len(users), ids, 200, liked_value=4.0, seed=3, neighbours=3)
    assert {p for p in wider if p[0] == "a"} == {("a", "b"), ("a", "c"), ("a", "d")}


def test_batches_hold_one_kind_and_never_one_target_twice():
    examples = [("dialogue", f"q{n}", f"i{n % 3}") for n in range(10)] + [("item", f"t{n}", f"i{n}") for n in range(5)]
    out = batches(examples, 4, random.Random(0))
    for batch in out:
        assert len({kind for kind, _, _ in batch}) == 1
        assert len({target for _, _, target in batch}) == len(batch) >= 2
    # Three targets fill batches of 3 (the tenth dialogue is left alone) and five items a batch of 4: a batch of
    # one has nothing to contrast with, so it is dropped.
    assert sum(len(b) for b in out) == len(examples) - 2


def test_phrase_pairs_hide_the_phrase_and_skip_common_excluded_and_unique_values():
    records = [
        ItemRecord(str(i), f"Film {i}", attributes={"genres": ["Drama"] + (["Noir"] if i < 3 else []),
                                                   "tags": ["atmospheric"] if i < 4 else [f"own tag {i}"]})
        for i in range(10)
    ]
    pairs = phrase_pairs(records, 50, min_items=2, max_share=0.3, exclude=["Atmospheric"], seed=1)
    assert pairs and {phrase for phrase, _ in pairs} == {"Noir"}  # Drama is on all, own tags on one, one excluded
    for _, text in pairs:
        assert "Noir" not in text and "atmospheric" in text and text.startswith("Film ")
    assert len(pairs) == len(set(pairs)) <= 3
    repeated = phrase_pairs(records, 50, min_items=2, max_share=0.3, exclude=["Atmospheric"], seed=1, repeat=True)
    assert len(repeated) == 50 and set(repeated) == set(pairs)  # every draw kept: the phrase objective weighs more
    assert text_without(records[0], "tags", "atmospheric") == "Film 0. genres: Drama, Noir"
    assert text_without(records[0], "genres", "Noir") == "Film 0. genres: Drama. tags: atmospheric"


def test_the_training_data_holds_dialogues_co_liked_items_and_phrases_from_the_catalog():
    data = make_data()
    dialogue = [{"role": "user", "content": "something tense"}]
    inputs = encoder_data(data, [(dialogue, ["i1", "missing"])] * 4, {"encoder": {"phrase_max_share": 0.5}})
    assert inputs.dialogue_examples == [("user: something tense", "i1")] * 4
    assert len(inputs.item_pairs) == 12  # three per dialogue example
    assert inputs.phrase_examples
    for phrase, text in inputs.phrase_examples:
        assert phrase in {"Drama", *(r.attributes["genres"][0] for r in data.items.values())}
        assert f"genres: {phrase}" not in text and f", {phrase}" not in text


def test_pick_device_takes_the_requested_one():
    assert pick_device("cpu") == "cpu"
    assert pick_device(None) in {"cpu", "cuda"}


def test_tiny_training_moves_the_encoder_and_is_reused_when_nothing_changed(tmp_path):
    data = tiny_data()
    folder, summary = trained_or_reused(data, tmp_path, {**TINY, "mlm_weight": 0.1})
    assert folder is not None and summary["steps"] == 3 and summary["device"] == "cpu" and not summary["reused"]
    assert json.loads((folder / "encoder_training.json").read_text())["mlm_weight"] == 0.1
    trained = SentenceEmbedder(model_path=folder).encode(list(data.item_texts.values()))
    packaged = SentenceEmbedder().encode(list(data.item_texts.values()))
    assert trained.shape == packaged.shape
    assert np.allclose(np.linalg.norm(trained, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(trained, packaged, atol=1e-4)  # the top layer learned
    again, summary = trained_or_reused(data, tmp_path, {**TINY, "mlm_weight": 0.1})
    assert again == folder and summary["reused"]
    changed, _ = trained_or_reused(
        EncoderData(data.item_texts, data.dialogue_examples[:-1], data.item_pairs),
        tmp_path,
        {**TINY, "mlm_weight": 0.1, "max_steps": 1},
    )
    assert changed != folder


def test_kept_lower_layer_states_give_the_whole_models_vectors_and_gradients_reach_only_the_top():
    import torch
    from sentence_transformers import SentenceTransformer

    from recommender.engine.embedding import default_model_path
    from recommender.engine.encoder_training import _freeze_lower_layers

    model = SentenceTransformer(str(default_model_path()), device="cpu", local_files_only=True)
    _freeze_lower_layers(model, 2)
    model.eval()
    texts = ["Toy Story (1995). genres: Animation, Children", "user: a haunted house that screams at night", "hi"]
    assert _LowerLayerStates.usable(model, 2) and not _LowerLayerStates.usable(model, 6)
    states = _LowerLayerStates(model, 2, "cpu")
    kept = states.embed(texts, 32, keep_end=True)
    whole = _FullEncoder(model, "cpu").embed(texts, 32, keep_end=True)
    assert torch.allclose(kept, torch.nn.functional.normalize(whole, dim=-1), atol=1e-3)
    assert len(states.states) == 3  # one entry per text and cut, computed once
    kept.sum().backward()
    top = model[0].auto_model.encoder.layer[-1]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in top.parameters())
    assert all(p.grad is None for p in model[0].auto_model.encoder.layer[0].parameters())


def test_training_over_kept_states_and_over_the_whole_model_both_learn(tmp_path):
    kept = fit_encoder(tiny_data(), tmp_path / "kept", {**TINY, "max_steps": 4})
    whole = fit_encoder(tiny_data(), tmp_path / "whole", {**TINY, "max_steps": 4, "cache_lower_layers": False})
    assert kept["lower_layers_cached"] and not whole["lower_layers_cached"]
    packaged = SentenceEmbedder().encode(list(tiny_data().item_texts.values()))
    for folder in (tmp_path / "kept", tmp_path / "whole"):
        trained = SentenceEmbedder(model_path=folder).encode(list(tiny_data().item_texts.values()))
        assert not np.allclose(trained, packaged, atol=1e-4)


def test_too_few_dialogue_examples_leave_the_packaged_encoder(tmp_path):
    folder, summary = trained_or_reused(tiny_data(), tmp_path, {**TINY, "min_dialogue_examples": 100})
    assert folder is None and "packaged encoder serves" in summary["skipped"]
    assert not any(tmp_path.iterdir())


def test_the_time_budget_stops_training(tmp_path):
    summary = fit_encoder(tiny_data(), tmp_path / "enc", {**TINY, "max_steps": None, "budget_s": 0.0})
    assert summary["steps"] == 0 and summary["stopped_by_budget"]


def test_retrieval_is_a_mix_part_only_when_weighted():
    inputs = MixInputs(
        hybrid=np.array([1.0, 0.0, 0.5, 0.2]),
        named=1,
        likeness=np.zeros(4),
        log_popularity=np.zeros(4),
        popularity=np.zeros(4),
        retrieval=np.array([0.2, 0.8, -0.3, 0.5]),
    )
    assert "retrieval" not in mix_parts(ConversationMix(retrieval=0.0), inputs)
    assert "retrieval" not in mix_parts(ConversationMix(), replace(inputs, retrieval=None))  # no trained encoder
    parts = mix_parts(ConversationMix(retrieval=2.0), inputs)
    # Only what lies above the median cosine (0.35) counts, the closest item fully.
    assert np.allclose(parts["retrieval"], [0.0, 2.0, 0.0, 2.0 / 3.0])


def test_a_version_with_a_trained_encoder_serves_it_for_content_retrieval_and_cold_items(tmp_path):
    data = make_data()
    ids = list(data.item_ids)
    scifi = [i for i in ids if "Sci-Fi" in data.items[i].title]
    dialogues = [([{"role": "user", "content": "I want a space adventure with aliens"}], [i]) for i in scifi]
    config = {
        "components": {"popularity": {}, "content": {}},
        "tune": {},
        "rating": None,
        "embedding_cache": None,
        "encoder": {**TINY, "store": str(tmp_path / "encoders")},
    }
    manifest = train_bundle(data, tmp_path / "v1", config=config, encoder_dialogues=dialogues)
    encoder = manifest["encoder"]
    assert encoder and manifest["metrics"]["encoder"]["steps"] == 3
    assert manifest["config"]["components"]["content"]["embedder"]["model_path"] == encoder
    bundle = RecommenderBundle.load(tmp_path / "v1", reuse=False)
    assert isinstance(bundle.retrieval, TextRetrieval)
    assert bundle.retrieval.embedder.config()["model_path"] == encoder
    assert bundle.retrieval.E.shape[0] == bundle.catalog.n_items
    # Requests in words are still matched by the packaged encoder, against vectors of their own.
    content = bundle.hybrid.components["content"]
    assert content.request_embedder.config()["model_path"] == default_model_path() != encoder
    assert content.R is not None and content.R.shape == content.E.shape
    # An item added after training is embedded by the trained encoder and found by text, with no retraining.
    bundle.add_items([ItemRecord(item_id="new", title="Deep Sea Station", description="submarine crew under the ice")])
    assert bundle.retrieval.E.shape[0] == bundle.catalog.n_items
    assert content.R.shape[0] == content.E.shape[0] == bundle.catalog.n_items
    bundle.mix = ConversationMix(retrieval=5.0)
    profile = Profile(dialogue_text="user: a submarine crew trapped under the ice")
    top = bundle.recommend(profile=profile, n=3)
    assert top[0].item_id == "new"
    assert top[0].sources["retrieval"] > 0
    assert sum(top[0].sources.values()) == pytest.approx(top[0].score, rel=1e-5)


def test_the_anchor_keeps_short_texts_nearer_the_packaged_encoder_while_the_items_still_move(tmp_path):
    data = tiny_data()
    phrases = [words.split()[1] for words in GENRES.values()]
    data = replace(data, phrase_examples=[(p, f"Film {i}.") for i, p in zip(GENRES, phrases)])
    fast = {**TINY, "lr": 1e-3, "max_steps": 6}
    free = fit_encoder(data, tmp_path / "free", fast)
    held = fit_encoder(data, tmp_path / "held", {**fast, "anchor_weight": 20.0, "anchor_batch": 3})
    assert free["anchor_texts"] == 0 and held["anchor_texts"] == len(phrases) and held["anchor_weight"] == 20.0
    packaged = SentenceEmbedder()

    def drift(folder, texts):
        trained = SentenceEmbedder(model_path=folder).encode(texts)
        return float(np.mean(1.0 - np.sum(trained * packaged.encode(texts), axis=1)))

    assert drift(tmp_path / "held", phrases) < drift(tmp_path / "free", phrases)
    assert drift(tmp_path / "held", list(data.item_texts.values())) > 1e-4  # the items were not held
