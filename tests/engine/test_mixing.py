"""The conversation mix: each source counts as much as the conversation and the data support it."""
from dataclasses import replace

import numpy as np
import pytest

from recommender.engine.likeness import KindIndex
from recommender.engine.mixing import ConversationMix, MixInputs, dialogue_share, mix_parts
from recommender.engine.types import ItemRecord


def inputs(named: int, share: float = 0.5, with_dialogues: bool = True) -> MixInputs:
    n = 4
    return MixInputs(hybrid=np.array([1.0, 0.5, 0.0, -0.5]), named=named, likeness=np.array([0.0, 1.0, 0.5, 0.0]),
                     log_popularity=np.array([1.0, 0.5, 0.2, 0.0]), popularity=np.array([1.0, 0.3, 0.1, 0.0]),
                     links=np.array([0.0, 0.0, 2.0, 0.0]) if with_dialogues else None,
                     together=np.zeros(n) if with_dialogues else None,
                     prior=np.array([0.0, 0.0, 0.0, 1.0]) if with_dialogues else None, share=share)


def test_the_dialogues_count_in_proportion_to_what_they_know_of_the_named_items():
    # An item the catalog's people rated 300 times and dialogues named 30 times is mostly the catalog's.
    talk = np.array([1.0, 0.0])
    assert dialogue_share(talk, np.array([30.0, 0.0]), np.array([300.0, 5.0])) == pytest.approx(30 / 330)
    assert dialogue_share(np.zeros(2), np.array([30.0, 0.0]), np.array([300.0, 5.0])) == 0.0
    weak, strong = mix_parts(ConversationMix(), inputs(2, share=0.1)), mix_parts(ConversationMix(), inputs(2, 0.9))
    assert strong["comention"][2] == pytest.approx(9 * weak["comention"][2])


def test_once_the_conversation_discusses_suggestions_the_dialogues_count_in_full():
    # A single request keeps the catalog's share; a conversation holding the assistant's suggestions is the
    # kind of exchange recorded dialogues learned from.
    mix = ConversationMix()
    single = mix_parts(mix, inputs(1, share=0.1))
    discussing = inputs(1, share=0.1)
    discussing.discussed = 2
    talked = mix_parts(mix, discussing)
    assert talked["comention"][2] == pytest.approx(single["comention"][2] * mix.share_in_discussion / 0.1)
    assert talked["likeness"][1] < single["likeness"][1]


def test_without_recorded_dialogues_an_exchange_keeps_the_catalogs_likeness():
    talked = inputs(1, share=0.0, with_dialogues=False)
    talked.discussed = 3
    assert mix_parts(ConversationMix(), talked)["likeness"][1] == pytest.approx(
        mix_parts(ConversationMix(), inputs(1, share=0.0, with_dialogues=False))["likeness"][1])


def test_the_dialogues_prior_leads_only_when_nothing_is_named():
    mix = ConversationMix()
    assert mix_parts(mix, inputs(0))["comention"][3] == pytest.approx(mix.prior_alone)
    assert mix_parts(mix, inputs(1))["comention"][3] == pytest.approx(mix.prior)
    assert mix.prior < 0.1 * mix.hybrid  # a tie-breaker once something is named


def test_one_named_item_asks_for_its_kind_and_damps_everyones_neighbours():
    parts = mix_parts(ConversationMix(), inputs(1, share=0.0))
    assert parts["likeness"][1] > 0 and parts["popularity"][0] < 0
    several = mix_parts(ConversationMix(), inputs(3, share=0.0))
    assert several["popularity"][0] > 0 and several["likeness"][1] < parts["likeness"][1]
    # Where recorded dialogues know the item better than the catalog, they speak instead of likeness.
    known = mix_parts(ConversationMix(), inputs(1, share=0.8))
    assert known["likeness"][1] == pytest.approx(0.2 * parts["likeness"][1])


def test_without_recorded_dialogues_the_mix_still_keeps_the_kind():
    parts = mix_parts(ConversationMix(), inputs(1, with_dialogues=False))
    assert not parts["comention"].any() and parts["likeness"].any()
    total = sum(parts.values())
    assert int(np.argmax(total)) in (0, 1)


def test_unknown_manifest_weights_are_ignored():
    mix = ConversationMix.from_manifest({"conversation_mix": {"links": 3.0, "gone": 1.0}})
    assert mix.links == 3.0


def test_likeness_is_the_jaccard_overlap_of_kind_values():
    records = [ItemRecord("a", "A", attributes={"genres": ["Action", "Sci-Fi"]}),
               ItemRecord("b", "B", attributes={"genres": ["Sci-Fi"]}),
               ItemRecord("c", "C", domain="product", attributes={"category": "dress"}),
               ItemRecord("d", "D", attributes={})]
    kinds = KindIndex(records)
    assert kinds.jaccard(0).tolist() == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert kinds.likeness([0, 1]).tolist() == pytest.approx([0.75, 0.75, 0.0, 0.0])
    assert kinds.closest(1, [0, 2]) == (0, "genres", ["Sci-Fi"])
    assert kinds.closest(3, [0]) is None


