"""What every benchmark shares: the repository's paths, the data-folder rule, the docs section writer and the
percentile definition."""
from __future__ import annotations

import argparse
import math
import os
from collections.abc import Iterable
from pathlib import Path

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


def percentile(values: Iterable[float], q: float) -> float | None:
    """Return the q-th percentile (0-100) by nearest rank, or None without values.

    The one definition every benchmark's p50/p95/p99 uses, so figures compare across docs/benchmarks.md and
    docs/reliability.md: the smallest observed value with at least q % of the values at or below it (no
    interpolation; p100 is the maximum). numpy's default (linear interpolation) reports values never observed
    and, on small samples, lower tails than this.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100, not {q}")
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])
