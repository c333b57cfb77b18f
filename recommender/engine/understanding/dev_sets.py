"""The labelled dev sets' catalogs and one evaluation run over them (what `manage.py eval_understanding` and
`python -m benchmarks.understanding` both run; the measuring itself is `evaluate.py`).

The film conversations are grounded in MovieLens 100K (u.item with Chinese aliases) or ml-latest-small
(movies.csv with its free-form tags.csv; the labels' ML-100K ids mapped by title and year); products and
cross-domain turns in the sample catalog. The caller hands in the sample catalog's items and the alias table,
which live outside the engine.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from common.stats import percentile

from ..data import load_ml100k_items
from ..llm import LLMBackend
from ..titles import title_year, without_year
from ..types import ItemRecord
from .catalog import CatalogIndex
from .evaluate import evaluate, format_report, load_conversations
from .text import key_of

Aliases = Mapping[str, Sequence[str]]  # "Title (Year)" -> aliases


@dataclass
class SampleCatalog:
    """The sample catalog's items and the films' alias table, read by the caller."""

    items: list[ItemRecord]
    aliases: Aliases = field(default_factory=dict)

    def domain(self, name: str | None) -> list[ItemRecord]:
        return [r for r in self.items if name is None or r.domain == name]


def load_ml100k_movies(root: Path, aliases: Aliases) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (films as ml-<id> ItemRecords with genres, year and aliases; rating counts per id)."""
    items = [
        replace(record, item_id=f"ml-{record.item_id}", aliases=tuple(aliases.get(record.title, ())))
        for record in load_ml100k_items(root)
    ]
    counts: Counter = Counter()
    ratings = root / "u.data"
    if ratings.exists():
        for line in ratings.read_text(encoding="latin-1").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                counts[f"ml-{parts[1]}"] += 1
    return items, dict(counts)


