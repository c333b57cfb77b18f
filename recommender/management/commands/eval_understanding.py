"""Evaluate conversational understanding on the labelled dev set (the run is recommender.engine.understanding.dev_sets;
`python -m benchmarks.understanding --write-docs` also records it in docs/benchmarks.md)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from recommender import sample_data
from recommender.engine.llm import start_backend
from recommender.engine.understanding import dev_sets

LABELS = Path(settings.BASE_DIR) / "tests" / "data"


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

    def handle(self, *args, **options):
        name = options["backend"] or settings.CHATREC_LLM["backend"]
        backend, error = start_backend({"backend": name})
        if error:
            self.stderr.write(f"LLM backend {name!r} unavailable ({error}); evaluating with rules only")
        sets = [("dev", LABELS / "understanding_dev.jsonl")]
        if options["holdout"]:
            sets.append(("held-out", LABELS / "understanding_dev_holdout.jsonl"))
        movies = ["ml-100k", "ml-latest-small"] if options["catalog"] == "both" else [options["catalog"]]
        sample = dev_sets.SampleCatalog(items=sample_data.load_catalog(), aliases=sample_data.load_movie_aliases())
        data_dir = Path(options["data_dir"] or settings.CHATREC_DATA_DIR)
        run = dev_sets.run_dev_sets(sets, movies, data_dir, backend, sample, label_root=Path(settings.BASE_DIR))
        for result, block in zip(run.results.values(), run.blocks):
            self.stdout.write(block + "\n")
            for e in result["errors"] if options["errors"] else []:
                self.stdout.write(f"  [{e['id']}] {e['text']!r}: intent {e['gold_intent']}->{e['intent']} "
                                  f"missing {e['missing']} extra {e['extra']}")
