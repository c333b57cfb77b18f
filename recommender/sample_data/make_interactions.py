"""Generate the sample's synthetic interactions from the sample catalog (deterministic, standard library only).

Each synthetic user gets one or two taste profiles; most of their events land on items that fit those
profiles, the rest on random items, so collaborative models have signal to learn and noise to survive.

    python -m recommender.sample_data.make_interactions            # rewrites interactions.csv
    python recommender/sample_data/make_interactions.py --seed 7 --users 50 --out /tmp/x.csv
"""
from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
MEDIA = ("movie", "book", "music", "game")
CLOTHING = {"dress", "t-shirt", "shirt", "jacket", "coat", "sweater", "jeans", "shorts", "skirt", "swimsuit"}
FOOTWEAR = {"sneakers", "boots", "sandals"}
ELECTRONICS = {"headphones", "phone case", "charger"}
KITCHEN = {"mug", "kettle", "pan", "water bottle"}
OUTDOOR = {"tent", "sleeping bag", "camping chair", "backpack"}
CHINESE_CREATORS = {"Liu Cixin", "Yu Hua", "Wu Cheng'en", "Cao Xueqin", "Jay Chou", "Eason Chan", "Teresa Teng",
                    "Cui Jian", "Game Science", "miHoYo", "Keigo Higashino"}
CHINESE_FILMS = {"To Live (Huozhe) (1994)", "Farewell My Concubine (1993)", "Raise the Red Lantern (1991)",
                 "Eat Drink Man Woman (1994)", "Chungking Express (1994)", "Rumble in the Bronx (1995)",
                 "Supercop (1992)"}
START = datetime(2025, 1, 6, tzinfo=UTC)


def _attrs(item: dict) -> dict:
    return item.get("attributes") or {}


def _genres(item: dict) -> set[str]:
    return {g.lower() for g in _attrs(item).get("genres", [])}


def _product(item: dict, categories=None, **want) -> bool:
    """Return True for a product in the given categories whose attributes match every wanted value."""
    if item["domain"] != "product":
        return False
    a = _attrs(item)
    if categories and a.get("category") not in categories:
        return False
    for key, allowed in want.items():
        value = a.get(key)
        values = set(value) if isinstance(value, list) else {value}
        if not values & set(allowed):
            return False
    return True


def _media(item: dict, movie=(), book=(), music=(), game=()) -> bool:
    """Return True for a film/book/album/game whose genres meet the genre list given for its domain."""
    wanted = {"movie": movie, "book": book, "music": music, "game": game}.get(item["domain"], ())
    return bool(_genres(item) & {g.lower() for g in wanted})


# Taste profiles: name -> (predicate over catalog rows, summer-leaning months or None)
PROFILES = {
    "summer_womenswear": lambda i: _product(i, CLOTHING | FOOTWEAR | {"hat", "bag", "sunglasses"},
                                            season=["summer"], gender=["women", "unisex"]),
    "winter_warmth": lambda i: _product(i, CLOTHING | FOOTWEAR | {"hat", "scarf", "gloves"}, season=["winter"]),
    "menswear": lambda i: _product(i, CLOTHING | FOOTWEAR, gender=["men", "unisex"]),
    "budget_shopper": lambda i: i["domain"] == "product" and _attrs(i).get("price", 999) <= 30,
    "premium_fashion": lambda i: _product(i, CLOTHING | FOOTWEAR | {"bag", "scarf"}) and _attrs(i)["price"] >= 120,
    "gadgets": lambda i: _product(i, ELECTRONICS),
    "home_cook": lambda i: _product(i, KITCHEN),
    "hiker": lambda i: _product(i, OUTDOOR | {"water bottle"})
                       or _product(i, {"jacket", "sneakers", "boots", "sandals", "sunglasses"}, material=["nylon", "fleece"])
                       or "hiking" in i["title"].lower(),
    "scifi": lambda i: _media(i, movie=["Sci-Fi"], book=["science fiction", "space"], music=["soundtrack", "electronic"],
                              game=["science fiction", "space"]),
    "family": lambda i: _media(i, movie=["Animation", "Children's"], book=["children"], music=["soundtrack"],
                               game=["family", "platformer"]),
    "crime_thriller": lambda i: _media(i, movie=["Crime", "Thriller", "Film-Noir"], book=["mystery", "crime", "thriller"],
                                       game=["crime"]),
    "romance": lambda i: _media(i, movie=["Romance", "Musical"], book=["romance"], music=["pop", "soul"], game=["life"]),
    "classics": lambda i: i["domain"] in MEDIA and (_attrs(i).get("year") or 9999) < 1970,
    "horror": lambda i: _media(i, movie=["Horror"], book=["horror"]),
    "action_war": lambda i: _media(i, movie=["Action", "War", "Western"], game=["action", "shooter", "western"]),
    "chinese_culture": lambda i: i["title"] in CHINESE_FILMS or bool(
        {_attrs(i).get(k) for k in ("author", "artist", "developer")} & CHINESE_CREATORS),
    "rock_jazz": lambda i: _media(i, music=["rock", "jazz"], book=["classic"]),
    "strategy_rpg": lambda i: _media(i, game=["rpg", "strategy", "roguelike"], book=["fantasy"]),
}
PRODUCT_PROFILES = ["summer_womenswear", "winter_warmth", "menswear", "budget_shopper", "premium_fashion",
                    "gadgets", "home_cook", "hiker"]
