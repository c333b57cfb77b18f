"""What every benchmark shares: the repository's paths, the data-folder rule, the docs section writer and the
percentile definition."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from common.stats import percentile  # noqa: F401  (the one percentile, re-exported for benchmarks)

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO / "docs" / "benchmarks.md"
DATA_DIR_ENV = "CHATREC_DATA_DIR"


def data_root(value: str | Path | None = None) -> Path:
    """Return the data folder: value if given, else $CHATREC_DATA_DIR, else ../shared/data beside the repository."""
    return Path(value or os.environ.get(DATA_DIR_ENV) or REPO.parent / "shared" / "data")


def cache_dir(*parts: str) -> Path:
    """Return the folder benchmarks keep what they may reuse between runs: $CHATREC_VAR_DIR (else var/) /bench-cache."""
    return Path(os.environ.get("CHATREC_VAR_DIR") or REPO / "var").joinpath("bench-cache", *parts)


def add_data_dir(parser: argparse.ArgumentParser, help: str = "folder holding the datasets") -> None:
    """Add --data-dir (default: data_root()) to a benchmark's argument parser."""
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"{help} (default: ${DATA_DIR_ENV}, else ../shared/data)")


def without_damping(bundle) -> None:
    """Serve a loaded version's words without each item's hubness taken off their match (for comparison)."""
    for ranker in bundle.hybrid.components.values():
        if hasattr(ranker, "hubness"):
            ranker.hubness = None


def write_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the text between <!-- BEGIN name --> and <!-- END name --> (appending the section if absent)."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def sample_likes() -> tuple[list[str], list[str], list[float]]:
    """Return the sample catalog's synthetic likes as (users, items, timestamps): views are too weak a signal and
    ratings below 4 are no likes, so both are left out."""
    import csv
    from datetime import datetime

    from recommender.sample_data import interactions_path

    users, items, times = [], [], []
    with open(interactions_path(), encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["event"] == "view" or (row["event"] == "rating" and float(row["value"] or 0) < 4):
                continue
            users.append(row["user"])
            items.append(row["item"])
            times.append(datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp())
    return users, items, times
