"""Requests in words meet each domain's items in the text form its own values are found best by."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.engine.data import InteractionData
from recommender.engine.embedding import HashingEmbedder
from recommender.engine.rankers import make_ranker
from recommender.engine.rankers.base import load_model
from recommender.engine.request_text import (
    DESCRIBED,
    MIN_VALUES,
    WHOLE,
    choose_forms,
    hubness,
    reference_values,
    request_text,
    value_cases,
    without_value,
)
from recommender.engine.types import ItemRecord

WORDS = [f"w{n}ord" for n in range(12)]


def films() -> list[ItemRecord]:
    """Titles are names: each value is carried by 5 films, and 10 other films have the value's word as a name."""
    out = []
    for n, word in enumerate(WORDS):
        for k in range(5):
            out.append(ItemRecord(item_id=f"f{n}-{k}", title=f"Picture {n} {k}", description=f"a {word} story",
                                  attributes={"tags": [word, "drama"]}))
        for k in range(10):
            out.append(ItemRecord(item_id=f"d{n}-{k}", title=f"{word} of the {word}", description="a quiet story",
                                  attributes={"tags": ["drama"]}))
    return out


def shop() -> list[ItemRecord]:
    """Titles describe: a product's title holds the words its values are asked for with, and nothing else does."""
    return [ItemRecord(item_id=f"p{n}-{k}", title=f"{word} dress {k}", domain="product",
                       attributes={"color": word, "size": str(k)})
            for n, word in enumerate(WORDS) for k in range(5)]


def test_a_record_without_its_value_and_the_forms_of_its_text():
    record = ItemRecord(item_id="1", title="Heat", aliases=("盗火线",), description="a long night",
                        attributes={"tags": ["crime", "la"], "mood": "tense"})
    assert without_value(record, "tags", "crime").attributes == {"tags": ["la"], "mood": "tense"}
    assert without_value(record, "mood", "tense").attributes == {"tags": ["crime", "la"]}
    assert "Heat" in request_text(record, WHOLE) and "盗火线" in request_text(record, WHOLE)
    described = request_text(record, DESCRIBED)
    assert "Heat" not in described and "盗火线" not in described and "crime" in described
    # An item with nothing but its name keeps it: an empty text would match nothing.
    assert request_text(ItemRecord(item_id="2", title="Heat"), DESCRIBED) == "Heat"


def test_value_cases_keep_values_of_a_few_items_not_unique_nor_everywhere():
    cases = value_cases(films())
    assert cases[("tags", WORDS[0])] == ([0, 1, 2, 3, 4], [])
    assert all(key[1].startswith("w") for key in cases)  # "drama" is on every film
    assert len(value_cases(films()[:3])) == 0


def test_names_are_dropped_where_they_mislead_and_kept_where_they_describe():
    encode = HashingEmbedder(dim=512).encode
    forms, measured = choose_forms([*films(), *shop()], encode)
    assert forms == {"movie": DESCRIBED, "product": WHOLE}
    assert measured["movie"]["described_r10"] > measured["movie"]["whole_r10"]
    assert measured["product"]["whole_r10"] > measured["product"]["described_r10"]
    few = films()[:15 * (MIN_VALUES - 1)]
    assert choose_forms(few, encode)[0] == {"movie": WHOLE}
    assert choose_forms(few, encode)[1]["movie"] == {"values": MIN_VALUES - 1}


@pytest.fixture
def mixed_data() -> InteractionData:
    records = [*films(), *shop()]
    users = np.repeat(np.arange(20), 3)
    items = np.arange(60) % len(records)
    return InteractionData([str(u) for u in users], [records[i].item_id for i in items],
                           items=records)


def test_the_content_model_matches_words_by_each_domains_form_and_keeps_it_saved_and_for_new_items(
        mixed_data, tmp_path):
    ranker = make_ranker("content", embedder_obj=HashingEmbedder(dim=512), request_text="auto").fit(mixed_data)
    assert ranker.request_forms == {"movie": DESCRIBED, "product": WHOLE}
    index = dict(ranker.catalog.item_index)
    row = ranker.query_rows([WORDS[3]], 1)[0]
    assert row[index["f3-0"]] > 0 and row[index["d3-0"]] == 0  # a name made of the word is not a match
    assert row[index["p3-0"]] > 0  # a product's title still is
    # The items' own vectors (what profiles are compared with) keep the whole text.
    assert ranker.history_rows(ranker.catalog.interactions[:1]).shape == (1, len(index))
    ranker.save(tmp_path / "content")
    loaded = load_model(tmp_path / "content", ranker.catalog)
    assert loaded.request_forms == ranker.request_forms
    assert np.allclose(loaded.query_rows([WORDS[3]], 1), row[None, :])
    added = loaded.catalog.add_items([ItemRecord(item_id="new", title=f"{WORDS[5]} {WORDS[5]}",
                                                 description=f"a {WORDS[7]} story")])
    loaded.extend(added)
    row = loaded.query_rows([WORDS[5]], 1)[0]
    assert row.shape == (len(index) + 1,) and row[-1] == 0  # the new film is matched without its name too
    assert loaded.query_rows([WORDS[7]], 1)[0][-1] > 0


