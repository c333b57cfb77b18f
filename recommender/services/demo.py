"""Loading demo data: the shipped sample catalog, plus MovieLens 100K from CHATREC_DATA_DIR when present.

The sample's films carry MovieLens 100K ids (`ml-<id>`). When MovieLens is loaded too, those films are
not imported a second time: the sample's events on them are pointed at the MovieLens items instead.
"""
from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from recommender.services.importers import ImportReport, import_catalog, import_interactions
from recommender.services.movielens import import_movielens

SAMPLE_SOURCE = "sample"
ML100K_SOURCE = "ml-100k"
SAMPLE_FILM_PREFIX = "ml-"


@dataclass
class DemoLoad:
    used: list[str] = field(default_factory=list)
    reports: list[ImportReport] = field(default_factory=list)


def demo_load(*, data_dir: Path | None, progress: bool = False, movielens: bool = True) -> DemoLoad:
    """Import the demo data; return which data was used and the import reports."""
    from recommender.sample_data import catalog_path, interactions_path

    result = DemoLoad()
    ml100k = data_dir / "ml-100k" if data_dir else None
    with_movielens = bool(movielens and ml100k and (ml100k / "u.data").is_file())
    if with_movielens:
        result.reports.extend(import_movielens(ml100k, progress=progress))
        result.used.append(f"MovieLens 100K from {ml100k}")
    with tempfile.TemporaryDirectory() as scratch:
        catalog, events = catalog_path(), interactions_path()
        if with_movielens:
            catalog, events = _films_to_movielens(catalog, events, Path(scratch))
        result.reports.append(import_catalog(catalog, source=SAMPLE_SOURCE, progress=progress))
        result.reports.append(import_interactions(events, source=SAMPLE_SOURCE, user_source=SAMPLE_SOURCE,
                                                  progress=progress))
    result.used.append("the shipped sample catalog (films, products, books, music, games; English and Chinese)")
    return result


def _films_to_movielens(catalog: Path, events: Path, scratch: Path) -> tuple[Path, Path]:
    """Return copies of the sample files without the films, with film events re-pointed at ml-100k ids."""
    kept = scratch / "catalog.jsonl"
    with open(catalog, encoding="utf-8") as source, open(kept, "w", encoding="utf-8") as out:
        for line in source:
            if line.strip() and json.loads(line).get("domain") != "movie":
                out.write(line)
    moved = scratch / "interactions.csv"
    with open(events, encoding="utf-8", newline="") as source, open(moved, "w", encoding="utf-8", newline="") as out:
        reader = csv.DictReader(source)
        writer = csv.DictWriter(out, fieldnames=[*reader.fieldnames, "source"])
        writer.writeheader()
        for row in reader:
            if row["item"].startswith(SAMPLE_FILM_PREFIX):
                row["item"], row["source"] = row["item"][len(SAMPLE_FILM_PREFIX):], ML100K_SOURCE
            else:
                row["source"] = SAMPLE_SOURCE
            writer.writerow(row)
    return kept, moved
