"""Small synthetic catalogs for the engine tests (made here, no external data)."""
from __future__ import annotations

import numpy as np
import pytest

from recommender.engine.data import InteractionData
from recommender.engine.embedding import HashingEmbedder
from recommender.engine.types import ItemRecord

CLUSTERS = [("Sci-Fi", "space rocket alien galaxy"), ("Romance", "love wedding heart kiss"),
            ("Horror", "ghost haunted blood scream")]
COLD_ID = "cold"
COLD_TEXT = "quantum submarine odyssey beneath arctic ice"

# A quick EASE + popularity version for the conversation tests (no tuning, no rating model).
GROUPED_CONFIG = {"components": {"ease": {"l2": 10.0}, "popularity": {}}, "tune": {}, "rating": None}


def grouped_bundle(out_dir, records: dict[str, ItemRecord], groups: list[list[str]]):
    """Return a trained, loaded version where six people per group liked the group's first two or three items, so
    each group's items are one another's neighbours."""
    from recommender.engine.serving import RecommenderBundle
    from recommender.engine.training import train_bundle

    users, items = [], []
    for g, group in enumerate(groups):
        for u in range(6):
            for item in group[: 2 + u % 2]:
                users.append(f"g{g}-{u}")
                items.append(item)
    train_bundle(InteractionData(users, items, items=list(records.values())), out_dir, config=GROUPED_CONFIG)
    return RecommenderBundle.load(out_dir, reuse=False)


# Small training configs for the dense components and for their scalable replacements (training.DEFAULT_CONFIG).
SMALL = {"ease": {"l2": 5.0}, "ease_liked": {"l2": 5.0}, "itemknn": {"k": 10}, "rp3beta": {"k": 10},
         "mf": {"factors": 8, "epochs": 3, "lr": 0.02, "batch_size": 16}, "popularity": {}, "content": {}}
SCALABLE = {"ease": {"ranker": "ease_head", "l2": 5.0, "head": 20, "k": 10},
            "ease_liked": {"ranker": "ease_liked_head", "l2": 5.0, "head": 20, "k": 10},
            "itemknn": {"ranker": "itemknn_sparse", "k": 10}, "rp3beta": {"ranker": "rp3beta_sparse", "k": 10},
            "mf": {"ranker": "als", "factors": 8, "iterations": 3}}


def make_items() -> list[ItemRecord]:
    items = []
    for c, (genre, words) in enumerate(CLUSTERS):
        for k in range(12):
            i = c * 12 + k
            items.append(ItemRecord(
                item_id=f"i{i}", title=f"{genre} Film {i}", domain="book" if i % 10 == 9 else "movie",
                description=f"A story of {words}", attributes={"genres": [genre, "Drama"] if k % 3 == 0 else [genre],
                                                                "year": 1970 + i}))
    items.append(ItemRecord(item_id=COLD_ID, title="Quantum Submarine Odyssey", description=COLD_TEXT,
                            attributes={"genres": ["Adventure"], "year": 2015}))
    return items


def make_data(seed: int = 0) -> InteractionData:
    rng = np.random.default_rng(seed)
    users, items, values = [], [], []
    for u in range(30):
        cluster = u % 3
        own = rng.choice(12, size=7, replace=False) + cluster * 12
        other = rng.choice([i for i in range(36) if i // 12 != cluster], size=1)
        for i in own:
            users.append(f"u{u}"), items.append(f"i{i}"), values.append(float(rng.integers(4, 6)))
        for i in other:
            users.append(f"u{u}"), items.append(f"i{i}"), values.append(2.0)
    return InteractionData(users, items, values, items=make_items())


@pytest.fixture(scope="session")
def data() -> InteractionData:
    return make_data()


@pytest.fixture(scope="session")
def embedder() -> HashingEmbedder:
    return HashingEmbedder(dim=128)
