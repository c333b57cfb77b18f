"""Import catalog items from a CSV or JSON Lines file (schema: docs/import_formats.md)."""
from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.management.commands._reporting import write_reports
from recommender.services.importers import ImportFileError, import_catalog


class Command(BaseCommand):
    help = "Import catalog items (any domain) from CSV or JSON Lines; re-importing updates, never duplicates."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", default="catalog", help="Source name for rows that do not give one.")
        parser.add_argument("--domain", default="product", help="Domain for rows that do not give one.")
        parser.add_argument("--strict", action="store_true", help="Import nothing if any row is malformed.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            report = import_catalog(options["file"], source=options["source"], domain=options["domain"],
                                    strict=options["strict"], progress=not options["no_progress"])
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        write_reports(self, [report], time.perf_counter() - started)
        if options["strict"] and report.error_count:
            raise CommandError("strict import rejected the file; nothing was written")
