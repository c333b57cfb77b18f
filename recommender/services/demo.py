"""Loading demo data: MovieLens from CHATREC_DATA_DIR when present, plus the shipped sample catalog."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from recommender.services.importers import ImportReport, import_catalog, import_interactions
from recommender.services.movielens import import_movielens

SAMPLE_SOURCE = "sample"


@dataclass
class DemoLoad:
    used: list[str] = field(default_factory=list)
    reports: list[ImportReport] = field(default_factory=list)


def demo_load(*, data_dir: Path | None, progress: bool = False, movielens: bool = True) -> DemoLoad:
    """Import the sample catalog and, when data_dir holds ml-100k, MovieLens 100K; return what was used."""
    from recommender.sample_data import catalog_path, interactions_path

    result = DemoLoad()
    result.reports.append(import_catalog(catalog_path(), source=SAMPLE_SOURCE, progress=progress))
    result.reports.append(import_interactions(interactions_path(), source=SAMPLE_SOURCE, progress=progress))
    result.used.append(f"the shipped sample catalog ({catalog_path().name})")
    ml100k = data_dir / "ml-100k" if data_dir else None
    if movielens and ml100k and (ml100k / "u.data").is_file():
        result.reports.extend(import_movielens(ml100k, progress=progress))
        result.used.append(f"MovieLens 100K from {ml100k}")
    return result
