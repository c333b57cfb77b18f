"""Importing social ties, and a person's own connections and privacy settings (services)."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from recommender.models import Profile, Relation, SocialSettings
from recommender.services.importers import ImportFileError
from recommender.services.relations import (
    display_name_of,
    import_relations,
    relation_add,
    relation_remove,
    social_settings_update,
)

pytestmark = pytest.mark.django_db

CSV = "user,other,kind,weight,timestamp\nana,lea,friend,1,2025-01-01T10:00:00Z\nana,bob,trusts,0.5,\nlea,bob,follow,,\n"


def ties() -> set[tuple[str, str, str, float]]:
    return {
        (r.profile.external_id, r.other.external_id, r.kind, r.weight)
        for r in Relation.objects.select_related("profile", "other")
    }


def test_csv_ties_are_imported_once_and_a_changed_weight_updates(tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text(CSV, encoding="utf-8")
    report = import_relations(path, source="demo")
    assert (report.rows, report.created, report.error_count) == (3, 3, 0)
    assert ties() == {("ana", "lea", "friend", 1.0), ("ana", "bob", "trusts", 0.5), ("lea", "bob", "follows", 1.0)}
    assert Profile.objects.filter(source="demo", kind="imported").count() == 3
    assert not SocialSettings.objects.exists()  # nobody is discoverable by being imported
    again = import_relations(path, source="demo")
    assert (again.created, again.updated, again.duplicates) == (0, 0, 3)
    path.write_text(CSV.replace("trusts,0.5", "trusts,0.25"), encoding="utf-8")
    changed = import_relations(path, source="demo")
    assert (changed.created, changed.updated, changed.duplicates) == (0, 1, 2)
    assert ("ana", "bob", "trusts", 0.25) in ties() and Relation.objects.count() == 3


def test_json_lines_with_bad_rows_reports_each_line_and_keeps_the_good_ones(tmp_path):
    rows = [
        {"user": "a", "other": "b", "kind": "friend"},
        {"user": "a", "other": "a", "kind": "friend"},
        {"user": "a", "other": "c", "kind": "enemy"},
        {"user": "b", "other": "c", "kind": "trusts", "weight": 7},
        {"user": "b", "other": "c", "kind": "trusts", "weight": "NaN"},
        {"user": "c", "kind": "friend"},
        {"user": "c", "other": "a", "kind": "friend", "timestamp": "yesterday"},
    ]
    path = tmp_path / "ties.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n", encoding="utf-8")
    report = import_relations(path, source="x")
    lines = dict(report.errors)
    assert set(lines) == {2, 3, 4, 5, 6, 7, 8}
    assert "same person" in lines[2] and "unknown kind" in lines[3] and "from 0 to 1" in lines[4]
    assert "missing other" in lines[6] and "timestamp" in lines[7] and "invalid JSON" in lines[8]
    assert ties() == {("a", "b", "friend", 1.0)}


def test_strict_mode_writes_nothing_on_any_error(tmp_path):
    path = tmp_path / "ties.csv"
    path.write_text(CSV + "ana,ana,friend,,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="strict"):
        call_command("import_relations", str(path), source="demo", strict=True, no_progress=True)
    assert not Relation.objects.exists() and not Profile.objects.filter(source="demo").exists()


def test_unreadable_files_are_one_clear_error(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("user,other,kind\nJosé,Zoë,friend\n".encode("latin-1"))
    with pytest.raises(ImportFileError, match="UTF-8"):
        import_relations(latin)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="missing column"):
        import_relations(wrong)
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_relations", str(tmp_path / "none.csv"), no_progress=True)


def test_the_command_imports_and_reports(tmp_path, capsys):
    path = tmp_path / "ties.csv"
    path.write_text(CSV, encoding="utf-8")
    call_command("import_relations", str(path), source="demo", no_progress=True)
    assert "3 created" in capsys.readouterr().out and Relation.objects.count() == 3


def test_a_tie_to_oneself_or_twice_is_refused_by_the_database():
    a = Profile.objects.create(source="s", external_id="a")
    b = Profile.objects.create(source="s", external_id="b")
    Relation.objects.create(profile=a, other=b, kind="friend")
    with pytest.raises(IntegrityError), transaction.atomic():
        Relation.objects.create(profile=a, other=b, kind="friend")
    with pytest.raises(IntegrityError), transaction.atomic():
        Relation.objects.create(profile=a, other=a, kind="friend")


def test_a_person_manages_their_own_connections_only():
    a = Profile.objects.create(source="s", external_id="a")
    b = Profile.objects.create(source="s", external_id="b")
    c = Profile.objects.create(source="s", external_id="c")
    tie = relation_add(profile=a, other=b)
    assert relation_add(profile=a, other=b).pk == tie.pk  # idempotent
    with pytest.raises(ValidationError):
        relation_add(profile=a, other=a)
    with pytest.raises(ValidationError):
        relation_add(profile=a, other=b, kind="enemy")
    theirs = relation_add(profile=c, other=b)
    assert relation_remove(profile=a, relation_id=theirs.pk) is False and Relation.objects.filter(pk=theirs.pk).exists()
    assert relation_remove(profile=a, relation_id=tie.pk) is True


def test_settings_and_names_shown():
    a = Profile.objects.create(source="s", external_id="a")
    assert display_name_of(a) == "a"
    settings = social_settings_update(profile=a, discoverable=True, display_name="  Ana ")
    assert settings.discoverable and display_name_of(Profile.objects.get(pk=a.pk)) == "Ana"
    with pytest.raises(ValidationError):
        social_settings_update(profile=a, display_name="x" * 65)
    with pytest.raises(ValidationError):
        social_settings_update(profile=a, discoverable="yes")


def test_the_admin_lists_ties_and_settings():
    assert admin.site.is_registered(Relation) and admin.site.is_registered(SocialSettings)
