"""Loading demo data: the shipped sample catalog, plus MovieLens when there is one to load.

MovieLens comes from `data` (an archive name such as "ml-latest-small", read from the data folder or
downloaded from GroupLens, or the path of an unpacked MovieLens folder), else ml-100k when the data folder
holds it. Sample films MovieLens also has (same title) are not imported a second time: the sample's events
on them are pointed at the MovieLens items instead; the others stay as sample items.
"""
from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from recommender.models import Interaction, Item
from recommender.services import movielens
from recommender.services.importers import ImportFileError, ImportReport, import_catalog, import_interactions
from recommender.services.social_demo import social_demo_load

SAMPLE_SOURCE = "sample"
SAMPLE_USED = "the shipped sample catalog (films, products, books, music, games; English and Chinese)"


@dataclass
class DemoLoad:
    used: list[str] = field(default_factory=list)
    reports: list[ImportReport] = field(default_factory=list)


def movielens_folder(data: str, *, data_dir: Path | None, download_dir: Path,
                     progress: bool = False) -> tuple[Path, str]:
    """Return (unpacked MovieLens folder, where it came from) for `data`: a folder path or an archive name.

    An archive name is looked for in data_dir first and downloaded from GroupLens into download_dir otherwise.
    """
    path = Path(data).expanduser()
    if path.is_dir():
        return path, str(path)
    if data not in movielens.DOWNLOADABLE:
        raise ImportFileError(f"DATA={data!r} is neither a folder nor a MovieLens archive; "
                              f"use a folder or one of {', '.join(movielens.DOWNLOADABLE)}")
    if data_dir is not None and (data_dir / data).is_dir():
        return data_dir / data, str(data_dir / data)
    folder = movielens.download_movielens(data, download_dir, progress=progress)
    return folder, f"{movielens.GROUPLENS_URL.format(name=data)} (kept in {folder})"


def demo_load(*, data_dir: Path | None, progress: bool = False, movielens_on: bool = True, data: str | None = None,
              download_dir: Path | None = None) -> DemoLoad:
    """Import the demo data; return which data was used and the import reports."""
    from recommender.sample_data import catalog_path, interactions_path

    result = DemoLoad()
    folder, origin = None, ""
    if data:
        folder, origin = movielens_folder(data, data_dir=data_dir, download_dir=download_dir or Path("downloads"),
                                          progress=progress)
    elif movielens_on and data_dir is not None and (data_dir / "ml-100k" / "u.data").is_file():
        folder, origin = data_dir / "ml-100k", str(data_dir / "ml-100k")
    source = None
    if folder is not None:
        reports = movielens.import_movielens(folder, progress=progress)
        result.reports.extend(reports)
        source = folder.name if folder.name.startswith("ml-") else f"ml-{movielens.detect_flavour(folder)}"
        films = Item.objects.filter(source=source, domain="movie").count()
        ratings = Interaction.objects.filter(item__source=source, profile__source=source).count()
        result.used.append(f"MovieLens {source} from {origin}: {films:,} films, {ratings:,} ratings")
    with tempfile.TemporaryDirectory() as scratch:
        catalog, events = catalog_path(), interactions_path()
        if source is not None:
            catalog, events = _films_to_movielens(catalog, events, Path(scratch), source)
        result.reports.append(import_catalog(catalog, source=SAMPLE_SOURCE, progress=progress))
        result.reports.append(import_interactions(events, source=SAMPLE_SOURCE, user_source=SAMPLE_SOURCE,
                                                  progress=progress))
        result.reports += social_demo_load(source=SAMPLE_SOURCE, scratch=Path(scratch), movielens_source=source,
                                           repoint=_films_to_movielens,
                                           progress=progress)
    result.used.append(SAMPLE_USED)
    return result


def _films_to_movielens(catalog: Path, events: Path, scratch: Path, source: str) -> tuple[Path, Path]:
    """Return copies of the sample files without the films MovieLens holds, their events re-pointed at them.

    A film is the same when its title is or, as MovieLens sets spell some titles differently ("Twelve Monkeys
    (1995)", "Twelve Monkeys (a.k.a. 12 Monkeys) (1995)"), when its year and either its name before any
    parenthesis or one of its aliases are.
    """
    by_title: dict[str, str] = {}
    by_alias: dict[tuple[int | None, str], str] = {}
    for title, external_id, aliases, attributes in Item.objects.filter(source=source, domain="movie").values_list(
            "title", "external_id", "aliases", "attributes"):
        by_title[title] = external_id
        year = (attributes or {}).get("year")
        for alias in [_base_name(title), *(aliases or [])]:
            by_alias.setdefault((year, alias), external_id)
    moved_ids: dict[str, str] = {}
    kept = scratch / "catalog.jsonl"
    with open(catalog, encoding="utf-8") as rows, open(kept, "w", encoding="utf-8") as out:
        for line in rows:
            if not line.strip():
                continue
            row = json.loads(line)
            same = None
            if row.get("domain") == "movie":
                year = (row.get("attributes") or {}).get("year")
                names = [_base_name(row.get("title") or ""), *(row.get("aliases") or [])]
                same = by_title.get(row.get("title")) or next(
                    (by_alias[(year, a)] for a in names if (year, a) in by_alias), None)
            if same is not None:
                moved_ids[row["external_id"]] = same
            else:
                out.write(line)
    moved = scratch / "interactions.csv"
    with open(events, encoding="utf-8", newline="") as rows, open(moved, "w", encoding="utf-8", newline="") as out:
        reader = csv.DictReader(rows)
        writer = csv.DictWriter(out, fieldnames=[*(reader.fieldnames or []), "source"])
        writer.writeheader()
        for row in reader:
            if row["item"] in moved_ids:
                row["item"], row["source"] = moved_ids[row["item"]], source
            else:
                row["source"] = SAMPLE_SOURCE
            writer.writerow(row)
    return kept, moved


def _base_name(title: str) -> str:
    """Return a MovieLens title's name before any parenthesis, in lower case ("twelve monkeys")."""
    return title.split(" (", 1)[0].strip().lower()
