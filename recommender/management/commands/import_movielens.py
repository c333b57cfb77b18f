"""Import MovieLens 100K or latest/25M-style data: `import_movielens --path DIR` or `--download NAME`."""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recommender.management.commands._reporting import write_reports
from recommender.services.importers import ImportFileError
from recommender.services.movielens import DOWNLOADABLE, download_movielens, import_movielens


class Command(BaseCommand):
    help = "Import MovieLens items, users and ratings (detects the 100K or the CSV layout)."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--path", type=Path, help="An unpacked MovieLens folder.")
        group.add_argument("--download", choices=DOWNLOADABLE, help="Fetch an official GroupLens archive (cached).")
        parser.add_argument("--cache-dir", type=Path, default=None, help="Where downloads are kept.")
        parser.add_argument("--aliases", type=Path, default=None, help="CSV of movielens_title,alias.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        started = time.perf_counter()
        progress = not options["no_progress"]
        try:
            directory = options["path"]
            if options["download"]:
                cache = options["cache_dir"] or Path(settings.VAR_DIR) / "downloads"
                directory = download_movielens(options["download"], cache, progress=progress)
                self.stdout.write(f"using {directory}")
            reports = import_movielens(directory, progress=progress, alias_path=options["aliases"])
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        write_reports(self, reports, time.perf_counter() - started)
