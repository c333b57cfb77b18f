"""The project's own bilingual sample catalog, synthetic interactions and Chinese film titles.

Plain files and standard-library readers only, so the engine and the web side can both use them.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

SAMPLE_DIR = Path(__file__).parent

# Closed vocabularies the catalog's product attributes are written in.
PRODUCT_CATEGORIES = (
    "dress", "t-shirt", "shirt", "jacket", "coat", "sweater", "jeans", "shorts", "skirt", "swimsuit",
    "sneakers", "boots", "sandals", "hat", "scarf", "gloves", "sunglasses", "bag", "backpack",
    "headphones", "phone case", "charger", "mug", "kettle", "pan", "water bottle",
    "tent", "sleeping bag", "camping chair",
)
COLORS = ("black", "white", "red", "blue", "green", "yellow", "pink", "purple", "grey", "brown", "beige", "navy", "orange")
SEASONS = ("spring", "summer", "autumn", "winter")
GENDERS = ("women", "men", "unisex")
MATERIALS = (
    "cotton", "linen", "wool", "cashmere", "silk", "denim", "leather", "suede", "polyester", "nylon", "fleece",
    "down", "canvas", "straw", "rubber", "silicone", "plastic", "aluminium", "stainless steel", "cast iron",
    "ceramic", "glass",
)
MOVIE_GENRES = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
DOMAINS = ("product", "movie", "book", "music", "game")


def catalog_path() -> Path:
    """Return the path of the JSON-lines sample catalog."""
    return SAMPLE_DIR / "catalog.jsonl"


def interactions_path() -> Path:
    """Return the path of the synthetic interactions CSV (user,item,event,value,timestamp)."""
    return SAMPLE_DIR / "interactions.csv"


def social_paths() -> tuple[Path, Path, Path]:
    """Return the demo social graph: (likes of the demo people CSV, their relations CSV, names and privacy CSV)."""
    return SAMPLE_DIR / "social_likes.csv", SAMPLE_DIR / "relations.csv", SAMPLE_DIR / "social_people.csv"


def movie_aliases_path() -> Path:
    """Return the path of the MovieLens title -> Simplified Chinese alias CSV."""
    return SAMPLE_DIR / "movie_aliases_zh.csv"


def iter_catalog(path: Path | None = None):
    """Yield the catalog's rows as dicts, in file order."""
    with open(path or catalog_path(), encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def load_catalog(path: Path | None = None, domain: str | None = None) -> list:
    """Return the catalog as engine ItemRecords (item_id = external_id), optionally one domain only."""
    from recommender.engine.types import ItemRecord

    return [
        ItemRecord(
            item_id=row["external_id"],
            title=row["title"],
            domain=row["domain"],
            description=row.get("description", ""),
            aliases=tuple(row.get("aliases") or ()),
            attributes=dict(row.get("attributes") or {}),
        )
        for row in iter_catalog(path)
        if domain is None or row["domain"] == domain
    ]


def load_movie_aliases(path: Path | None = None) -> dict[str, list[str]]:
    """Return {MovieLens title: [Chinese aliases]} from the alias CSV."""
    aliases: dict[str, list[str]] = {}
    with open(path or movie_aliases_path(), encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            aliases.setdefault(row["movielens_title"], []).append(row["alias"])
    return aliases