def test_the_whole_text_serves_requests_when_asked_and_an_unknown_form_is_refused(mixed_data):
    ranker = make_ranker("content", embedder_obj=HashingEmbedder(dim=512), request_text=WHOLE).fit(mixed_data)
    assert ranker.R is None and set(ranker.request_forms.values()) == {WHOLE}
    assert ranker.query_rows([WORDS[3]], 1)[0][ranker.catalog.item_index["d3-0"]] > 0
    with pytest.raises(ValueError, match="request_text"):
        make_ranker("content", embedder_obj=HashingEmbedder(dim=512), request_text="titles")


MOODS = [f"m{n}ood" for n in range(12)]
FILLER = " ".join(f"filler{n}" for n in range(20))


def crowded(hubs: int = 24) -> list[ItemRecord]:
    """Each word's 5 carriers hold it among many other words; short omnibus texts hold half of all words each, so
    they sit near every request (moods on 3 carriers each are the reference values, never asked)."""
    out = [ItemRecord(item_id=f"f{n}-{k}", title=f"Picture {n} {k}", description=f"{word} {FILLER}",
                      attributes={"tags": [word], **({"mood": [MOODS[n]]} if k < 3 else {})})
           for n, word in enumerate(WORDS) for k in range(5)]
    for k in range(hubs):
        words = [WORDS[(k + j) % 12] for j in range(6)] + [MOODS[(k + j) % 12] for j in range(6)]
        out.append(ItemRecord(item_id=f"h{k}", title=f"Omnibus {k}", description=" ".join(words)))
    return out


def test_hubness_is_the_mean_cosine_to_the_nearest_references():
    references = np.eye(4, dtype=np.float32)
    items = np.array([[1, 0, 0, 0], [0.5, 0.5, 0.5, 0.5], [0, 0, 0, 0]], dtype=np.float32)
    assert np.allclose(hubness(items, references, k=2), [0.5, 0.5, 0.0])
    assert np.allclose(hubness(items, references, k=1), [1.0, 0.5, 0.0])
    assert np.allclose(hubness(items, references[:0]), 0.0)  # no references: nothing taken off
    assert reference_values(crowded()) == sorted(WORDS) + sorted(MOODS)  # tags on 5 items, then moods on 3
    assert reference_values(crowded(), leave_out=WORDS) == sorted(MOODS)
    assert reference_values(crowded(), leave_out=MOODS[:2]) == sorted(WORDS) + sorted(MOODS[2:])


def test_items_near_every_request_are_damped_where_that_finds_the_catalogs_values():
    encode = HashingEmbedder(dim=512).encode
    _, measured = choose_forms(crowded(), encode)
    assert measured["movie"]["whole_r10"] < 0.2 and measured["movie"]["damped_r10"] > measured["movie"]["whole_r10"] + 0.3
    assert measured["movie"]["damped"] is True
    _, measured = choose_forms(crowded(hubs=0), encode)  # nothing crowds the carriers out: no damping
    assert measured["movie"]["damped"] is False


def test_the_content_model_takes_hubness_off_a_request_match_saved_and_for_new_items(tmp_path):
    records = crowded()
    data = InteractionData(["u1", "u2"], [records[0].item_id, records[1].item_id], items=records)
    ranker = make_ranker("content", embedder_obj=HashingEmbedder(dim=512), request_text="auto",
                         damping="auto").fit(data)
    index = ranker.catalog.item_index
    row = ranker.query_rows([WORDS[3]], 1)[0]
    top = {ranker.catalog.item_ids[i] for i in np.argsort(-row)[:5]}
    assert top == {f"f3-{k}" for k in range(5)}
    plain = make_ranker("content", embedder_obj=HashingEmbedder(dim=512), request_text="auto").fit(data)
    assert plain.hubness is None
    taken = plain.query_rows([WORDS[3]], 1)[0] - row  # the hubness taken off each item's match
    assert min(taken[index[f"h{k}"]] for k in range(24)) > max(taken[index[f"f{n}-0"]] for n in range(12)) > 0
    ranker.save(tmp_path / "content")
    loaded = load_model(tmp_path / "content", ranker.catalog)
    assert np.allclose(loaded.query_rows([WORDS[3]], 1), row[None, :])
    n_items = len(row)
    added = loaded.catalog.add_items([ItemRecord(item_id="new-hub", title="Omnibus new",
                                                 description=" ".join(WORDS[:6] + MOODS[:6]))])
    loaded.extend(added)
    assert loaded.hubness.shape == (n_items + 1,)
    assert loaded.hubness[-1] == pytest.approx(loaded.hubness[index["h0"]], abs=1e-5)
    with pytest.raises(ValueError, match="damping"):
        make_ranker("content", embedder_obj=HashingEmbedder(dim=512), damping="always")
