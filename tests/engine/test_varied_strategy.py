"""The diversity arm: maximal marginal relevance over the items' kinds (genres / category)."""

from __future__ import annotations

from recommender.engine import bandit
from recommender.engine.types import ItemRecord, ScoredItem

# Twelve dramas score best, then one film each of other genres: the plain order is all drama at the top.
GENRES = [["Drama"]] * 12 + [["Comedy"], ["Horror"], ["Sci-Fi"], ["Western"], ["Animation"], ["Musical"]]


def pool() -> tuple[list[ScoredItem], dict[str, ItemRecord]]:
    records = {
        str(i): ItemRecord(item_id=str(i), title=f"film {i}", attributes={"genres": g}) for i, g in enumerate(GENRES)
    }
    scored = [
        ScoredItem(item_id=str(i), score=1.0 - i / 100, sources={"ease": 1.0 - i / 100}) for i in range(len(GENRES))
    ]
    return scored, records


def distinct_genres(items: list[ScoredItem], records: dict[str, ItemRecord]) -> int:
    return len({g for s in items for g in records[s.item_id].attributes["genres"]})


def test_the_varied_list_holds_more_kinds_keeps_the_top_item_and_adds_nothing():
    scored, records = pool()
    plain = bandit.apply_strategy(pool()[0], "balanced", 10)
    varied = bandit.apply_strategy(scored, bandit.VARIED, 10, records=records)
    assert distinct_genres(plain, records) == 1
    assert distinct_genres(varied, records) > distinct_genres(plain, records)
    assert varied[0].item_id == plain[0].item_id == "0"
    ids = [s.item_id for s in varied]
    assert len(ids) == 10 == len(set(ids)) and set(ids) <= {s.item_id for s in scored}


def test_relevance_still_counts_and_items_without_kinds_are_kept_in_score_order():
    scored, records = pool()
    varied = [s.item_id for s in bandit.diversify(scored, records, 10)]
    # the dramas that make the list come in their score order
    dramas = [int(i) for i in varied if int(i) < 12]
    assert dramas == sorted(dramas) and len(dramas) >= 2
    unknown = [ScoredItem(item_id=f"x{i}", score=1.0 - i / 10) for i in range(5)]
    assert [s.item_id for s in bandit.diversify(unknown, {}, 3)] == ["x0", "x1", "x2"]
    assert bandit.diversify(unknown[:1], {}, 3) == unknown[:1]


def test_without_records_varied_ranks_as_balanced():
    scored, _ = pool()
    assert [s.item_id for s in bandit.apply_strategy(scored, bandit.VARIED, 5)] == ["0", "1", "2", "3", "4"]


def test_the_llm_rerank_arm_is_offered_only_when_available():
    assert bandit.LLM_RERANK not in bandit.offered_arms(llm_rerank=False)
    assert bandit.offered_arms(llm_rerank=True) == [*bandit.STRATEGIES, bandit.LLM_RERANK]
    assert bandit.reranks(bandit.LLM_RERANK) and not bandit.reranks(bandit.VARIED)
    assert bandit.LLM_RERANK not in bandit.STRATEGIES  # the context-free arms and the simulator use strategies only
