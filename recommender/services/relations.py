"""Social ties: importing them from files, and a person adding, removing and sharing their own connections.

`import_relations` follows every importer's rules (recommender/services/importers.py): line-numbered errors,
idempotent re-import (a tie is one row per (person, other, kind); a changed weight or time updates it), `strict`
writes nothing when any row is rejected, cells checked before anything is written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from recommender.engine import rules
from recommender.models import Profile, Relation, SocialSettings
from recommender.services.importers import (
    ImportReport,
    RowError,
    _note_repeated_ids,
    _parse_rows,
    _text,
    _write_rows,
    ensure_profiles,
    parse_timestamp,
)

KIND_ALIASES = {
    "friends": "friend",
    "follow": "follows",
    "following": "follows",
    "trust": "trusts",
    "trusted": "trusts",
}
RELATION_FIELDS = {"user", "other", "kind"}
ERROR_SELF = "A person cannot be connected to themselves."
ERROR_KIND = "The kind of connection is one of: {kinds}."
ERROR_NAME = "A display name is text of at most 64 characters."
ERROR_NO_SUCH_PERSON = "No person with that name."


def parse_relation_row(row: dict) -> dict[str, Any]:
    """Return validated tie fields (external user keys, not yet resolved) from one row."""
    kind = _text(row, "kind", required=True, max_length=32).lower()
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in rules.RELATION_KINDS:
        raise RowError(f"unknown kind {kind!r}; expected one of {', '.join(rules.RELATION_KINDS)}")
    user = _text(row, "user", required=True, max_length=128)
    other = _text(row, "other", required=True, max_length=128)
    if user == other:
        raise RowError("user and other are the same person")
    weight = 1.0
    raw = row.get("weight")
    if raw not in (None, ""):
        if isinstance(raw, bool):
            raise RowError("weight must be a number")
        try:
            weight = float(raw)
        except (TypeError, ValueError):
            raise RowError(f"weight {str(raw)[:32]!r} is not a number") from None
        if not math.isfinite(weight) or not 0.0 <= weight <= 1.0:
            raise RowError("weight must be a number from 0 to 1")
    return {
        "user": user,
        "other": other,
        "kind": kind,
        "weight": weight,
        "occurred_at": parse_timestamp(row.get("timestamp")),
    }


def store_relations(rows: list[dict[str, Any]], report: ImportReport, *, source: str) -> None:
    """Create new ties and update changed ones (the last row for a tie wins); count unchanged ones as stored."""
    unique = {(r["user"], r["other"], r["kind"]): r for r in rows}
    profiles = ensure_profiles(source, {r["user"] for r in rows} | {r["other"] for r in rows})
    stored = {
        (rel.profile_id, rel.other_id, rel.kind): rel
        for rel in Relation.objects.filter(
            profile_id__in={profiles[u] for u, _, _ in unique}, other_id__in={profiles[o] for _, o, _ in unique}
        )
    }
    to_create, to_update = [], []
    for (user, other, kind), row in unique.items():
        key = (profiles[user], profiles[other], kind)
        found = stored.get(key)
        if found is None:
            to_create.append(
                Relation(
                    profile_id=key[0],
                    other_id=key[1],
                    kind=kind,
                    weight=row["weight"],
                    occurred_at=row["occurred_at"],
                    source=source,
                )
            )
        elif found.weight != row["weight"] or (row["occurred_at"] and found.occurred_at != row["occurred_at"]):
            found.weight, found.occurred_at = row["weight"], row["occurred_at"] or found.occurred_at
            to_update.append(found)
        else:
            report.duplicates += 1
    Relation.objects.bulk_create(to_create, batch_size=1000)
    Relation.objects.bulk_update(to_update, ["weight", "occurred_at"], batch_size=500)
    report.created += len(to_create)
    report.updated += len(to_update)


def import_relations(
    path: Path, *, source: str = "catalog", strict: bool = False, progress: bool = False
) -> ImportReport:
    """Import social ties from CSV or JSON Lines (`user`, `other`, `kind`, optional `weight`, `timestamp`).

    User keys are imported people of `source` (the same namespace import_interactions uses); unknown ones are
    created. Imported people are not discoverable until they choose to be (SocialSettings)."""
    path = Path(path)
    report = ImportReport(label=f"relations {path.name}")
    parsed = _parse_rows(path, RELATION_FIELDS, report, progress, "relations", parse_relation_row)
    if strict and report.error_count:
        report.notes.append("strict mode: nothing imported because some rows were rejected")
        return report
    _note_repeated_ids([(line, (r["user"], r["other"], r["kind"])) for line, r in parsed], report, "a tie")
    _write_rows(parsed, lambda rows: store_relations(rows, report, source=source), report, strict=strict)
    return report


# ---------------------------------------------------------------- a person's own connections


def display_name_of(profile: Profile) -> str:
    """Return the name others see for a person: their chosen one, else their account's, else their key."""
    settings = getattr(profile, "social", None) if _has_settings(profile) else None
    if settings is not None and settings.display_name:
        return settings.display_name
    if profile.user_id:
        return profile.user.first_name or profile.user.get_username()
    return profile.external_id or f"person {profile.pk}"


def _has_settings(profile: Profile) -> bool:
    try:
        profile.social  # noqa: B018 - reading the reverse one-to-one tells whether the row exists
    except SocialSettings.DoesNotExist:
        return False
    return True


def social_settings_update(
    *, profile: Profile, discoverable: bool | None = None, display_name: str | None = None
) -> SocialSettings:
    """Set whether the person is discoverable and the name shown to others; return the settings."""
    settings, _ = SocialSettings.objects.get_or_create(profile=profile)
    if discoverable is not None:
        if not isinstance(discoverable, bool):
            raise ValidationError("discoverable must be true or false.")
        settings.discoverable = discoverable
    if display_name is not None:
        if not isinstance(display_name, str) or len(display_name.strip()) > 64 or "\x00" in display_name:
            raise ValidationError(ERROR_NAME)
        settings.display_name = display_name.strip()
    settings.full_clean()
    settings.save()
    return settings


def relation_add(*, profile: Profile, other: Profile, kind: str = "friend", weight: float = 1.0) -> Relation:
    """Connect the person to another (idempotent: an existing tie of that kind is returned, its weight updated)."""
    if kind not in rules.RELATION_KINDS:
        raise ValidationError(ERROR_KIND.format(kinds=", ".join(rules.RELATION_KINDS)))
    if other.pk == profile.pk:
        raise ValidationError(ERROR_SELF)
    with transaction.atomic():
        relation, created = Relation.objects.get_or_create(
            profile=profile,
            other=other,
            kind=kind,
            defaults={"weight": weight, "source": "user", "occurred_at": timezone.now()},
        )
        if not created and relation.weight != weight:
            relation.weight = weight
            relation.save(update_fields=["weight"])
    return relation


def relation_remove(*, profile: Profile, relation_id: int) -> bool:
    """Remove one of the person's own ties; return whether one was removed (another person's never is)."""
    deleted, _ = Relation.objects.filter(pk=relation_id, profile=profile).delete()
    return bool(deleted)


def relations_delete(*, profile: Profile) -> int:
    """Delete the person's own ties and privacy settings (part of deleting their data); return the ties deleted."""
    deleted, _ = Relation.objects.filter(profile=profile).delete()
    SocialSettings.objects.filter(profile=profile).delete()
    return deleted
