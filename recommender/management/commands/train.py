"""Train the recommender from the database and activate the new model version."""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommender.services.locks import LockHeld
from recommender.services.training import model_train


class Command(BaseCommand):
    help = "Train the hybrid recommender on all stored feedback, record a model version and activate it."

    def add_arguments(self, parser):
        parser.add_argument("--name", default=None)
        parser.add_argument("--no-activate", action="store_true", help="Record the version without serving it.")
        parser.add_argument("--config", default=None, help="JSON object of training options.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        try:
            config = json.loads(options["config"]) if options["config"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--config is not valid JSON: {exc}") from None
        bar = tqdm(total=100, desc="starting", disable=options["no_progress"], dynamic_ncols=True,
                   bar_format="training {percentage:3.0f}%|{bar:24}| {desc}")

        def progress(stage: str, fraction: float) -> None:
            # One bar that only moves forward: stages report their own fractions, some starting again at 0.
            bar.n = max(bar.n, round(100 * max(0.0, min(1.0, fraction))))
            bar.set_description_str(stage[:48], refresh=False)
            bar.refresh()

        try:
            version = model_train(name=options["name"], config=config, progress=progress,
                                  activate=not options["no_activate"])
        except (ValueError, LockHeld) as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(
            f"model version {version.name}: {version.n_users} users, {version.n_items} items, "
            f"{version.n_interactions} interactions, {version.training_seconds:.1f} s"
            f"{' (active)' if version.is_active else ''}"
        ))
        for key, value in flatten_metrics(version.metrics):
            self.stdout.write(f"  {key}: {value:.4f}")


def flatten_metrics(metrics: dict, prefix: str = "") -> list[tuple[str, float]]:
    """Return (dotted name, number) for every numeric leaf of a nested metrics dict."""
    rows = []
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(flatten_metrics(value, f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((name, float(value)))
    return rows
