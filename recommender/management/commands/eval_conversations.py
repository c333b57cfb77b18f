"""Replay the development ReDial dialogues against the catalog: `eval_conversations [--system] [--limit N]`."""
from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Conversational recommendation on the ReDial development split (dedup recall@1/10/50): baselines, the "
            "engine-only mix and, with --system, the REST API's path on this database's active model.")

    def add_arguments(self, parser):
        parser.add_argument("--data-dir", default=None, help="Folder holding ml-latest-small/ and redial/.")
        parser.add_argument("--system", action="store_true", help="Also replay the REST API's path.")
        parser.add_argument("--limit", type=int, default=None, help="Only the first N turns (a quick look).")
        parser.add_argument("--no-docs", action="store_true", help="Do not rewrite docs/benchmarks.md.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        from benchmarks.conversations import main

        argv = [flag for flag, on in (("--system", options["system"]), ("--no-docs", options["no_docs"]),
                                      ("--no-progress", options["no_progress"])) if on]
        if options["data_dir"]:
            argv += ["--data-dir", options["data_dir"]]
        if options["limit"]:
            argv += ["--limit", str(options["limit"])]
        main(argv)
