"""Load demo data: the shipped sample catalog, plus MovieLens (`--data NAME|PATH`, else ml-100k when present)."""
from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recommender.management.commands._reporting import write_reports
from recommender.services.demo import demo_load
from recommender.services.importers import ImportFileError
from recommender.services.movielens import DOWNLOADABLE


class Command(BaseCommand):
    help = "Load the demo catalog and interactions (idempotent: safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--data", default=None,
                            help=f"MovieLens to load beside the sample: an archive name ({', '.join(DOWNLOADABLE)}; "
                                 "read from the data folder, else downloaded from GroupLens) or an unpacked folder.")
        parser.add_argument("--data-dir", type=Path, default=None, help="Folder holding ml-100k/ (default: CHATREC_DATA_DIR).")
        parser.add_argument("--sample-only", action="store_true", help="Skip MovieLens even when it is available.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        started = time.perf_counter()
        data_dir = options["data_dir"] or Path(settings.CHATREC_DATA_DIR)
        try:
            loaded = demo_load(data_dir=data_dir, progress=not options["no_progress"],
                               movielens_on=not options["sample_only"], data=options["data"],
                               download_dir=Path(settings.VAR_DIR) / "downloads")
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        write_reports(self, loaded.reports, time.perf_counter() - started)
        for used in loaded.used:
            self.stdout.write(self.style.SUCCESS(f"demo data: {used}"))
        if len(loaded.used) == 1 and not options["sample_only"]:
            self.stdout.write(f"(no ml-100k under {data_dir}; `make demo DATA=ml-latest-small` downloads MovieLens "
                              "from GroupLens, or set CHATREC_DATA_DIR)")
