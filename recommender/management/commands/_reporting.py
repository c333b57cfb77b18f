"""Shared output for import commands: a summary per file and the first rejected rows."""
from __future__ import annotations

from recommender.services.importers import ImportReport

ERRORS_SHOWN = 20


def write_reports(command, reports: list[ImportReport], elapsed: float) -> None:
    for report in reports:
        style = command.style.WARNING if report.error_count else command.style.SUCCESS
        command.stdout.write(style(report.summary()))
        for line, reason in report.errors[:ERRORS_SHOWN]:
            command.stdout.write(f"  line {line}: {reason}")
        if report.error_count > ERRORS_SHOWN:
            command.stdout.write(f"  ... and {report.error_count - ERRORS_SHOWN} more rejected rows")
        for note in report.notes:
            command.stdout.write(command.style.WARNING(f"  {note}"))
    command.stdout.write(f"done in {elapsed:.1f} s")
