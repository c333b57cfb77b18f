"""Import speed: MovieLens 100K and latest-small into a fresh SQLite and a fresh PostgreSQL database.

    python -m benchmarks.imports [--data-dir ../shared/data] [--postgres postgres://postgres@127.0.0.1:5432/postgres]

Each run is a fresh `manage.py import_movielens` process on an empty, migrated database; the figure is the
wall time of that process (start-up included). Results go to docs/benchmarks.md (section "import").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from benchmarks.common import REPO, add_data_dir, data_root, write_section

TARGETS = {"ml-100k": 20.0, "ml-latest-small": 30.0}


def _run(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _psql(admin_url: str, sql: str) -> None:
    parsed = urlparse(admin_url)
    subprocess.run(["psql", "-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432), "-U",
                    parsed.username or "postgres", "-d", parsed.path.lstrip("/") or "postgres", "-qc", sql],
                   check=True, stdout=subprocess.DEVNULL)


def measure(data_dir: Path, postgres_admin: str | None) -> list[dict]:
    rows = []
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    for dataset in TARGETS:
        folder = data_dir / dataset
        if not folder.is_dir():
            print(f"skipping {dataset}: {folder} not found")
            continue
        backends = [("SQLite", None)]
        if postgres_admin:
            backends.append(("PostgreSQL", postgres_admin))
        for label, admin in backends:
            with tempfile.TemporaryDirectory() as var:
                env = {**base, "CHATREC_VAR_DIR": var, "CHATREC_LLM_BACKEND": "none"}
                if admin:
                    name = f"chatrec_import_bench_{os.getpid()}"
                    _psql(admin, f"DROP DATABASE IF EXISTS {name}")
                    _psql(admin, f"CREATE DATABASE {name}")
                    env["DATABASE_URL"] = urlunparse(urlparse(admin)._replace(path=f"/{name}"))
                try:
                    _run(["migrate", "-v0"], env)
                    seconds = _run(["import_movielens", "--path", str(folder), "--no-progress"], env)
                    again = _run(["import_movielens", "--path", str(folder), "--no-progress"], env)
                finally:
                    if admin:
                        _psql(admin, f"DROP DATABASE IF EXISTS {name}")
            row = {"dataset": dataset, "database": label, "seconds": round(seconds, 2),
                   "reimport_seconds": round(again, 2), "target_seconds": TARGETS[dataset]}
            print(json.dumps(row))
            rows.append(row)
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = [
        "## Import speed",
        "",
        "`python -m benchmarks.imports --data-dir ../shared/data` — one fresh `import_movielens` process per",
        "row on an empty, migrated database (wall time including process start-up); the re-import of the same",
        "folder (which stores nothing new) is shown beside it. 2-core machine, shared with other work.",
        "",
        "| dataset | database | import (s) | re-import (s) | target (s) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['dataset']} | {row['database']} | {row['seconds']:.1f} | {row['reimport_seconds']:.1f} "
                     f"| < {row['target_seconds']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_dir(parser, "folder holding ml-100k/ and ml-latest-small/")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="An admin URL used to create and drop a scratch database; '' to skip PostgreSQL.")
    args = parser.parse_args(argv)
    rows = measure(data_root(args.data_dir), args.postgres or None)
    write_section("import", to_markdown(rows))


if __name__ == "__main__":
    main()
