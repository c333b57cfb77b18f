"""The demo's small social graph: a few people with likes and ties, some discoverable, one not.

Mia is the person the demo speaks for; Ana and Lea are her friends and share their likes; Max is her friend
and keeps his likes private; Zoe is not connected to her but is discoverable, with taste close to hers.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from recommender.models import Profile, SocialSettings
from recommender.services.importers import ImportReport, import_interactions
from recommender.services.relations import import_relations

DEMO_PERSON = "mia"


# (catalog, events, scratch folder, MovieLens source) -> the copies with sample films re-pointed at MovieLens
Repoint = Callable[[Path, Path, Path, str], tuple[Path, Path]]


def social_demo_load(
    *, source: str, scratch: Path, movielens_source: str | None, repoint: Repoint | None = None,
    progress: bool = False,
) -> list[ImportReport]:
    """Import the demo people's likes, ties and privacy choices under `source` (the sample's user namespace).

    With MovieLens loaded, the sample films it also holds are MovieLens items: `repoint` (services.demo's, given
    by the caller) re-points the likes the way the sample's own events are."""
    from recommender.sample_data import catalog_path, social_paths

    likes, relations, people = social_paths()
    if movielens_source is not None and repoint is not None:
        folder = scratch / "social"
        folder.mkdir(exist_ok=True)
        _, likes = repoint(catalog_path(), likes, folder, movielens_source)
    reports = [
        import_interactions(likes, source=source, user_source=source, progress=progress),
        import_relations(relations, source=source, progress=progress),
    ]
    with open(people, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            profile, _ = Profile.objects.get_or_create(
                kind=Profile.Kind.IMPORTED, source=source, external_id=row["user"]
            )
            SocialSettings.objects.update_or_create(
                profile=profile,
                defaults={"display_name": row["name"], "discoverable": row["discoverable"].strip().lower() == "true"},
            )
    return reports


def demo_person(*, source: str) -> Profile | None:
    """Return the demo person's profile (Mia), or None before the demo data is loaded."""
    return Profile.objects.filter(kind=Profile.Kind.IMPORTED, source=source, external_id=DEMO_PERSON).first()
