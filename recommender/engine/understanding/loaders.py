"""Catalogs the understanding layer is evaluated on: MovieLens 100K films (with Chinese aliases) and the sample catalog."""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from ..types import ItemRecord
from .catalog import CatalogIndex

REPO_ROOT = Path(__file__).resolve().parents[3]
_YEAR = re.compile(r"\((\d{4})\)\s*$")


def data_dir() -> Path:
    """Return CHATREC_DATA_DIR, defaulting to ../shared/data beside the repository."""
    return Path(os.environ.get("CHATREC_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")


def _sample():
    from recommender import sample_data  # plain files and readers, no Django

    return sample_data


def load_ml100k_movies(directory: Path | None = None) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (films as ml-<id> ItemRecords with genres, year and Chinese aliases; rating counts per id)."""
    root = Path(directory or data_dir() / "ml-100k")
    genres = [line.split("|")[0] for line in (root / "u.genre").read_text(encoding="latin-1").splitlines() if "|" in line]
    aliases = _sample().load_movie_aliases()
    items = []
    for line in (root / "u.item").read_text(encoding="latin-1").splitlines():
        parts = line.split("|")
        if len(parts) < 5 + len(genres):
            continue
        title = parts[1].strip()
        m = _YEAR.search(title) or re.search(r"(\d{4})$", parts[2])
        attrs = {"genres": [g for g, f in zip(genres, parts[5:]) if f.strip() == "1" and g != "unknown"]}
        if m:
            attrs["year"] = int(m.group(1))
        items.append(ItemRecord(item_id=f"ml-{parts[0]}", title=title, domain="movie",
                                aliases=tuple(aliases.get(title, ())), attributes=attrs))
    counts = Counter()
    ratings = root / "u.data"
    if ratings.exists():
        for line in ratings.read_text(encoding="latin-1").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                counts[f"ml-{parts[1]}"] += 1
    return items, dict(counts)


def sample_items(domain: str | None = None) -> list[ItemRecord]:
    """Return the sample catalog's items, optionally one domain only."""
    return _sample().load_catalog(domain=domain)


def movie_catalog(directory: Path | None = None) -> tuple[CatalogIndex, str]:
    """Return (index over ML-100K films, or the sample catalog's films if the data is missing; a source label)."""
    root = Path(directory or data_dir() / "ml-100k")
    if (root / "u.item").exists():
        items, counts = load_ml100k_movies(root)
        return CatalogIndex(items, popularity=counts), f"MovieLens 100K u.item ({len(items)} films)"
    items = sample_items("movie")
    return CatalogIndex(items), f"sample catalog films ({len(items)})"


def product_catalog() -> CatalogIndex:
    """Return an index over the sample catalog's products."""
    return CatalogIndex(sample_items("product"))


def full_catalog() -> CatalogIndex:
    """Return an index over the whole sample catalog (products, films, books, music, games)."""
    return CatalogIndex(sample_items())


def load_ml_latest_movies(directory: Path | None = None) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (ml-latest-small films with genres, year and user tags; rating counts per id).

    movies.csv writes "Title (Year)" and pipe-separated genres; tags.csv adds free-form user tags. Ids are the
    dataset's movieId prefixed "mls-", so they never collide with ML-100K's.
    """
    import csv

    root = Path(directory or data_dir() / "ml-latest-small")
    tags: dict[str, list[str]] = {}
    if (root / "tags.csv").exists():
        with open(root / "tags.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                bucket = tags.setdefault(row["movieId"], [])
                tag = (row.get("tag") or "").strip()
                if tag and tag.lower() not in (t.lower() for t in bucket):
                    bucket.append(tag)
    aliases = _sample().load_movie_aliases()  # keyed by "Title (Year)", as both MovieLens releases write it
    items = []
    with open(root / "movies.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            title = row["title"].strip()
            genres = [g for g in row["genres"].split("|") if g and g != "(no genres listed)"]
            attrs: dict = {"genres": genres}
            m = _YEAR.search(title)
            if m:
                attrs["year"] = int(m.group(1))
            if row["movieId"] in tags:
                attrs["tags"] = tags[row["movieId"]]
            items.append(ItemRecord(item_id=f"mls-{row['movieId']}", title=title, domain="movie",
                                    aliases=tuple(aliases.get(title, ())), attributes=attrs))
    counts: Counter = Counter()
    if (root / "ratings.csv").exists():
        with open(root / "ratings.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                counts[f"mls-{row['movieId']}"] += 1
    return items, dict(counts)


def ml_latest_catalog(directory: Path | None = None) -> tuple[CatalogIndex, str]:
    """Return (index over ml-latest-small films with their tags, a source label)."""
    items, counts = load_ml_latest_movies(directory)
    return CatalogIndex(items, popularity=counts), f"MovieLens ml-latest-small movies.csv + tags.csv ({len(items)} films)"
