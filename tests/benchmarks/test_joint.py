"""benchmarks.joint: the held-out items stay out of every training input, and its measures read what they say."""
from __future__ import annotations

import numpy as np

from benchmarks.conversations import Setup
from benchmarks.joint import cold_items, cold_start, encoder_examples, tag_cases, text_requests, warm_data
from recommender.engine.catalog import Catalog
from recommender.engine.dialogues import Dialogue, DialogueTurn
from recommender.engine.encoder_training import text_without
from recommender.engine.request_text import described
from recommender.engine.types import ItemRecord


def test_cold_items_are_a_tenth_of_the_rated_items_and_lose_every_interaction(data):
    cold = cold_items(data)
    rated = {data.item_ids[i] for i in np.unique(data.cols)}
    assert cold <= rated and len(cold) == round(0.1 * len(rated))
    warm = warm_data(data, cold)
    assert not {warm.item_ids[i] for i in warm.cols} & cold
    assert warm.n_interactions == data.n_interactions - sum(data.item_ids[i] in cold for i in data.cols)


def test_encoder_examples_leave_out_the_tuning_slice_and_cold_targets(data):
    def dialogue(cid: str) -> Dialogue:
        return Dialogue(conversation_id=cid, movies={"a": "A", "b": "B"},
                        turns=[DialogueTurn("user", "I like A", ["a"]), DialogueTurn("assistant", "see B", ["b"])])

    links = {"a": "i0", "b": "i1"}
    setup = Setup(data, Catalog.from_data(data), None, [dialogue("2"), dialogue("11")], [],  # type: ignore[arg-type]
                  {"2": links, "11": links})
    assert encoder_examples(setup, set()) == [([{"role": "user", "content": "I like A"}], ["i1"])]  # 11 % 10 == 1
    assert encoder_examples(setup, {"i1"}) == []


def test_tag_requests_read_the_tags_and_remove_only_the_asked_one():
    record = ItemRecord(item_id="x", title="X", attributes={"tags": ["dark", "funny"]})
    assert "dark" not in text_without(record, "tags", "dark") and "funny" in text_without(record, "tags", "dark")

    class Items:
        items = {str(i): ItemRecord(item_id=str(i), title=str(i), attributes={"tags": ["dark"] if i < 5 else ["odd"]})
                 for i in range(7)}

    assert tag_cases(Items()) == {"dark": ["0", "1", "2", "3", "4"]}  # type: ignore[arg-type]


def test_cold_start_ranks_held_out_items_by_the_profile_text(data):
    cold = cold_items(data)
    rng = np.random.default_rng(0)
    E = rng.normal(size=(data.n_items, 8)).astype(np.float32)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    result = cold_start(data, cold, E)
    assert 0.0 <= result["cold_ndcg10"] <= 1.0 and 0.0 <= result["overall_ndcg10"] <= 1.0
    assert result["cold_users"] > 0 and result["users"] >= result["cold_users"] - 1
    # Vectors that put every item of a person's cluster together rank their cold items better than noise.
    clusters = np.array([int(i[1:]) // 12 if i.startswith("i") else 3 for i in data.item_ids])
    informed = np.eye(8, dtype=np.float32)[clusters] + 0.01 * E
    informed /= np.linalg.norm(informed, axis=1, keepdims=True)
    assert cold_start(data, cold, informed)["cold_ndcg10"] > result["cold_ndcg10"]


def test_tag_requests_can_match_items_by_what_they_are_not_what_they_are_called(monkeypatch, embedder):
    record = ItemRecord(item_id="x", title="Sunday", aliases=("星期天",), attributes={"tags": ["rainy"]})
    assert described(record).text() == "tags: rainy" and "Sunday" in record.text()

    class Items:
        item_ids = [str(i) for i in range(7)]
        item_index = {str(i): i for i in range(7)}
        items = {str(i): ItemRecord(item_id=str(i), title=f"Title{i}",
                                    attributes={"tags": ["dark", "slow"] if i < 5 else ["odd"]}) for i in range(7)}

    seen: list[str] = []

    def fake_embed(texts, model_path):
        seen.extend(texts)
        return embedder.encode(list(texts))

    monkeypatch.setattr("benchmarks.joint.embed", fake_embed)
    titled = text_requests(Items(), None)  # type: ignore[arg-type]
    assert set(titled) == {"tag_r10", "tags"} and any("Title0" in t for t in seen)
    seen.clear()
    bare = text_requests(Items(), None, titles=False)  # type: ignore[arg-type]
    assert set(bare) == {"tag_r10_untitled", "tags"} and bare["tags"] == titled["tags"] == 2
    assert seen and not any("Title" in t for t in seen)
    seen.clear()
    damped = text_requests(Items(), None, titles=False, damped=True)  # type: ignore[arg-type]
    assert set(damped) == {"tag_r10_damped", "tags"}
    # Right after the items' texts come the references: the values carried twice or more and not asked for.
    assert seen[7:8] == ["odd"]
