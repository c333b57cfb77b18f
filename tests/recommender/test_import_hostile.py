"""Hostile import files: every bad cell is a line-numbered row error (never a traceback), --strict writes nothing
on any error, a re-run after fixing the file succeeds, and a crash leaves no profiles without their events."""
from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from recommender.models import DialogueLog, Interaction, Item, Profile
from recommender.services import importers
from recommender.services.dialogues import dialogues_import
from recommender.services.importers import import_catalog, import_interactions

pytestmark = pytest.mark.django_db

DEEP = "[" * 3000 + "]" * 3000
BAD_ATTRIBUTE_CELLS = {
    "NaN in a list": "[NaN]",
    "NaN in an object": '{"score": [NaN]}',
    "a lone surrogate": '{"name": "\\ud800"}',
    "3,000-deep nesting": '{"a": ' + DEEP + "}",
    "a NUL character": '{"name": "a\\u0000b"}',
    "an integer past 64 bits": '{"n": ' + "9" * 30 + "}",
}


def catalog_csv(path, rows: list[dict]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, ["external_id", "title", "attributes"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def good_rows(n: int) -> list[dict]:
    return [{"external_id": f"i{i}", "title": f"Item {i}", "attributes": json.dumps({"price": i})} for i in range(n)]


@pytest.mark.parametrize("label", list(BAD_ATTRIBUTE_CELLS))
def test_a_bad_attributes_cell_is_a_line_numbered_error_and_the_rest_is_stored(tmp_path, label):
    path = tmp_path / "catalog.csv"
    catalog_csv(path, [*good_rows(3), {"external_id": "bad", "title": "Bad", "attributes": BAD_ATTRIBUTE_CELLS[label]},
                       *good_rows(5)[3:]])
    report = import_catalog(path)
    assert [line for line, _ in report.errors] == [5], report.errors
    assert report.created == 5 and not Item.objects.filter(external_id="bad").exists()


@pytest.mark.parametrize("label", list(BAD_ATTRIBUTE_CELLS))
def test_strict_writes_nothing_when_a_late_row_is_bad(tmp_path, monkeypatch, capsys, label):
    monkeypatch.setattr(importers, "BATCH_SIZE", 50)  # the bad row comes after two full batches
    path = tmp_path / "catalog.csv"
    rows = good_rows(120)
    rows.insert(110, {"external_id": "bad", "title": "Bad", "attributes": BAD_ATTRIBUTE_CELLS[label]})
    catalog_csv(path, rows)
    with pytest.raises(CommandError, match="strict"):
        call_command("import_catalog", str(path), strict=True, no_progress=True)
    assert Item.objects.count() == 0
    assert "line 112:" in capsys.readouterr().out

    rows[110]["attributes"] = "{}"  # fixed: the re-run stores everything
    catalog_csv(path, rows)
    call_command("import_catalog", str(path), strict=True, no_progress=True)
    assert Item.objects.count() == 121


def test_strict_writes_nothing_when_the_database_refuses_a_late_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "BATCH_SIZE", 50)
    path = tmp_path / "catalog.csv"
    catalog_csv(path, good_rows(120))
    original = Item.objects.bulk_create

    def refuse_item_111(objs, *args, **kwargs):
        if any(obj.external_id == "i110" for obj in objs):
            raise IntegrityError("refused")
        return original(objs, *args, **kwargs)

    monkeypatch.setattr(Item.objects, "bulk_create", refuse_item_111)
    report = import_catalog(path, strict=True)
    assert Item.objects.count() == 0 and report.created == 0
    assert [line for line, _ in report.errors] == [112]
    assert any("strict" in note for note in report.notes)
    lenient = import_catalog(path)  # without --strict: only the refused row is missing, reported by line
    assert Item.objects.count() == 119 and lenient.created == 119
    assert [line for line, _ in lenient.errors] == [112]


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                                       "0001-01-01", "9999-12-31T23:59:59", "2026-02-30T10:00:00",
                                       "1e400", "-5", "9" * 400])
def test_an_impossible_timestamp_is_a_row_error(tmp_path, timestamp):
    Item.objects.create(source="catalog", external_id="a", title="A")
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps({"user": "u1", "item": "a", "event": "like", "timestamp": "2026-05-01T10:00:00Z"})
                    + "\n" + json.dumps({"user": "u2", "item": "a", "event": "like", "timestamp": timestamp}) + "\n",
                    encoding="utf-8")
    report = import_interactions(path)
    assert report.created == 1 and [line for line, _ in report.errors] == [2], report.errors
    assert "timestamp" in report.errors[0][1]


def test_a_crashed_interactions_import_leaves_no_profiles_without_events(tmp_path, monkeypatch):
    Item.objects.create(source="catalog", external_id="a", title="A")
    path = tmp_path / "events.csv"
    path.write_text("user,item,event\n" + "".join(f"u{i},a,like\n" for i in range(10)), encoding="utf-8")

    def crash(events):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(importers, "_insert_events", crash)
    with pytest.raises(RuntimeError):
        import_interactions(path)
    assert not Profile.objects.filter(kind=Profile.Kind.IMPORTED).exists()
    monkeypatch.undo()
    assert import_interactions(path).created == 10
    assert Profile.objects.filter(kind=Profile.Kind.IMPORTED).count() == Interaction.objects.count() == 10


def test_repeated_ids_in_one_file_are_noted(tmp_path):
    path = tmp_path / "catalog.csv"
    catalog_csv(path, [*good_rows(2), {"external_id": "i0", "title": "Item 0 again", "attributes": "{}"}])
    report = import_catalog(path)
    assert Item.objects.get(external_id="i0").title == "Item 0 again"
    assert any("line 4 repeats line 2" in note for note in report.notes), report.notes


@pytest.mark.parametrize("line", [
    '{"id": "x", "turns": ' + DEEP + "}",
    '{"id": "x", "turns": [{"role": "user", "text": "\\ud800"}]}',
    '{"id": "x", "turns": [{"role": "user", "text": "hi"}], "score": NaN}',
    '{"id": "x", "turns": [{"role": "user", "text": "a\\u0000b"}]}',
])
def test_conversation_imports_use_the_safe_decoder(tmp_path, line):
    good = json.dumps({"id": "ok", "turns": [{"role": "user", "text": "I loved Heat"}]})
    path = tmp_path / "d.jsonl"
    path.write_text(good + "\n" + line + "\n", encoding="utf-8")
    report = dialogues_import(path=path, fmt="jsonl", source="t")
    assert report.created == 1 and [n for n, _ in report.errors] == [2], report.errors
    assert list(DialogueLog.objects.values_list("conversation_id", flat=True)) == ["ok"]


def test_an_unterminated_quote_is_reported_instead_of_swallowing_rows(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text('external_id,title,description,price\n'
                    'a,"Broken,desc,5\n'
                    'b,Fine,desc,6\n'
                    'c,"Also",desc,7\n'
                    'd,Multi,"a description\nover two lines",8\n', encoding="utf-8")
    report = import_catalog(path)
    assert [line for line, _ in report.errors] == [2] and "unterminated quote" in report.errors[0][1]
    assert "2-4" in report.errors[0][1]
    assert list(Item.objects.values_list("external_id", flat=True)) == ["d"]  # free text may span lines
