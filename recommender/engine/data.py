"""Interaction data: id maps, sparse matrices, MovieLens loaders and evaluation splits."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .rules import LIKE_THRESHOLD
from .titles import title_year
from .types import ItemRecord

ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)


class InteractionData:
    """User-item interactions plus the item catalog, with id<->index maps and CSR matrices.

    values are explicit ratings where known (else 1.0); `implicit` treats every interaction as 1
    unless `implicit_threshold` is set, in which case only values >= threshold count.
    Items in `items` without interactions are kept (cold items) so they stay recommendable by text.
    """

    def __init__(
        self,
        user_keys: Sequence[str],
        item_keys: Sequence[str],
        values: Sequence[float] | None = None,
        *,
        timestamps: Sequence[float] | None = None,
        event_kinds: Sequence[str] | None = None,
        items: Iterable[ItemRecord] | None = None,
        users: Sequence[str] | None = None,
        implicit_threshold: float | None = None,
    ) -> None:
        if len(user_keys) != len(item_keys):
            raise ValueError("user_keys and item_keys must have the same length")
        records = {r.item_id: r for r in (items or [])}
        item_ids = list(records)
        for key in item_keys:
            key = str(key)
            if key not in records:
                records[key] = ItemRecord(item_id=key, title=key)
                item_ids.append(key)
        self.items: dict[str, ItemRecord] = records
        self.item_ids: list[str] = item_ids
        self.item_index: dict[str, int] = {k: i for i, k in enumerate(item_ids)}
        user_ids = [str(u) for u in (users or [])]
        seen = set(user_ids)
        for key in user_keys:
            key = str(key)
            if key not in seen:
                seen.add(key)
                user_ids.append(key)
        self.user_ids: list[str] = user_ids
        self.user_index: dict[str, int] = {k: i for i, k in enumerate(user_ids)}
        n = len(user_keys)
        self.rows = np.fromiter((self.user_index[str(u)] for u in user_keys), dtype=np.int32, count=n)
        self.cols = np.fromiter((self.item_index[str(i)] for i in item_keys), dtype=np.int32, count=n)
        self.values = np.ones(n, dtype=np.float32) if values is None else np.asarray(values, dtype=np.float32)
        self.timestamps = None if timestamps is None else np.asarray(timestamps, dtype=np.float64)
        self.event_kinds = None if event_kinds is None else list(event_kinds)
        self.implicit_threshold = implicit_threshold
        self._explicit: sp.csr_matrix | None = None
        self._implicit: sp.csr_matrix | None = None

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return int(self.rows.shape[0])

    def explicit(self) -> sp.csr_matrix:
        """Return the users x items matrix of values (last value wins for duplicates)."""
        if self._explicit is None:
            order = np.arange(self.n_interactions)
            if self.timestamps is not None:
                order = np.argsort(self.timestamps, kind="stable")
            keys = self.rows[order].astype(np.int64) * self.n_items + self.cols[order]
            _, last = np.unique(keys[::-1], return_index=True)
            pick = order[::-1][last]
            self._explicit = sp.csr_matrix(
                (self.values[pick], (self.rows[pick], self.cols[pick])), shape=(self.n_users, self.n_items)
            )
        return self._explicit

    def implicit(self) -> sp.csr_matrix:
        """Return the binary users x items matrix of positive interactions."""
        if self._implicit is None:
            mat = self.explicit().copy()
            if self.implicit_threshold is not None:
                mat.data = (mat.data >= self.implicit_threshold).astype(np.float32)
            else:
                mat.data = np.ones_like(mat.data, dtype=np.float32)
            mat.eliminate_zeros()
            self._implicit = mat.astype(np.float32)
        return self._implicit

    def subset(self, mask: np.ndarray) -> InteractionData:
        """Return a copy keeping only interactions where mask is true (same users, items and indices)."""
        out = InteractionData.__new__(InteractionData)
        out.items, out.item_ids, out.item_index = self.items, self.item_ids, self.item_index
        out.user_ids, out.user_index = self.user_ids, self.user_index
        out.rows, out.cols, out.values = self.rows[mask], self.cols[mask], self.values[mask]
        out.timestamps = None if self.timestamps is None else self.timestamps[mask]
        out.event_kinds = None if self.event_kinds is None else [k for k, m in zip(self.event_kinds, mask) if m]
        out.implicit_threshold = self.implicit_threshold
        out._explicit = out._implicit = None
        return out

    def records(self) -> list[ItemRecord]:
        """Return item records in index order."""
        return [self.items[i] for i in self.item_ids]


# ---------------------------------------------------------------- splits


@dataclass
class Split:
    """A train/test pair over the same users and items; test_items[u] holds held-out item indices."""

    train: InteractionData
    test: InteractionData
    seed: int
    protocol: str
    test_items: dict[int, np.ndarray] = field(default_factory=dict)


def _by_user(data: InteractionData) -> list[np.ndarray]:
    order = np.argsort(data.rows, kind="stable")
    bounds = np.searchsorted(data.rows[order], np.arange(data.n_users + 1))
    return [order[bounds[u]:bounds[u + 1]] for u in range(data.n_users)]


def _split(data: InteractionData, held: np.ndarray, seed: int, protocol: str) -> Split:
    train, test = data.subset(~held), data.subset(held)
    test_items: dict[int, np.ndarray] = {}
    if protocol == "liked_holdout":
        keep = test.values >= LIKE_THRESHOLD
        rows, cols = test.rows[keep], test.cols[keep]
    else:
        rows, cols = test.rows, test.cols
    for u in np.unique(rows):
        test_items[int(u)] = np.unique(cols[rows == u])
    return Split(train=train, test=test, seed=seed, protocol=protocol, test_items=test_items)


def random_split(data: InteractionData, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """Return protocol (a): per user, a random test_fraction of all interactions is held out."""
    rng = np.random.default_rng(seed)
    held = np.zeros(data.n_interactions, dtype=bool)
    for idx in _by_user(data):
        k = int(round(len(idx) * test_fraction))
        if len(idx) >= 2 and k > 0:
            held[rng.choice(idx, size=k, replace=False)] = True
    return _split(data, held, seed, "random")


def liked_holdout_split(data: InteractionData, test_fraction: float = 0.2, seed: int = 0,
                        threshold: float = LIKE_THRESHOLD) -> Split:
    """Return protocol (b): per user, test_fraction of liked (>= threshold) interactions is held out."""
    rng = np.random.default_rng(seed)
    held = np.zeros(data.n_interactions, dtype=bool)
    for idx in _by_user(data):
        liked = idx[data.values[idx] >= threshold]
        k = int(round(len(liked) * test_fraction))
        if len(liked) >= 2 and k > 0:
            held[rng.choice(liked, size=k, replace=False)] = True
    return _split(data, held, seed, "liked_holdout")


# ---------------------------------------------------------------- MovieLens


def _read_text(path: Path, encoding: str) -> str:
    """Return file text in the given encoding with CRLF normalised (ML-100K is Latin-1, ml-latest-small UTF-8)."""
    return path.read_bytes().decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


def _title_year(title: str) -> tuple[str, int | None]:
    return title.strip(), title_year(title)


def parse_ml100k_item(line: str, genre_names: Sequence[str] = ML100K_GENRES) -> tuple[str, str, str, list[str]] | None:
    """Return (movie id, title, release date, genres) of one u.item line, or None when it is not one.

    The one reader of the u.item format, for the engine's loaders and the database import alike.
    """
    fields = line.split("|")
    if len(fields) < 5 + len(genre_names) or not fields[0].strip().isdigit():
        return None
    flags = fields[5:5 + len(genre_names)]
    genres = [name for name, flag in zip(genre_names, flags) if flag.strip() == "1" and name != "unknown"]
    return fields[0].strip(), fields[1].strip(), fields[2].strip(), genres


def load_ml100k_items(directory: Path | str) -> list[ItemRecord]:
    """Return ML-100K items from u.item with genres and year attributes."""
    records = []
    for line in _read_text(Path(directory) / "u.item", "latin-1").split("\n"):
        parsed = parse_ml100k_item(line) if line.strip() else None
        if parsed is None:
            continue
        item_id, title, released, genres = parsed
        year = title_year(title)
        if year is None and released[-4:].isdigit():
            year = int(released[-4:])
        attrs: dict = {"genres": genres}
        if year is not None:
            attrs["year"] = year
        records.append(ItemRecord(item_id=item_id, title=title, domain="movie", attributes=attrs))
    return records


def _read_ratings(path: Path) -> tuple[list[str], list[str], list[float], list[float]]:
    users, items, values, times = [], [], [], []
    for line in _read_text(path, "latin-1").split("\n"):
        parts = line.split("\t")
        if len(parts) < 3:
            continue
        users.append(parts[0])
        items.append(parts[1])
        values.append(float(parts[2]))
        times.append(float(parts[3]) if len(parts) > 3 and parts[3] else 0.0)
    return users, items, values, times


def ml100k_dir(path: Path | str) -> Path:
    """Return the ml-100k folder: path itself, or its ml-100k subfolder when it holds one."""
    path = Path(path)
    return path / "ml-100k" if (path / "ml-100k").is_dir() else path


def load_ml100k(directory: Path | str, ratings_file: str = "u.data") -> InteractionData:
    """Return ML-100K ratings (u.data or a fold file) with the full item catalog."""
    directory = Path(directory)
    items = load_ml100k_items(directory)
    users, item_keys, values, times = _read_ratings(directory / ratings_file)
    return InteractionData(users, item_keys, values, timestamps=times, items=items)


def load_ml100k_fold(directory: Path | str, fold: int) -> tuple[InteractionData, InteractionData]:
    """Return (train, test) for the official fold u{fold}.base / u{fold}.test, sharing index maps."""
    directory = Path(directory)
    items = load_ml100k_items(directory)
    bu, bi, bv, bt = _read_ratings(directory / f"u{fold}.base")
    tu, ti, tv, tt = _read_ratings(directory / f"u{fold}.test")
    both = InteractionData(bu + tu, bi + ti, bv + tv, timestamps=bt + tt, items=items)
    mask = np.zeros(len(bu) + len(tu), dtype=bool)
    mask[: len(bu)] = True
    return both.subset(mask), both.subset(~mask)


def load_ml_latest(directory: Path | str) -> InteractionData:
    """Return ml-latest-small ratings with titles, genres, year and user tags as item text."""
    directory = Path(directory)
    tags: dict[str, list[str]] = {}
    tag_path = directory / "tags.csv"
    if tag_path.exists():
        for row in csv.DictReader(io.StringIO(_read_text(tag_path, "utf-8"))):
            bucket = tags.setdefault(row["movieId"], [])
            if row["tag"] not in bucket and len(bucket) < 20:
                bucket.append(row["tag"])
    items = []
    for row in csv.DictReader(io.StringIO(_read_text(directory / "movies.csv", "utf-8"))):
        title, year = _title_year(row["title"])
        genres = [g for g in row["genres"].split("|") if g and g != "(no genres listed)"]
        attrs: dict = {"genres": genres}
        if year is not None:
            attrs["year"] = year
        if row["movieId"] in tags:
            attrs["tags"] = tags[row["movieId"]]
        items.append(ItemRecord(item_id=row["movieId"], title=title, domain="movie", attributes=attrs))
    users, item_keys, values, times = [], [], [], []
    for row in csv.DictReader(io.StringIO(_read_text(directory / "ratings.csv", "utf-8"))):
        users.append(row["userId"])
        item_keys.append(row["movieId"])
        values.append(float(row["rating"]))
        times.append(float(row["timestamp"]))
    return InteractionData(users, item_keys, values, timestamps=times, items=items)
