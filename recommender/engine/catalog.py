"""The item catalog rankers share: ids, records, the training matrix, and exact constraint masks."""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .arrays import load_csr, save_csr
from .data import InteractionData
from .rules import DISLIKE_WEIGHT, LIKE_THRESHOLD, NEUTRAL_WEIGHT
from .rules import attribute_value as _norm
from .rules import attribute_values as _values
from .types import Constraints, ItemRecord, Profile

# Constraint masks are cached per attribute the catalog has, and at most this many per kind (least recently
# used first out): a filter on a name no item carries matches nothing and is never cached, so requests with
# ever new names cannot grow memory.
MAX_CACHED_ATTRIBUTES = 64

# Signal strengths in a user's item vector: a liked item (rating >= LIKE_THRESHOLD, a like, a purchase)
# counts 1.0, any other interaction NEUTRAL_WEIGHT, a dislike DISLIKE_WEIGHT. Interaction models read
# every positive entry as 1 (they learn what people pick); like models read only the liked entries.


def read_values(values: np.ndarray, signal: str) -> np.ndarray:
    """Rewrite graded values in place as a model reading `signal` sees them, and return them.

    "interactions": every positive value becomes 1; "likes": values below a like become 0; dislikes
    stay in both; any other signal ("raw") leaves the values as they are.
    """
    if signal == "interactions":
        values[values > 0] = 1.0
    elif signal == "likes":
        values[(values > 0) & (values < 1.0)] = 0.0
    return values


def read_rows(X: sp.csr_matrix, signal: str) -> sp.csr_matrix:
    """Return a copy of the graded rows X as a model reading `signal` sees them."""
    out = sp.csr_matrix(X, dtype=np.float32, copy=True)
    read_values(out.data, signal)
    if signal == "likes":
        out.eliminate_zeros()
    return out


def interaction_signal(X: sp.csr_matrix) -> sp.csr_matrix:
    """Return X with every positive entry set to 1 (dislikes kept): what interaction models read."""
    return read_rows(X, "interactions")


def like_signal(X: sp.csr_matrix) -> sp.csr_matrix:
    """Return X keeping only liked entries (as 1) and dislikes: what like models read."""
    return read_rows(X, "likes")


def graded_train(data: InteractionData, like_threshold: float = LIKE_THRESHOLD) -> sp.csr_matrix:
    """Return the users x items training matrix: 1.0 where liked, NEUTRAL_WEIGHT for other interactions.

    Data without graded values (every value equal: clicks only, say) has no way to tell a like from a
    visit, so every interaction then counts as liked.
    """
    positives = data.implicit()
    if data.n_interactions == 0 or float(np.ptp(data.values)) == 0.0:
        return positives
    explicit = data.explicit()
    liked = explicit.multiply(explicit >= like_threshold).astype(bool).astype(np.float32)
    return sp.csr_matrix(positives * NEUTRAL_WEIGHT + liked.multiply(positives) * (1.0 - NEUTRAL_WEIGHT))


def _cached(cache: OrderedDict, key: str) -> Any:
    """Return the cached value for key (marking it recently used), or None."""
    value = cache.get(key)
    if value is not None:
        try:
            cache.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile: the value is still good for this call
            pass
    return value


def _remember(cache: OrderedDict, key: str, value: Any) -> None:
    """Cache value under key, dropping the least recently used entries past MAX_CACHED_ATTRIBUTES."""
    cache[key] = value
    while len(cache) > MAX_CACHED_ATTRIBUTES:
        try:
            cache.popitem(last=False)
        except KeyError:  # emptied by another thread
            break


