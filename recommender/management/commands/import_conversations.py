"""Import recorded recommendation dialogues: `import_conversations FILE [FILE...] [--format redial|jsonl] [--source NAME]`."""
from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from recommender.management.commands._reporting import write_reports
from recommender.services.dialogues import FORMATS, catalog_linker, dialogues_import
from recommender.services.importers import ImportFileError


class Command(BaseCommand):
    help = ("Store recorded dialogues (ReDial or the generic JSON-lines format of docs/import_formats.md), linking "
            "the movies they name to catalog items by title and year. Re-importing stores nothing twice.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="redial")
        parser.add_argument("--source", default=None, help="Name of the source (default: the format name).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        started = time.perf_counter()
        linker = catalog_linker()
        reports = []
        try:
            for path in options["files"]:
                reports.append(dialogues_import(path=path, fmt=options["fmt"], source=options["source"] or options["fmt"],
                                                progress=not options["no_progress"], linker=linker))
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        write_reports(self, reports, time.perf_counter() - started)