MEDIA_PROFILES = [p for p in PROFILES if p not in PRODUCT_PROFILES]
SEASON_MONTHS = {"summer_womenswear": (5, 8), "winter_warmth": (10, 13)}


def load_catalog(path: Path) -> list[dict]:
    """Return the catalog rows from a JSON-lines file."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _when(rng: random.Random, profile: str) -> datetime:
    """Return an event time in 2025; seasonal profiles lean toward their months."""
    months = SEASON_MONTHS.get(profile)
    if months and rng.random() < 0.7:
        month = rng.randrange(*months)
        year, month = (2025, month) if month <= 12 else (2026, month - 12)
        day = datetime(year, month, 1, tzinfo=UTC)
    else:
        day = START + timedelta(days=rng.randrange(0, 350))
    return day + timedelta(days=rng.randrange(0, 28), seconds=rng.randrange(0, 86400))


def _rating(rng: random.Random, fits: bool) -> int:
    """Return a 1-5 star rating: fitting items mostly 4-5, others spread lower."""
    weights = (1, 2, 8, 30, 40) if fits else (12, 20, 30, 22, 8)
    return rng.choices((1, 2, 3, 4, 5), weights=weights)[0]


def _product_events(rng: random.Random, fits: bool) -> list[tuple[str, int]]:
    """Return a browse funnel for one product: always a view, then maybe click, like, purchase."""
    events = [("view", 1)]
    if rng.random() < (0.7 if fits else 0.25):
        events.append(("click", 1))
        if rng.random() < (0.45 if fits else 0.1):
            events.append(("like", 1))
        if rng.random() < (0.3 if fits else 0.03):
            events.append(("purchase", 1))
    return events


def _media_events(rng: random.Random, fits: bool) -> list[tuple[str, int]]:
    """Return events for one film/book/album/game: usually a rating, sometimes only a view or click."""
    r = rng.random()
    if r < 0.72:
        events = [("rating", _rating(rng, fits))]
        if fits and rng.random() < 0.2:
            events.append(("like", 1))
        return events
    return [("view", 1)] if r < 0.88 else [("view", 1), ("click", 1)]


def generate(catalog: list[dict], *, users: int = 150, seed: int = 20260101) -> list[dict]:
    """Return interaction rows (user, item, event, value, timestamp) for synthetic users, sorted by user then time."""
    rng = random.Random(seed)
    ids = [row["external_id"] for row in catalog]
    # A fixed popularity per item, so some items are broadly liked as in real logs.
    popularity = {i: 1.0 / (1 + rank) ** 0.6 for rank, i in enumerate(rng.sample(ids, len(ids)))}
    by_id = {row["external_id"]: row for row in catalog}
    pools = {name: [row for row in catalog if fits(row)] for name, fits in PROFILES.items()}
    rows: list[dict] = []
    for n in range(1, users + 1):
        user = f"u{n:03d}"
        first = rng.choice(PRODUCT_PROFILES if n % 2 else MEDIA_PROFILES)
        tastes = [first]
        if rng.random() < 0.45:
            other = PRODUCT_PROFILES if rng.random() < 0.5 else MEDIA_PROFILES
            second = rng.choice([p for p in other if p != first])
            tastes.append(second)
        liked_ids = {row["external_id"] for t in tastes for row in pools[t]}
        budget = max(8, int(rng.lognormvariate(3.15, 0.55)))
        chosen: dict[str, str] = {}
        while len(chosen) < budget and len(chosen) < len(ids):
            if rng.random() < 0.82:
                taste = rng.choice(tastes)
                pool = pools[taste]
                row = rng.choices(pool, weights=[popularity[r["external_id"]] for r in pool])[0]
            else:
                taste = tastes[0]
                row = rng.choices(catalog, weights=[popularity[i] for i in ids])[0]
            chosen.setdefault(row["external_id"], taste)
        user_rows = []
        for item, taste in chosen.items():
            fits = item in liked_ids
            start = _when(rng, taste)
            make = _product_events if by_id[item]["domain"] == "product" else _media_events
            when = start
            for event, value in make(rng, fits):
                user_rows.append({"user": user, "item": item, "event": event, "value": value,
                                  "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
                when += timedelta(seconds=rng.randrange(20, 600))  # funnel steps follow each other
        user_rows.sort(key=lambda r: (r["timestamp"], r["item"]))
        rows.extend(user_rows)
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    """Write rows to a CSV with the header user,item,event,value,timestamp."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["user", "item", "event", "value", "timestamp"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=HERE / "catalog.jsonl")
    parser.add_argument("--out", type=Path, default=HERE / "interactions.csv")
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    rows = generate(load_catalog(args.catalog), users=args.users, seed=args.seed)
    write_csv(rows, args.out)
    print(f"wrote {len(rows)} events for {args.users} users to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
