"""Likeness: how much of what kind of item one item is another shares (the overlap of their kind attributes)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .rules import KIND_ATTRIBUTES, NOT_A_KIND
from .types import ItemRecord


def kind_values(record: ItemRecord) -> list[tuple[str, str]]:
    """Return the item's kind values, (attribute, value) over rules.KIND_ATTRIBUTES, case-folded, no repeats."""
    out = []
    for attribute in KIND_ATTRIBUTES:
        raw = record.attributes.get(attribute)
        values = raw if isinstance(raw, (list, tuple)) else [raw] if raw else []
        out += [(attribute, str(v).strip().casefold()) for v in values
                if str(v).strip() and str(v).strip().casefold() not in NOT_A_KIND]
    return list(dict.fromkeys(out))


class KindIndex:
    """Each item's kind values (attribute, value) as a sparse binary matrix, for Jaccard overlaps."""

    def __init__(self, records: Sequence[ItemRecord]) -> None:
        vocabulary: dict[tuple[str, str], int] = {}
        rows, cols, self.labels = [], [], []
        for r, record in enumerate(records):
            for key in kind_values(record):
                if key not in vocabulary:
                    vocabulary[key] = len(vocabulary)
                    self.labels.append(key)
                rows.append(r)
                cols.append(vocabulary[key])
        self.n_items = len(records)
        self.values = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                                    shape=(self.n_items, max(len(vocabulary), 1)))
        self.sizes = np.asarray(self.values.sum(axis=1), dtype=np.float64).ravel()
        self._names = [record.attributes for record in records]  # the catalog's own spelling of each value

    def jaccard(self, item: int) -> np.ndarray:
        """Return every item's Jaccard overlap of kind values with item (0 where either has none)."""
        shared = np.asarray((self.values @ self.values[item].T).todense(), dtype=np.float64).ravel()
        union = self.sizes + self.sizes[item] - shared
        return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)

    def likeness(self, named: Sequence[int], weights: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """Return every item's weighted mean Jaccard overlap with the named items (zeros when none are named)."""
        out = np.zeros(self.n_items, dtype=np.float64)
        if not len(named):
            return out
        w = np.ones(len(named)) if weights is None else np.abs(np.asarray(weights, dtype=np.float64))
        for item, weight in zip(named, w):
            out += weight * self.jaccard(int(item))
        total = float(w.sum())
        return out / total if total > 0 else out

    def carrying(self, wanted: dict[str, list]) -> np.ndarray:
        """Return each item's share of the given kind values ({attribute: values}) that it carries (0 to 1)."""
        keys = {(a, str(v).strip().casefold()) for a, vs in wanted.items() if a in KIND_ATTRIBUTES for v in vs}
        cols = [c for c, label in enumerate(self.labels) if label in keys]
        if not keys or not cols:
            return np.zeros(self.n_items, dtype=np.float64)
        return np.asarray(self.values[:, cols].sum(axis=1), dtype=np.float64).ravel() / len(keys)

    def closest(self, item: int, named: Sequence[int]) -> tuple[int, str, list[str]] | None:
        """Return (named item, attribute, the values they share) for the named item sharing most with item."""
        best, best_overlap = None, 0.0
        for other in named:
            overlap = float(self.values[item].multiply(self.values[int(other)]).sum())
            if overlap > best_overlap:
                best, best_overlap = int(other), overlap
        if best is None:
            return None
        shared_cols = sorted(set(self.values[item].indices) & set(self.values[best].indices))
        attribute = self.labels[shared_cols[0]][0]
        wanted = {self.labels[c][1] for c in shared_cols if self.labels[c][0] == attribute}
        raw = self._names[item].get(attribute)
        spelled = raw if isinstance(raw, (list, tuple)) else [raw]
        return best, attribute, [str(v) for v in spelled if str(v).strip().casefold() in wanted]
