"""The co-mention ranker: fitted on a tiny hand-made set of dialogues."""
from __future__ import annotations

import numpy as np
import pytest

from recommender.engine.catalog import Catalog
from recommender.engine.dialogues import (
    Dialogue,
    DialogueTurn,
    MovieAnswer,
    suggestion_turns,
)
from recommender.engine.rankers.comention import CoMentionRanker
from recommender.engine.types import ItemRecord, Profile

IDS = ["matrix", "dark_city", "notebook", "titanic", "alien", "heat"]


def tiny_catalog() -> Catalog:
    import scipy.sparse as sp

    records = [ItemRecord(item_id=i, title=i.replace("_", " ").title()) for i in IDS]
    return Catalog(records, [], sp.csr_matrix((0, len(IDS))))


def dialogue(cid: str, turns: list[tuple[str, list[str]]], liked: dict[str, bool] | None = None) -> Dialogue:
    return Dialogue(conversation_id=cid, turns=[DialogueTurn(role=r, text=" ".join(m), mentions=m) for r, m in turns],
                    movies={i: i for _, m in turns for i in m},
                    seeker_answers={k: MovieAnswer(liked=v) for k, v in (liked or {}).items()})


DIALOGUES = [
    dialogue("1", [("user", ["matrix"]), ("assistant", ["dark_city"]), ("user", []), ("assistant", ["alien"])]),
    dialogue("2", [("user", ["matrix"]), ("assistant", ["dark_city"])]),
    dialogue("3", [("user", ["notebook"]), ("assistant", ["titanic"])], liked={"notebook": True}),
    dialogue("4", [("user", ["heat"]), ("assistant", ["titanic"])]),
]


def pairs():
    out = []
    for d in DIALOGUES:
        out += [(t.context, t.suggested) for t in suggestion_turns(d, {i: i for i in IDS})]
    return out


@pytest.fixture
def ranker() -> CoMentionRanker:
    return CoMentionRanker(shrink=1.0, prior_weight=0.1).fit_pairs(pairs(), tiny_catalog())


def test_suggestion_turns_carry_earlier_mentions_with_the_seekers_liking():
    turns = suggestion_turns(DIALOGUES[0], {i: i for i in IDS})
    assert [(t.context, t.suggested) for t in turns] == [({"matrix": 1.0}, ["dark_city"]),
                                                         ({"matrix": 1.0, "dark_city": 1.0}, ["alien"])]
    assert suggestion_turns(DIALOGUES[2], {i: i for i in IDS})[0].context == {"notebook": 1.5}


def test_the_item_suggested_after_a_mention_scores_highest(ranker):
    recs = ranker.recommend(profile=Profile(liked=["matrix"]), n=3)
    assert recs[0].item_id == "dark_city"
    assert "matrix" not in [r.item_id for r in recs]
    assert ranker.recommend(profile=Profile(liked=["notebook"]), n=1)[0].item_id == "titanic"


def test_prior_counts_suggestions_and_ranks_an_empty_profile(ranker):
    assert ranker.counts[ranker.catalog.item_index["titanic"]] == 2
    assert ranker.recommend(profile=Profile(), n=2)[0].item_id in {"titanic", "dark_city"}
    assert ranker.n_pairs == 5


def test_shrinkage_and_normalisation(ranker):
    S = ranker.S.toarray()
    m, dc, al = (ranker.catalog.item_index[k] for k in ("matrix", "dark_city", "alien"))
    # matrix preceded dark_city twice and alien once: row sum 3, shrink 1.
    assert S[m, dc] == pytest.approx(2 / 4) and S[m, al] == pytest.approx(1 / 4)


def test_explanation_parts_sum_to_the_score(ranker):
    profile = Profile(liked=["matrix"], history={"heat": 0.5})
    scores = ranker.scores(profile=profile)
    idx = ranker.catalog.item_index["dark_city"]
    parts = ranker.item_parts(ranker.catalog.profile_vector(profile=profile), np.array([idx]))
    assert float(parts.totals()[0]) == pytest.approx(float(scores[idx]))
    evidence = ranker.explain("dark_city", profile=profile)
    assert evidence[0].kind == "liked_item" and evidence[0].item_id == "matrix"


def test_save_load_round_trip(ranker, tmp_path):
    ranker.save(tmp_path / "m")
    loaded = CoMentionRanker.load(tmp_path / "m")
    profile = Profile(liked=["matrix", "heat"])
    np.testing.assert_allclose(loaded.scores(profile=profile), ranker.scores(profile=profile))
    assert loaded.n_pairs == ranker.n_pairs and loaded.params == ranker.params


def test_fit_from_interaction_histories(data):
    # Without dialogues it learns from each user's sequence: what followed what.
    ranker = CoMentionRanker().fit(data)
    assert ranker.S.shape == (data.n_items, data.n_items) and ranker.n_pairs > 0
    recs = ranker.recommend(user_key="u0", n=5)
    assert len(recs) == 5


def test_conversation_ease_learns_which_items_come_up_together(ranker, tmp_path):
    import scipy.sparse as sp

    no_ratings = sp.csr_matrix((0, len(IDS)), dtype=np.float32)
    ranker.fit_conversation_ease(pairs(), no_ratings, l2=1.0, min_count=1)
    index = ranker.catalog.item_index
    together = ranker.conversation_ease(sp.csr_matrix(([1.0], ([0], [index["matrix"]])), shape=(1, len(IDS))))[0]
    # The Matrix came up with Dark City (twice) and Alien, never with Titanic or The Notebook.
    assert together[index["dark_city"]] > together[index["alien"]] > 0
    assert together[index["titanic"]] <= 0 and together[index["notebook"]] <= 0
    ranker.save(tmp_path / "m")
    loaded = CoMentionRanker.load(tmp_path / "m")
    assert (loaded.E != ranker.E).nnz == 0
    assert CoMentionRanker(shrink=1.0).fit_pairs(pairs(), tiny_catalog()).conversation_ease(sp.csr_matrix((1, 6))) is None
