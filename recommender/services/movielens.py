"""MovieLens: detect the flavour of a directory, import it, or download the official archive."""
from __future__ import annotations

import csv
import shutil
import urllib.error
import urllib.request
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from recommender.engine.data import ML100K_GENRES, parse_ml100k_item
from recommender.models import Profile
from recommender.services.importers import (
    BATCH_SIZE,
    YEAR_IN_TITLE,
    ImportFileError,
    ImportReport,
    ensure_profiles,
    existing_items,
    store_events,
    upsert_items,
)

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/{name}.zip"
DOWNLOADABLE = ("ml-100k", "ml-latest-small", "ml-latest", "ml-1m", "ml-25m", "ml-32m")
ML100K_FILES = ("u.data", "u.item")
LATEST_FILES = ("movies.csv", "ratings.csv")


def detect_flavour(directory: Path) -> str:
    """Return '100k' (u.data/u.item) or 'latest' (movies.csv/ratings.csv) for a MovieLens directory."""
    if not directory.is_dir():
        raise ImportFileError(f"{directory}: not a directory; pass the unpacked MovieLens folder with --path")
    if all((directory / name).is_file() for name in ML100K_FILES):
        return "100k"
    if all((directory / name).is_file() for name in LATEST_FILES):
        return "latest"
    raise ImportFileError(
        f"{directory}: not a MovieLens folder — expected u.data + u.item (100K) or movies.csv + ratings.csv"
    )


def year_from_title(title: str) -> int | None:
    """Return the release year in a MovieLens title such as 'Toy Story (1995)'."""
    match = YEAR_IN_TITLE.search(title)
    return int(match.group(1)) if match else None


def load_alias_table(path: Path | None) -> dict[str, list[str]]:
    """Return {MovieLens title: [aliases]} from a `movielens_title,alias` CSV, if there is one."""
    if path is None or not path.is_file():
        return {}
    table: dict[str, list[str]] = defaultdict(list)
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            title, alias = (row.get("movielens_title") or "").strip(), (row.get("alias") or "").strip()
            if title and alias and alias not in table[title]:
                table[title].append(alias)
    return dict(table)


def default_alias_path() -> Path | None:
    try:
        from recommender.sample_data import movie_aliases_path
    except ImportError:
        return None
    return movie_aliases_path()


def import_movielens(directory: Path, *, progress: bool = False, alias_path: Path | None = None) -> list[ImportReport]:
    """Import a MovieLens folder (100K or latest/25M layout); return one report per file."""
    directory = Path(directory)
    flavour = detect_flavour(directory)
    aliases = load_alias_table(alias_path if alias_path is not None else default_alias_path())
    source = directory.name if directory.name.startswith("ml-") else f"ml-{flavour}"
    if flavour == "100k":
        return _import_100k(directory, source, aliases, progress)
    return _import_latest(directory, source, aliases, progress)


def _read_lines(path: Path, encoding: str) -> list[str]:
    try:
        return path.read_text(encoding=encoding).splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None


def _item_fields(source: str, movie_id: str, title: str, genres: list[str], aliases: dict, extra: dict) -> dict:
    attributes = {"genres": genres, **extra}
    year = year_from_title(title)
    if year is not None:
        attributes["year"] = year
    return {
        "source": source,
        "external_id": movie_id,
        "domain": "movie",
        "title": title[:512],
        "description": "",
        "aliases": aliases.get(title, []),
        "image_url": "",
        "attributes": attributes,
    }


def _import_100k(directory: Path, source: str, aliases: dict, progress: bool) -> list[ImportReport]:
    genre_names = list(ML100K_GENRES)
    genre_file = directory / "u.genre"
    if genre_file.is_file():
        named = [line.split("|") for line in _read_lines(genre_file, "latin-1") if "|" in line]
        genre_names = [name for name, _ in sorted(named, key=lambda pair: int(pair[1]))]
    items_report = ImportReport(label="u.item")
    rows = []
    for number, line in enumerate(_read_lines(directory / "u.item", "latin-1"), start=1):
        if not line.strip():
            continue
        items_report.rows += 1
        parsed = parse_ml100k_item(line, genre_names)
        if parsed is None:
            items_report.add_error(number, f"expected id|title|date|video date|url|{len(genre_names)} genre flags")
            continue
        movie_id, title, released, genres = parsed
        extra = {"release_date": released} if released else {}
        rows.append(_item_fields(source, movie_id, title, genres, aliases, extra))
    upsert_items(rows, items_report)

    demographics = {}
    users_report = ImportReport(label="u.user")
    user_file = directory / "u.user"
    if user_file.is_file():
        for number, line in enumerate(_read_lines(user_file, "latin-1"), start=1):
            if not line.strip():
                continue
            users_report.rows += 1
            fields = line.split("|")
            if len(fields) != 5 or not fields[1].isdigit():
                users_report.add_error(number, "expected id|age|gender|occupation|zip")
                continue
            demographics[fields[0]] = {"age": int(fields[1]), "gender": fields[2], "occupation": fields[3], "zip": fields[4]}
        before = Profile.objects.filter(kind=Profile.Kind.IMPORTED, source=source).count()
        ensure_profiles(source, demographics.keys(), demographics)
        after = Profile.objects.filter(kind=Profile.Kind.IMPORTED, source=source).count()
        users_report.created = after - before
        users_report.updated = len(demographics) - users_report.created

    ratings_report = ImportReport(label="u.data")
    ratings = []
    for number, line in enumerate(_read_lines(directory / "u.data", "latin-1"), start=1):
        if not line.strip():
            continue
        ratings_report.rows += 1
        fields = line.split("\t")
        try:
            user, movie, value, stamp = fields[0], fields[1], float(fields[2]), int(fields[3])
            if len(fields) != 4 or not 0.5 <= value <= 5:
                raise ValueError
        except (ValueError, IndexError):
            ratings_report.add_error(number, "expected user<TAB>item<TAB>rating(1-5)<TAB>timestamp")
            continue
        ratings.append((number, user, movie, value, stamp))
    _store_ratings(ratings, source, ratings_report, progress)
    return [items_report, users_report, ratings_report]


