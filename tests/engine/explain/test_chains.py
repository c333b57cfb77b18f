"""Explanations as chains: the catalog's knowledge graph, chains from evidence, their text, check and drawing."""

from __future__ import annotations

from recommender.engine.explain import check_explanation, explain_text
from recommender.engine.explain.chains import attach_chain, chain_view
from recommender.engine.knowledge import KnowledgeGraph, chain_of, chain_problems, hops, sequel_base
from recommender.engine.types import Evidence, ItemRecord


def _film(item_id, title, genres, year, tags=(), aliases=()):
    attrs = {"genres": list(genres), "year": year}
    if tags:
        attrs["tags"] = list(tags)
    return ItemRecord(item_id, title, aliases=tuple(aliases), attributes=attrs)


RECORDS = [
    _film("1", "Alien (1979)", ["Horror", "Sci-Fi"], 1979, ["space", "Ridley Scott"], ["异形"]),
    _film("2", "Aliens (1986)", ["Action", "Sci-Fi"], 1986, ["space"], ["异形2"]),
    _film("3", "Blade Runner (1982)", ["Sci-Fi", "Thriller"], 1982, ["Ridley Scott", "dystopia"], ["银翼杀手"]),
    _film("4", "Toy Story (1995)", ["Animation", "Comedy"], 1995, [], ["玩具总动员"]),
    _film("5", "Toy Story 2 (1999)", ["Animation", "Comedy"], 1999, [], ["玩具总动员2"]),
    _film("6", "Heat (1995)", ["Action", "Crime"], 1995, ["heist"]),
    _film("7", "Psycho (1960)", ["Horror"], 1960),
    _film("8", "Psycho (1998)", ["Horror"], 1998),
    _film("9", "Fargo (1996)", ["Crime", "Drama"], 1996, ["heist"], ["冰血暴"]),
    _film("10", "Casablanca (1942)", ["Drama", "Romance"], 1942),
]
BY_ID = {r.item_id: r for r in RECORDS}


def liked(item_id, weight=0.5):
    return Evidence(kind="liked_item", weight=weight, item_id=item_id, title=BY_ID[item_id].title)


def test_graph_holds_series_by_title_but_never_remakes_or_plurals():
    graph = KnowledgeGraph.build(RECORDS)
    assert graph.has_edge("4", "series", "movie:toy story") and graph.has_edge("5", "series", "movie:toy story")
    assert not any(e.relation == "series" and "7" in e.items for e in graph.entities.values())  # Psycho remake
    assert not any(e.relation == "series" and "1" in e.items for e in graph.entities.values())  # Alien -> Aliens
    assert graph.has_edge("1", "tag", "ridley scott") and graph.has_edge("3", "tag", "Ridley Scott")
    assert not graph.has_edge("6", "tag", "space")
    assert sequel_base("the godfather: part ii") == ("the godfather", 2)
    assert sequel_base("rocky iii") == ("rocky", 3)


def test_chain_starts_at_the_liked_item_and_takes_the_most_telling_shared_entity():
    graph = KnowledgeGraph.build(RECORDS)
    evidence = [liked("6", 0.6), liked("1", 0.3)]
    facts = attach_chain(graph, "3", evidence)
    chain = chain_of(facts)
    assert chain is not None and chain["from"] == "1"  # Heat shares nothing with Blade Runner
    assert chain["via"][0] == {"relation": "tag", "key": "ridley scott", "label": "Ridley Scott"}
    assert hops(chain) == 2
    assert chain_problems(chain, "3", evidence + facts, graph) == []


def test_series_outranks_shared_genres_and_text_says_it_in_both_languages():
    graph = KnowledgeGraph.build(RECORDS)
    evidence = [liked("4")]
    evidence += attach_chain(graph, "5", evidence)
    for language in ("en", "zh"):
        text = explain_text(
            BY_ID["5"],
            evidence,
            language=language,
            catalog_titles={"4": "Toy Story (1995)" if language == "en" else "玩具总动员"},
        )
        assert check_explanation(text, BY_ID["5"], evidence, RECORDS, language=language) == []
        assert ("same series" in text) if language == "en" else ("同一系列" in text)
    assert "Toy Story (1995)" in explain_text(BY_ID["5"], evidence, language="en")


def test_a_tag_that_reads_as_a_name_passes_and_an_invented_hop_fails():
    graph = KnowledgeGraph.build(RECORDS)
    evidence = [liked("1")]
    evidence += attach_chain(graph, "3", evidence)
    text = explain_text(BY_ID["3"], evidence, language="en")
    assert "Alien (1979)" in text and "Ridley Scott" in text and text.count("Alien") == 1
    assert check_explanation(text, BY_ID["3"], evidence, RECORDS, language="en") == []
    forged = [e for e in evidence if e.kind != "chain"] + [
        Evidence(
            kind="chain",
            weight=0.0,
            value={
                "item": "3",
                "from": "1",
                "from_kind": "liked_item",
                "friends": [],
                "via": [{"relation": "tag", "key": "heist", "label": "heist"}],
            },
        )
    ]
    problems = check_explanation(text, BY_ID["3"], forged, RECORDS, language="en")
    assert any(p.startswith("hop not in the graph") for p in problems)


