"""Export stored feedback (presses, ratings, chat-inferred likes, reply thumbs) as JSON Lines or CSV."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from chat.exports import FORMATS, ExportFilter, export_lines, feedback_rows


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--{name} must be a date as YYYY-MM-DD, not {text!r}") from None


class Command(BaseCommand):
    help = (
        "Export feedback events with their origin, conversation, shown list, arm and propensity; item events "
        "re-import with import_interactions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=FORMATS, default="jsonl")
        parser.add_argument("--start", help="first day, YYYY-MM-DD (default: the first event)")
        parser.add_argument("--end", help="last day, YYYY-MM-DD, inclusive (default: today)")
        parser.add_argument("--domain", default="", help="only items of this catalog domain")
        parser.add_argument("--no-replies", action="store_true", help="leave out thumbs on replies")
        parser.add_argument("--output", type=Path, help="file to write (default: standard output)")

    def handle(self, *args, **options):
        start, end = _day(options["start"], "start"), _day(options["end"], "end")
        if start and end and start > end:
            raise CommandError("--start is after --end")
        rows = feedback_rows(
            ExportFilter(start=start, end=end, domain=options["domain"]), replies=not options["no_replies"]
        )
        out = options["output"].open("w", encoding="utf-8", newline="") if options["output"] else sys.stdout
        count = -1 if options["format"] == "csv" else 0  # the CSV header is a line too
        try:
            for line in export_lines(rows, options["format"]):
                out.write(line)
                count += line.count("\n")
        finally:
            if options["output"]:
                out.close()
        self.stderr.write(f"exported {max(count, 0)} rows")