def test_a_screen_format_listed_among_genres_is_no_kind():
    records = [ItemRecord("a", "A", attributes={"genres": ["Sci-Fi", "IMAX"]}),
               ItemRecord("b", "B", attributes={"genres": ["Drama", "IMAX"]})]
    kinds = KindIndex(records)
    assert kinds.jaccard(0).tolist() == pytest.approx([1.0, 0.0])
    assert kinds.closest(1, [0]) is None


def test_something_like_several_items_is_ranked_by_likeness_as_one_item_is():
    # "Something like A and B" asks for likeness; "I love A, B and C, what else?" describes a taste.
    taste = mix_parts(ConversationMix(), inputs(2, share=0.0))
    asked = inputs(2, share=0.0)
    asked.alike = True
    alike = mix_parts(ConversationMix(), asked)
    one = mix_parts(ConversationMix(), inputs(1, share=0.0))
    assert alike["likeness"][1] == pytest.approx(one["likeness"][1])
    assert alike["likeness"][1] > taste["likeness"][1]
    assert alike["popularity"][0] < 0 < taste["popularity"][0]


def test_with_nothing_named_the_words_lead_and_the_priors_only_order_what_they_match():
    # Words of content and no kind asked for ("a film for a rainy Sunday"): the item the words match worst gets no
    # prior and no popularity, however popular; without words the priors rank as before.
    words = inputs(0)
    words.hybrid = np.array([0.2, 0.9, 0.5, 0.1])  # the words' match; item 3 is the prior's favourite
    words.links = np.zeros(4)  # nothing named: nothing co-mentioned
    words.worded = True
    led = mix_parts(ConversationMix(), words)
    assert led["comention"][3] == 0.0 and led["popularity"][3] == 0.0
    assert int(np.argmax(sum(led.values()))) == 1
    words.worded = False
    plain = mix_parts(ConversationMix(), words)
    assert plain["comention"][3] == pytest.approx(ConversationMix().prior_alone)


def test_kinds_refused_softly_lower_the_items_carrying_them_without_removing_them():
    kinds = KindIndex([ItemRecord("a", "A", attributes={"genres": ["Action", "Crime"]}),
                       ItemRecord("b", "B", attributes={"genres": ["Action"]}),
                       ItemRecord("c", "C", attributes={"genres": ["Crime", "Thriller"]}),
                       ItemRecord("d", "D", attributes={"genres": ["Comedy"]})])
    share = kinds.carrying({"genres": ["crime", "Thriller"], "tags": ["dark"]})  # tags are not kinds
    assert share.tolist() == [0.5, 0.0, 1.0, 0.0]
    plain = inputs(1)
    leaning = inputs(1)
    leaning.leaned_away = np.array([0.5, 0.0, 1.0, 0.0])
    before, after = sum(mix_parts(ConversationMix(), plain).values()), sum(mix_parts(ConversationMix(), leaning).values())
    assert after[1] == pytest.approx(before[1]) and after[3] == pytest.approx(before[3])
    assert after[0] < before[0] and before[2] - after[2] == pytest.approx(ConversationMix().lean_away)
    assert np.isfinite(after).all()


def test_an_exchange_asking_for_items_like_the_named_one_keeps_its_kind_once_suggestions_are_discussed():
    # "Any others?" after "something like X": the dialogues count in full, and the list still leans to X's kind.
    mix = ConversationMix()
    asked = inputs(1, share=0.1)
    asked.discussed, asked.alike = 5, True
    single = inputs(1, share=0.1)
    single.alike = True
    assert mix.catalog_in_discussion > 0
    assert mix_parts(mix, asked)["likeness"][1] == pytest.approx(mix.catalog_in_discussion * mix.likeness_one)
    assert mix_parts(mix, asked)["likeness"][1] > mix_parts(replace(mix, catalog_in_discussion=0.0), asked)["likeness"][1]
    assert mix_parts(mix, asked)["comention"][2] > mix_parts(mix, single)["comention"][2]


def test_once_suggestions_are_discussed_the_prior_and_the_borrowed_popularity_take_their_own_weights():
    mix = ConversationMix(prior=0.02, prior_discussed=0.7, popularity_several=1.2, popularity_discussed=0.4)
    talked = inputs(3)
    talked.discussed = 4
    assert mix_parts(mix, talked)["comention"][3] == pytest.approx(0.7)
    assert mix_parts(mix, inputs(3))["comention"][3] == pytest.approx(0.02)
    assert mix_parts(mix, talked)["popularity"][0] == pytest.approx(0.4)
    assert mix_parts(mix, inputs(3))["popularity"][0] == pytest.approx(1.2)
    unset = replace(mix, prior_discussed=None, popularity_discussed=None)
    assert mix_parts(unset, talked)["comention"][3] == pytest.approx(0.02)
