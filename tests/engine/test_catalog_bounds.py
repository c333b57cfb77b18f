"""The catalog's constraint masks are cached only for attributes items carry, and only so many of them."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.engine import catalog as catalog_module
from recommender.engine.catalog import Catalog
from recommender.engine.types import Constraints, ItemRecord


def make_catalog(n_attributes: int = 3) -> Catalog:
    records = [ItemRecord(item_id=str(i), title=f"item {i}",
                          attributes={"year": 1990 + i, "genres": ["a" if i % 2 else "b"],
                                      **{f"n{j}": i * j for j in range(n_attributes)}})
               for i in range(10)]
    return Catalog(records, [], sp.csr_matrix((0, len(records)), dtype=np.float32))


def test_filters_on_invented_names_match_nothing_and_are_not_cached():
    catalog = make_catalog()
    for i in range(500):
        mask = catalog.constraint_mask(Constraints(ranges={f"new{i}": (1.0, None)}, include={f"other{i}": ["x"]}))
        assert mask is not None and not mask.any()
    assert not catalog._range_cache and not catalog._attr_cache


def test_known_attributes_filter_and_are_cached():
    catalog = make_catalog()
    mask = catalog.constraint_mask(Constraints(ranges={"year": (1992.0, 1994.0)}, include={"genres": ["A"]}))
    assert np.flatnonzero(mask).tolist() == [3]
    assert set(catalog._range_cache) == {"year"} and set(catalog._attr_cache) == {"genres"}


def test_the_mask_cache_keeps_the_most_recently_used_attributes(monkeypatch):
    monkeypatch.setattr(catalog_module, "MAX_CACHED_ATTRIBUTES", 4)
    catalog = make_catalog(n_attributes=10)
    for j in range(10):
        assert catalog.constraint_mask(Constraints(ranges={f"n{j}": (0.0, None)})).all()
    assert list(catalog._range_cache) == ["n6", "n7", "n8", "n9"]


def test_new_items_bring_their_attribute_names():
    catalog = make_catalog()
    assert "colour" not in catalog.attribute_names
    catalog.add_items([ItemRecord(item_id="new", title="new", attributes={"colour": "red"})])
    mask = catalog.constraint_mask(Constraints(include={"colour": ["red"]}))
    assert np.flatnonzero(mask).tolist() == [10]
