"""The real rankers on tiny synthetic data: explanations cite only items from the user's own history."""
import numpy as np

from recommender.engine.catalog import Catalog
from recommender.engine.data import InteractionData
from recommender.engine.explain import catalog_index, check_explanation, evidence_coverage, explain_text
from recommender.engine.rankers import ContentRanker, EASERanker, HybridRanker, PopularityRanker
from recommender.engine.types import ItemRecord, Profile, ScoredItem

GENRES = ["Crime", "Comedy", "Drama", "Horror"]
TITLES = ["Night Harbor", "Glass Orchard", "Silent Engine", "Paper Moon Road", "Copper Lantern", "Winter Ledger",
          "Hollow Bell", "Quiet Meridian", "Amber Signal", "Rust Kingdom", "Velvet Static", "Iron Lullaby"]


def _data() -> InteractionData:
    items = [ItemRecord(str(i), f"{t} ({1990 + i})", attributes={"genres": [GENRES[i % 4]], "year": 1990 + i},
                        description=f"A {GENRES[i % 4].lower()} story.")
             for i, t in enumerate(TITLES)]
    rng = np.random.default_rng(0)
    users, keys = [], []
    for u in range(30):
        # Each user mostly watches one genre, so item-item weights are meaningful.
        home = u % 4
        pool = [i for i in range(len(TITLES)) if i % 4 == home]
        others = [i for i in range(len(TITLES)) if i % 4 != home]
        chosen = list(rng.choice(pool, size=2, replace=False)) + list(rng.choice(others, size=2, replace=False))
        for i in chosen:
            users.append(str(u))
            keys.append(str(i))
    return InteractionData(users, keys, items=items)


def test_engine_explanations_cite_only_the_users_history():
    data = _data()
    catalog = Catalog.from_data(data)
    hybrid = HybridRanker(weights={"ease": 1.0, "popularity": 0.2, "content": 0.3}).with_components({
        "ease": EASERanker(l2=1.0),
        "popularity": PopularityRanker(),
        "content": ContentRanker(embedder={"kind": "hashing", "dim": 64}),
    }).fit(data, catalog)
    index = catalog_index(catalog)
    checked = 0
    for user in ["0", "1", "2", "3", "7"]:
        history = {catalog.item_ids[j] for j in np.flatnonzero(catalog.profile_vector(user))}
        for scored in hybrid.recommend(user, n=3):
            item = catalog.records[catalog.item_index[scored.item_id]]
            evidence = hybrid.explain(scored.item_id, user)
            assert evidence, "the hybrid must say why it ranked the item"
            for language in ("en", "zh"):
                text = explain_text(item, evidence, language=language)
                named = set().union(*[h.item_ids for h in index.matcher.find(text)]) if text else set()
                assert named <= history | {item.item_id}, (text, named - history)
                assert check_explanation(text, item, evidence, catalog, language=language) == []
            coverage = evidence_coverage(ScoredItem(scored.item_id, scored.score, evidence=evidence))
            assert 0.0 < coverage <= 1.0
            checked += 1
    assert checked == 15


def test_an_ad_hoc_profile_is_explained_by_its_own_likes():
    data = _data()
    ease = EASERanker(l2=1.0).fit(data)
    liked = ["0", "4"]
    top = ease.recommend(profile=Profile(liked=liked), n=1)[0]
    item = ease.catalog.records[ease.catalog.item_index[top.item_id]]
    evidence = ease.explain(top.item_id, profile=Profile(liked=liked))
    text = explain_text(item, evidence, language="en")
    assert text.startswith("Because you liked ")
    cited = {e.item_id for e in evidence if e.kind == "liked_item" and e.weight > 0}
    assert cited and cited <= set(liked)
