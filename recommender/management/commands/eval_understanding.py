"""Evaluate conversational understanding on the labelled dev set (runs benchmarks.understanding)."""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from benchmarks import understanding


class Command(BaseCommand):
    help = "Print intent accuracy, slot precision/recall/F1 per slot type and language, and latency p50/p95."

    def add_arguments(self, parser):
        parser.add_argument("--holdout", action="store_true", help="Also evaluate the held-out conversations.")
        parser.add_argument("--backend", default=None, help="LLM backend (default: CHATREC_LLM_BACKEND).")
        parser.add_argument("--data-dir", default=None,
                            help="Folder holding ml-100k/ and ml-latest-small/ (default: CHATREC_DATA_DIR).")
        parser.add_argument("--catalog", default="both", choices=("ml-100k", "ml-latest-small", "both"),
                            help="Movie catalog the film conversations are grounded in (default: both).")
        parser.add_argument("--errors", action="store_true", help="Print every turn that differs from its label.")
        parser.add_argument("--write-docs", action="store_true", help="Write the figures into docs/benchmarks.md.")

    def handle(self, *args, **options):
        backend = options["backend"] or getattr(settings, "CHATREC_LLM", {}).get("backend", "llamacpp")
        argv = ["--backend", backend, "--data-dir", str(options["data_dir"] or settings.CHATREC_DATA_DIR),
                "--catalog", options["catalog"]]
        argv += [f"--{flag.replace('_', '-')}" for flag in ("holdout", "errors", "write_docs") if options[flag]]
        understanding.main(argv)
