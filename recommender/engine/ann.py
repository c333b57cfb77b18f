"""Approximate nearest neighbours over item embeddings, for catalogs too large to compare every item.

An exact similarity of one vector to every item reads the whole embedding matrix (200k items x 384
dimensions is 300 MB per request); a faiss HNSW graph over 8-bit scalar-quantised embeddings finds a
vector's nearest items by visiting a few thousand. Catalogs with at most ANN_MIN_ITEMS items keep exact
dot products; `uses_ann` is the one place that decides.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# Catalogs with more items than this search the index; at or below it every item is compared exactly.
# Measured per query on one loaded core (python -m benchmarks.scale): exact 8.9 / 14.9 / 40.7 CPU ms at
# 10k / 17.6k / 50k items against 1.2-1.7 ms for the index, whose top 10 matched the exact top 10 (recall 1.0);
# a request with text makes two such passes within a 30 ms budget.
ANN_MIN_ITEMS = 20_000
# Graph degree and build breadth: recall@10 above 0.95 on the seeded test set, build ~2 min for 200k items.
HNSW_LINKS = 32
HNSW_BUILD_BREADTH = 80


def uses_ann(n_items: int, min_items: int | None = ANN_MIN_ITEMS) -> bool:
    """Return whether a catalog of n_items searches an ANN index (more than min_items; None: never)."""
    return min_items is not None and n_items > int(min_items)


class NearestItems:
    """Inner-product HNSW index over unit item embeddings (faiss), searched for candidates only.

    The index returns candidate items; callers score them exactly against the embeddings they hold.
    """

    FILE = "ann.faiss"

    def __init__(self, index) -> None:
        self.index = index

    @classmethod
    def build(cls, E: np.ndarray) -> NearestItems:
        import faiss

        index: Any = faiss.index_factory(E.shape[1], f"HNSW{HNSW_LINKS},SQ8", faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_BUILD_BREADTH
        vectors = np.ascontiguousarray(E, dtype=np.float32)
        index.train(vectors)
        index.add(vectors)
        return cls(index)

    @property
    def size(self) -> int:
        """How many items the index holds (the first `size` rows of the embeddings it was built from)."""
        return int(self.index.ntotal)

    def search(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Return, per query row, the indices of up to k nearest items (padded with -1)."""
        k = min(int(k), self.size)
        self.index.hnsw.efSearch = max(k, 64)  # the search breadth bounds how many neighbours come back
        _, found = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return found

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path / self.FILE))

    @classmethod
    def load(cls, path: Path) -> NearestItems | None:
        """Return the index saved under path (its codes memory-mapped), or None where none was saved."""
        import faiss

        file = path / cls.FILE
        if not file.exists():
            return None
        return cls(faiss.read_index(str(file), faiss.IO_FLAG_MMAP_IFC))
