"""The person-facing objectives of benchmarks.person, on lists written by hand."""
import numpy as np
import pytest

from benchmarks.person import NAMED, LikeLists, favourites_text, held_out_people, precision
from recommender.engine.data import InteractionData
from recommender.engine.likeness import KindIndex
from recommender.engine.types import ItemRecord


def test_variety_counts_lists_holding_the_most_frequent_item():
    lists = LikeLists({"x": ["a", "b"], "y": ["a", "c"], "z": ["d", "e"], "w": ["f", "x"]})
    assert lists.variety() == (0.5, "a")
    assert lists.self_listed() == 0
    assert LikeLists({"x": ["x", "a"]}).self_listed() == 1


def test_likeness_is_the_share_of_listed_items_sharing_a_third_of_the_genres():
    records = [ItemRecord("x", "X", attributes={"genres": ["Action", "Sci-Fi"]}),
               ItemRecord("a", "A", attributes={"genres": ["Sci-Fi"]}),
               ItemRecord("b", "B", attributes={"genres": ["Drama", "Romance", "War"]})]
    index = {r.item_id: i for i, r in enumerate(records)}
    assert LikeLists({"x": ["a", "b"]}).likeness(KindIndex(records), index) == 0.5


def test_held_out_people_name_liked_films_and_leave_training():
    users, items, values = [], [], []
    for u in range(20):
        for i in range(10):
            users.append(f"u{u}")
            items.append(f"i{i}")
            values.append(5.0 if i < 7 else 2.0)
    data = InteractionData(users, items, values)
    people, keep = held_out_people(data)
    assert people and all(len(p.named) == NAMED for p in people)
    assert all(set(p.named).isdisjoint(p.targets) and len(p.targets) == 7 - NAMED for p in people)
    held = {data.user_index[p.user] for p in people}
    assert not np.isin(data.rows[keep], list(held)).any()
    assert precision(["i1", "i2", "q"], {"i1", "i2"}) == 0.2
    assert favourites_text(["A", "B", "C"]) == "I love A, B and C. What else should I watch?"


def test_a_pair_list_counts_an_item_alike_when_it_overlaps_either_named_film():
    from benchmarks.person import PairLists

    records = [ItemRecord("x", "X", attributes={"genres": ["Action"]}),
               ItemRecord("y", "Y", attributes={"genres": ["Romance"]}),
               ItemRecord("a", "A", attributes={"genres": ["Action"]}),
               ItemRecord("b", "B", attributes={"genres": ["Romance"]}),
               ItemRecord("c", "C", attributes={"genres": ["Horror"]})]
    index = {r.item_id: i for i, r in enumerate(records)}
    pairs = PairLists({("x", "y"): ["a", "b", "c", "y"], ("x", "c"): ["a", "b"], ("y", "c"): ["a"]})
    assert pairs.likeness(KindIndex(records), index) == pytest.approx((0.75 + 0.5 + 0.0) / 3)
    assert pairs.self_listed() == 1 and pairs.variety() == (1.0, "a")


def test_a_follow_up_list_asks_for_others_after_the_first_five_and_leaves_them_out():
    from types import SimpleNamespace

    from benchmarks.person import follow_up_lists

    records = [ItemRecord(f"i{n}", f"Film {n} (2000)", attributes={"genres": ["Drama"]}) for n in range(20)]
    catalog = SimpleNamespace(records=records, item_index={r.item_id: n for n, r in enumerate(records)})
    calls = []

    def recommend(messages, k):
        calls.append(messages)
        return [f"i{n}" for n in range(1, 1 + k)]

    ps = SimpleNamespace(setup=SimpleNamespace(catalog=catalog), recommend=recommend)
    lists = follow_up_lists(ps, ["i0"])
    first, second = calls
    assert first == [{"role": "user", "content": "Something like Film 0"}]
    assert second[1]["role"] == "assistant" and "Film 1 (2000)" in second[1]["content"]
    assert "Film 5 (2000)" in second[1]["content"] and second[2] == {"role": "user", "content": "Any others?"}
    assert lists.lists["i0"] == [f"i{n}" for n in range(6, 16)]


def test_free_text_lists_count_what_the_dialogues_suggest_most():
    from types import SimpleNamespace

    from benchmarks.person import DIALOGUE_HEAD, FREE_TEXT_REQUESTS, dialogue_head, free_text_requests

    # Training dialogues suggested "hot" most; every free-text list holds it and one item of its own.
    turns = [SimpleNamespace(suggested=["hot"])] * 5 + [SimpleNamespace(suggested=[f"s{n}"])
                                                        for n in range(DIALOGUE_HEAD + 5)]
    asked = []

    def recommend(messages, k):
        asked.append(messages[-1]["content"])
        return ["hot", f"own{len(asked)}"]

    ps = SimpleNamespace(recommend=recommend, dialogue_head=dialogue_head(turns))
    result = free_text_requests(ps, tuning=True)
    assert asked == FREE_TEXT_REQUESTS[::2]
    assert result.lists.variety() == (1.0, "hot")
    assert result.head_share == 0.5  # "hot" is in the head; each list's own item is not