def test_friends_are_said_and_drawn_only_when_given():
    graph = KnowledgeGraph.build(RECORDS)
    evidence = [liked("6")]
    evidence += attach_chain(graph, "9", evidence, friends={"9": ["Lea"]})
    text = explain_text(BY_ID["9"], evidence, language="en")
    assert "your friend Lea liked it" in text
    assert check_explanation(text, BY_ID["9"], evidence, RECORDS, language="en") == []
    view = chain_view(evidence, BY_ID, "en")
    assert ["person:Lea", "liked by your friend", "item:9"] in view["paths"]
    assert chain_problems(chain_of(evidence), "9", [e for e in evidence if e.kind != "friend_liked"], graph) == [
        "friend not in the evidence: Lea"
    ]


def test_the_drawing_has_nodes_and_labelled_links_in_the_readers_language():
    graph = KnowledgeGraph.build(RECORDS)
    evidence = [liked("6")]
    evidence += attach_chain(graph, "9", evidence)
    en = chain_view([e.to_dict() for e in evidence], BY_ID, "en")
    assert en["paths"][0] == ["item:6", "tagged", "tag:heist", "tagged", "item:9"]
    assert en["hops"] == 2 and "Heat (1995) → tagged → heist" in en["summary"]
    zh = chain_view(evidence, BY_ID, "zh")
    # "heist" has no Chinese name: the Chinese drawing goes through what reads in Chinese.
    assert all(node["label"] != "heist" for node in zh["nodes"])
    assert {node["label"] for node in zh["nodes"]} >= {"冰血暴", "犯罪"}
    assert chain_view([liked("6")], BY_ID, "en") is None


def test_served_evidence_carries_a_chain_that_passes_the_checker():
    from recommender.engine.data import InteractionData
    from recommender.engine.serving import RecommenderBundle
    from recommender.engine.training import build_hybrid, merged_config
    from recommender.engine.types import Profile

    groups = [["1", "2", "3"], ["4", "5"], ["6", "9"]]
    users, items = [], []
    for g, group in enumerate(groups):
        for u in range(5):
            for item_id in group:
                users.append(f"g{g}-{u}")
                items.append(item_id)
    config = merged_config({"components": {"ease": {"l2": 10.0}, "popularity": {}}, "tune": {}})
    hybrid = build_hybrid(config).fit(InteractionData(users, items, items=RECORDS))
    bundle = RecommenderBundle(hybrid)
    picks = bundle.recommend(profile=Profile(liked=["4"]), n=3)
    toy = next(s for s in picks if s.item_id == "5")
    chain = chain_of(toy.evidence)
    assert chain is not None and chain["from"] == "4" and chain["via"][0]["relation"] == "series"
    text = explain_text(BY_ID["5"], toy.evidence, language="en")
    assert check_explanation(text, BY_ID["5"], toy.evidence, RECORDS, language="en") == []
    assert "same series" in text


def test_what_the_chain_says_is_not_said_again_by_the_likeness_clause():
    graph = KnowledgeGraph.build(RECORDS)
    same = Evidence(
        kind="same_kind", weight=0.3, item_id="1", title="Alien (1979)", attribute="genres", value=["Sci-Fi"]
    )
    evidence = [liked("1", 0.6), same]
    evidence += attach_chain(graph, "3", evidence)
    text = explain_text(BY_ID["3"], evidence, language="en")
    assert text.count("Sci-Fi") == 1 and "Ridley Scott" in text
    assert check_explanation(text, BY_ID["3"], evidence, RECORDS, language="en") == []


def test_a_malformed_stored_chain_draws_nothing_rather_than_failing():
    assert chain_view([{"kind": "chain", "value": "not a chain"}, {"kind": "liked_item"}], BY_ID, "en") is None
    broken = {"kind": "chain", "weight": 0.0, "value": {"item": "9", "from": "6", "via": [{"relation": "tag"}]}}
    assert chain_view([broken], BY_ID, "en") is None  # no entity it could draw, no friend


def test_a_text_likeness_too_weak_for_a_neighbour_is_not_called_similar():
    """A chain that starts from weak text likeness says the items connect, and the checker passes it; a strong
    one may say "similar"."""
    from recommender.engine.explain.cited import NEIGHBOUR_SIMILARITY

    graph = KnowledgeGraph.build(RECORDS)
    for value, similar in ((NEIGHBOUR_SIMILARITY / 2, False), (min(1.0, NEIGHBOUR_SIMILARITY * 1.5), True)):
        weak = Evidence(kind="content_similarity", weight=0.3, item_id="1", title=BY_ID["1"].title, value=value,
                        detail="similar text to an item you liked")
        evidence = [weak] + attach_chain(graph, "3", [weak])
        for language, word in (("en", "similar"), ("zh", "相似")):
            text = explain_text(BY_ID["3"], evidence, language=language,
                                catalog_titles={"1": "Alien (1979)" if language == "en" else "异形"})
            assert (word in text) == similar, text
            assert check_explanation(text, BY_ID["3"], evidence, RECORDS, language=language) == [], text