def _open_csv(path: Path):
    try:
        return open(path, encoding="utf-8", newline="")
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None


def _import_latest(directory: Path, source: str, aliases: dict, progress: bool) -> list[ImportReport]:
    tags: dict[str, list[str]] = defaultdict(list)
    tags_report = ImportReport(label="tags.csv")
    tag_file = directory / "tags.csv"
    if tag_file.is_file():
        with _open_csv(tag_file) as handle:
            for row in csv.DictReader(handle):
                tags_report.rows += 1
                tag, movie = (row.get("tag") or "").strip(), (row.get("movieId") or "").strip()
                if not tag or not movie:
                    tags_report.add_error(tags_report.rows + 1, "missing movieId or tag")
                    continue
                if tag.lower() not in (t.lower() for t in tags[movie]):
                    tags[movie].append(tag)

    items_report = ImportReport(label="movies.csv")
    rows = []
    with _open_csv(directory / "movies.csv") as handle:
        reader = csv.DictReader(handle)
        if not {"movieId", "title", "genres"} <= set(reader.fieldnames or []):
            raise ImportFileError(f"{directory / 'movies.csv'}: expected columns movieId,title,genres")
        for row in reader:
            items_report.rows += 1
            movie, title = (row.get("movieId") or "").strip(), (row.get("title") or "").strip()
            if not movie.isdigit() or not title:
                items_report.add_error(reader.line_num, "missing movieId or title")
                continue
            genres = [g for g in (row.get("genres") or "").split("|") if g and g != "(no genres listed)"]
            item = _item_fields(source, movie, title, genres, aliases, {"tags": tags[movie]} if tags.get(movie) else {})
            if tags.get(movie):
                item["description"] = "Tags: " + ", ".join(tags[movie])
            rows.append(item)
    for start in range(0, len(rows), BATCH_SIZE):
        upsert_items(rows[start:start + BATCH_SIZE], items_report)

    ratings_report = ImportReport(label="ratings.csv")
    ratings = []
    with _open_csv(directory / "ratings.csv") as handle:
        reader = csv.DictReader(handle)
        if not {"userId", "movieId", "rating", "timestamp"} <= set(reader.fieldnames or []):
            raise ImportFileError(f"{directory / 'ratings.csv'}: expected columns userId,movieId,rating,timestamp")
        for row in reader:
            ratings_report.rows += 1
            try:
                value, stamp = float(row["rating"]), int(row["timestamp"])
                if not 0.5 <= value <= 5 or not row["userId"] or not row["movieId"]:
                    raise ValueError
            except (ValueError, TypeError, KeyError):
                ratings_report.add_error(reader.line_num, "expected userId,movieId,rating(0.5-5),timestamp")
                continue
            ratings.append((reader.line_num, row["userId"].strip(), row["movieId"].strip(), value, stamp))
    _store_ratings(ratings, source, ratings_report, progress)
    return [items_report, tags_report, ratings_report]


def _store_ratings(ratings: list[tuple], source: str, report: ImportReport, progress: bool) -> None:
    """Resolve (line, user, movie, value, stamp) rows and store them as rating events in batches."""
    items = existing_items({(source, movie) for _, _, movie, _, _ in ratings})
    bar = tqdm(total=len(ratings), desc="ratings", unit=" rows", disable=not progress, mininterval=0.5)
    for start in range(0, len(ratings), BATCH_SIZE):
        chunk = ratings[start:start + BATCH_SIZE]
        profiles = ensure_profiles(source, (user for _, user, _, _, _ in chunk))
        events = []
        for line, user, movie, value, stamp in chunk:
            item_pk = items.get((source, movie))
            if item_pk is None:
                report.add_error(line, f"unknown movie id {movie}")
                continue
            events.append({
                "profile_id": profiles[user],
                "item_id": item_pk,
                "kind": "rating",
                "value": value,
                "occurred_at": datetime.fromtimestamp(stamp, tz=UTC),
                "idempotency_key": f"{source}:{user}:{movie}:rating:{stamp}",
            })
        store_events(events, report, user_source=source)
        bar.update(len(chunk))
    bar.close()


def download_movielens(name: str, cache_dir: Path, *, timeout: float = 15.0, progress: bool = False) -> Path:
    """Return the unpacked folder of an official GroupLens archive, downloading it once into cache_dir."""
    if name not in DOWNLOADABLE:
        raise ImportFileError(f"unknown MovieLens archive {name!r}; choose one of {', '.join(DOWNLOADABLE)}")
    target = cache_dir / name
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    archive = cache_dir / f"{name}.zip"
    url = GROUPLENS_URL.format(name=name)
    partial = archive.with_suffix(".zip.part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise ImportFileError(
            f"could not download {url} ({exc}); if this machine is offline, unpack the archive yourself "
            f"and pass its folder with --path"
        ) from None
    partial.replace(archive)
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(cache_dir)
    except zipfile.BadZipFile:
        archive.unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        raise ImportFileError(f"{archive}: the download is not a valid zip archive") from None
    if not target.is_dir():
        raise ImportFileError(f"{archive}: the archive does not contain a {name}/ folder")
    return target
