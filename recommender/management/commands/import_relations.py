"""Import social ties (friend / follows / trusts) from a CSV or JSON Lines file (schema: docs/import_formats.md)."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.management.commands._reporting import write_reports
from recommender.services.importers import ImportFileError
from recommender.services.relations import import_relations


class Command(BaseCommand):
    help = "Import who is friends with, follows or trusts whom (columns user, other, kind, weight, timestamp)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source",
            default="catalog",
            help="Namespace of the user ids (the --user-source the interactions were imported with).",
        )
        parser.add_argument("--strict", action="store_true", help="Import nothing if any row is malformed.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        started = time.perf_counter()
        try:
            report = import_relations(
                options["file"], source=options["source"], strict=options["strict"], progress=not options["no_progress"]
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        write_reports(self, [report], time.perf_counter() - started)
        if options["strict"] and report.error_count:
            raise CommandError("strict import rejected the file; nothing was written")