class Catalog:
    """Items (in index order), known users and their training interactions."""

    def __init__(self, records: list[ItemRecord], user_ids: list[str], train: sp.csr_matrix) -> None:
        self.records = list(records)
        self.item_ids = [r.item_id for r in self.records]
        self.item_index = {k: i for i, k in enumerate(self.item_ids)}
        self.user_ids = list(user_ids)
        self.user_index = {k: i for i, k in enumerate(self.user_ids)}
        self.train = sp.csr_matrix(train, dtype=np.float32)
        self._signals: dict[str, sp.csr_matrix] = {}
        self._attr_cache: OrderedDict[str, dict[Any, np.ndarray]] = OrderedDict()
        self._range_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._attribute_names: frozenset[str] | None = None
        self._domains: np.ndarray | None = None

    @classmethod
    def from_data(cls, data: InteractionData) -> Catalog:
        """Return a catalog built from interaction data (graded: liked 1.0, other interactions 0.5)."""
        return cls(data.records(), data.user_ids, graded_train(data))

    @property
    def interactions(self) -> sp.csr_matrix:
        """The binary matrix of every interaction (what interaction models are fitted on)."""
        if "interactions" not in self._signals:
            self._signals["interactions"] = interaction_signal(self.train)
        return self._signals["interactions"]

    @property
    def liked(self) -> sp.csr_matrix:
        """The binary matrix of liked items only (what like models are fitted on)."""
        if "liked" not in self._signals:
            self._signals["liked"] = like_signal(self.train)
        return self._signals["liked"]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    def add_items(self, records: Iterable[ItemRecord]) -> list[int]:
        """Append new items (or replace existing records); return the indices of newly added items."""
        records, added = list(records), []
        for record in records:
            idx = self.item_index.get(record.item_id)
            if idx is not None:
                self.records[idx] = record
                continue
            self.item_index[record.item_id] = len(self.item_ids)
            self.item_ids.append(record.item_id)
            self.records.append(record)
            added.append(self.item_index[record.item_id])
        if added or records:
            self.train = sp.csr_matrix(self.train, shape=(self.n_users, self.n_items))
            self._signals.clear()
            self._attr_cache.clear()
            self._range_cache.clear()
            self._attribute_names = None
            self._domains = None
        return added

    @property
    def attribute_names(self) -> frozenset[str]:
        """The attribute names at least one item carries (the only names worth a constraint mask)."""
        if self._attribute_names is None:
            self._attribute_names = frozenset(name for r in self.records for name in r.attributes)
        return self._attribute_names

    # ------------------------------------------------------------ profiles

    def profile_vector(self, user_key: str | None = None, profile: Profile | None = None) -> np.ndarray:
        """Return the signed item vector of a user: train history, then profile history, likes and dislikes.

        Unknown item ids are ignored; dislikes carry a negative weight.
        """
        x = np.zeros(self.n_items, dtype=np.float32)
        if user_key is not None and user_key in self.user_index:
            row = self.train[self.user_index[user_key]]
            x[row.indices] = row.data
        if profile is not None:
            for item_id, weight in profile.history.items():
                idx = self.item_index.get(item_id)
                if idx is not None:
                    x[idx] = float(weight)
            for item_id in profile.liked:
                idx = self.item_index.get(item_id)
                if idx is not None:
                    x[idx] = max(x[idx], 1.0)
            for item_id in profile.disliked:
                idx = self.item_index.get(item_id)
                if idx is not None:
                    x[idx] = DISLIKE_WEIGHT
        return x

    # ------------------------------------------------------------ constraints

    def _attr_index(self, attribute: str) -> dict[Any, np.ndarray]:
        if attribute not in self.attribute_names:
            return {}
        index = _cached(self._attr_cache, attribute)
        if index is None:
            buckets: dict[Any, list[int]] = {}
            for i, r in enumerate(self.records):
                for v in _values(r.attributes.get(attribute)):
                    buckets.setdefault(v, []).append(i)
            index = {k: np.array(v, dtype=np.int64) for k, v in buckets.items()}
            _remember(self._attr_cache, attribute, index)
        return index

    def _matching(self, attribute: str, wanted: list[Any]) -> np.ndarray:
        mask = np.zeros(self.n_items, dtype=bool)
        index = self._attr_index(attribute)
        for value in wanted:
            hit = index.get(_norm(value))
            if hit is not None:
                mask[hit] = True
        return mask

    def _numeric(self, attribute: str) -> np.ndarray:
        if attribute not in self.attribute_names:
            return np.full(self.n_items, np.nan)
        values = _cached(self._range_cache, attribute)
        if values is None:
            values = np.full(self.n_items, np.nan)
            for i, r in enumerate(self.records):
                v = r.attributes.get(attribute)
                try:
                    values[i] = float(v)  # type: ignore[arg-type]  # None and text fail here on purpose
                except (TypeError, ValueError, OverflowError):
                    pass
            _remember(self._range_cache, attribute, values)
        return values

    def constraint_mask(self, constraints: Constraints | None) -> np.ndarray | None:
        """Return a boolean mask of items satisfying every constraint exactly, or None when unconstrained."""
        if constraints is None or constraints.is_empty():
            return None
        mask = np.ones(self.n_items, dtype=bool)
        for attribute, wanted in constraints.include.items():
            if wanted and attribute in constraints.all_of:
                for value in wanted:  # every value must hold
                    mask &= self._matching(attribute, [value])
            elif wanted:
                mask &= self._matching(attribute, list(wanted))
        for attribute, unwanted in constraints.exclude.items():
            if unwanted:
                mask &= ~self._matching(attribute, list(unwanted))
        for attribute, (low, high) in constraints.ranges.items():
            values = self._numeric(attribute)
            ok = ~np.isnan(values)
            if low is not None:
                ok &= values >= float(low)
            if high is not None:
                ok &= values <= float(high)
            mask &= ok
        if constraints.domain:
            if self._domains is None:
                self._domains = np.array([_norm(r.domain) for r in self.records], dtype=object)
            mask &= self._domains == _norm(constraints.domain)
        for item_id in constraints.exclude_items:
            idx = self.item_index.get(item_id)
            if idx is not None:
                mask[idx] = False
        return mask

    def satisfied(self, constraints: Constraints | None, idx: int) -> list[tuple[str, Any]]:
        """Return (attribute, value) pairs of the item that satisfy include/range constraints."""
        if constraints is None:
            return []
        record, out = self.records[idx], []
        for attribute, wanted in constraints.include.items():
            have = set(_values(record.attributes.get(attribute)))
            out += [(attribute, w) for w in wanted if _norm(w) in have]
        for attribute in constraints.ranges:
            out.append((attribute, record.attributes.get(attribute)))
        if constraints.domain:
            out.append(("domain", record.domain))
        return out

    # ------------------------------------------------------------ persistence

    def save(self, path: Path) -> None:
        """Write catalog.json (records, users) and train.npz (CSR arrays, loaded memory-mapped)."""
        path.mkdir(parents=True, exist_ok=True)
        payload = {
            "items": [
                {"item_id": r.item_id, "title": r.title, "domain": r.domain, "description": r.description,
                 "aliases": list(r.aliases), "attributes": r.attributes}
                for r in self.records
            ],
            "users": self.user_ids,
        }
        (path / "catalog.json").write_text(json.dumps(payload, ensure_ascii=False))
        save_csr(path / "train.npz", self.train)

    @classmethod
    def load(cls, path: Path) -> Catalog:
        """Return a catalog read from save() output."""
        payload = json.loads((path / "catalog.json").read_text())
        records = [
            ItemRecord(item_id=d["item_id"], title=d["title"], domain=d.get("domain", "movie"),
                       description=d.get("description", ""), aliases=tuple(d.get("aliases", ())),
                       attributes=d.get("attributes", {}))
            for d in payload["items"]
        ]
        return cls(records, payload["users"], load_csr(path / "train.npz"))