def _ml_latest_tags(root: Path) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    if (root / "tags.csv").exists():
        with open(root / "tags.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                bucket = tags.setdefault(row["movieId"], [])
                tag = (row.get("tag") or "").strip()
                if tag and tag.lower() not in (t.lower() for t in bucket):
                    bucket.append(tag)
    return tags


def load_ml_latest_movies(root: Path, aliases: Aliases) -> tuple[list[ItemRecord], dict[str, float]]:
    """Return (ml-latest-small films with genres, year and user tags; rating counts per id).

    movies.csv writes "Title (Year)" and pipe-separated genres; tags.csv adds free-form user tags. Ids are the
    dataset's movieId prefixed "mls-", so they never collide with ML-100K's.
    """
    tags = _ml_latest_tags(root)
    items = []
    with open(root / "movies.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            title = row["title"].strip()
            genres = [g for g in row["genres"].split("|") if g and g != "(no genres listed)"]
            attrs: dict = {"genres": genres}
            year = title_year(title)
            if year is not None:
                attrs["year"] = year
            if row["movieId"] in tags:
                attrs["tags"] = tags[row["movieId"]]
            items.append(
                ItemRecord(
                    item_id=f"mls-{row['movieId']}",
                    title=title,
                    domain="movie",
                    aliases=tuple(aliases.get(title, ())),
                    attributes=attrs,
                )
            )
    counts: Counter = Counter()
    if (root / "ratings.csv").exists():
        with open(root / "ratings.csv", encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                counts[f"mls-{row['movieId']}"] += 1
    return items, dict(counts)


def movie_catalog(root: Path, sample: SampleCatalog) -> tuple[CatalogIndex, str]:
    """Return (index over ML-100K films, or the sample catalog's films if the data is missing; a source label)."""
    if (root / "u.item").exists():
        items, counts = load_ml100k_movies(root, sample.aliases)
        return CatalogIndex(items, popularity=counts), f"MovieLens 100K u.item ({len(items)} films)"
    items = sample.domain("movie")
    return CatalogIndex(items), f"sample catalog films ({len(items)})"


def ml_latest_catalog(root: Path, sample: SampleCatalog) -> tuple[CatalogIndex, str]:
    """Return (index over ml-latest-small films with their tags, a source label)."""
    items, counts = load_ml_latest_movies(root, sample.aliases)
    return CatalogIndex(
        items, popularity=counts
    ), f"MovieLens ml-latest-small movies.csv + tags.csv ({len(items)} films)"


def dev_catalogs(data_dir: Path, movies: str, sample: SampleCatalog) -> tuple[dict, str]:
    """Return the catalogs the dev conversations name; movies is "ml-100k" or "ml-latest-small"."""
    if movies == "ml-latest-small":
        index, source = ml_latest_catalog(data_dir / "ml-latest-small", sample)
    else:
        index, source = movie_catalog(data_dir / "ml-100k", sample)
    return {
        "movies": index,
        "products": CatalogIndex(sample.domain("product")),
        "all": CatalogIndex(sample.domain(None)),
    }, source


def _canon_value(value: Any) -> str:
    flat = re.sub(r"[^0-9a-z]", "", str(value).lower())
    return flat[:-1] if flat.endswith("s") and len(flat) > 3 else flat


def _remap_turn(turn: dict, id_map: dict[str, str], values: dict[tuple[str, str], str], missing: list[str]) -> None:
    if turn.get("last_items"):
        turn["last_items"] = [id_map.get(i, i) for i in turn["last_items"]]
    gold = turn["gold"]
    for ref in gold.get("items") or []:
        old = ref["item_id"]
        if old not in id_map and old.startswith("ml-"):
            missing.append(old)
        ref["item_id"] = id_map.get(old, old)
    for kind in ("include", "exclude"):
        for attr, vals in (gold.get(kind) or {}).items():
            gold[kind][attr] = [values.get((attr, _canon_value(v)), v) for v in vals]


def remap_gold(conversations: list[dict], catalog: CatalogIndex, id_map: dict[str, str]) -> tuple[list[dict], int]:
    """Return the conversations with movie ids and attribute values rewritten into another catalog's terms, and the
    number of gold items that catalog lacks (they stay under their old ids and count as misses)."""
    values: dict[tuple[str, str], str] = {}
    for attrs in catalog.values.values():
        for attr, vals in attrs.items():
            for v in vals:
                values.setdefault((attr, _canon_value(v)), v)
    missing: list[str] = []
    out = []
    for conv in conversations:
        if conv["catalog"] == "movies":
            conv = json.loads(json.dumps(conv))
            for turn in conv["turns"]:
                _remap_turn(turn, id_map, values, missing)
        out.append(conv)
    return out, len(missing)


def ml100k_to_ml_latest(catalog: CatalogIndex, ml100k_items: list[ItemRecord]) -> dict[str, str]:
    """Return ML-100K film id -> ml-latest-small id, matched by folded title and year."""
    by_key: dict[tuple[str, int], str] = {}
    for record in catalog.items.values():
        by_key.setdefault((key_of(without_year(record.title)), catalog.year_of(record.item_id)), record.item_id)
    out = {}
    for record in ml100k_items:
        key = (key_of(without_year(record.title)), int(record.attributes.get("year") or 0))
        if key in by_key:
            out[record.item_id] = by_key[key]
            continue
        # Retitled releases ("Star Wars" -> "Star Wars: Episode IV - A New Hope"): any title form, same year.
        same_year = [h[0] for h in catalog.resolve_title(key[0]) if catalog.year_of(h[0]) == key[1]]
        if same_year:
            out[record.item_id] = same_year[0]
    return out


@dataclass
class DevRun:
    """One evaluation over the dev sets: a Markdown block and the metrics per (set, catalog), the catalogs used."""

    blocks: list[str] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)


def run_dev_sets(
    sets: list[tuple[str, Path]],
    movie_catalogs: list[str],
    data_dir: Path,
    backend: LLMBackend,
    sample: SampleCatalog,
    *,
    label_root: Path,
) -> DevRun:
    """Evaluate each labelled set (name, path) over each movie catalog; paths are shown relative to label_root."""
    run = DevRun()
    for movies in movie_catalogs:
        catalogs, source = dev_catalogs(data_dir, movies, sample)
        run.sources.append(source)
        id_map = None
        if movies == "ml-latest-small":
            id_map = ml100k_to_ml_latest(catalogs["movies"], load_ml100k_movies(data_dir / "ml-100k", {})[0])
        for name, path in sets:
            conversations = load_conversations(path)
            note = ""
            if id_map is not None:
                conversations, missing = remap_gold(conversations, catalogs["movies"], id_map)
                note = f"; {missing} labelled film mentions have no ml-latest-small counterpart"
            r = evaluate(conversations, backend, catalogs)
            latencies = r.pop("latencies_ms")
            r["latency_ms"] = {
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
                "max": max(latencies),
            }
            run.results[f"{name} {movies}"] = r
            run.blocks.append(
                format_report(f"{name} set (`{path.relative_to(label_root)}`), films from {movies}{note}", r)
            )
    return run
