"""Importing recorded dialogues: malformed lines, re-import, linking names to catalog items."""
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recommender.engine.dialogues import TitleLinker, title_keys
from recommender.models import DialogueLog, DialogueMention, Item
from recommender.services.dialogues import dialogue_pairs, dialogues_import
from recommender.services.importers import ImportFileError


def redial(conversation_id: int, messages: list[tuple[str, str]], movies: dict, liked: dict | None = None) -> str:
    """Return one ReDial line: messages as (sender, text), sender "s" (seeker) or "r" (recommender)."""
    return json.dumps({
        "conversationId": conversation_id, "initiatorWorkerId": 1, "respondentWorkerId": 2,
        "messages": [{"senderWorkerId": 1 if who == "s" else 2, "text": text, "messageId": i, "timeOffset": i}
                     for i, (who, text) in enumerate(messages)],
        "movieMentions": movies,
        "initiatorQuestions": {k: {"suggested": 0, "seen": 1, "liked": v} for k, v in (liked or {}).items()},
        "respondentQuestions": {},
    })


@pytest.fixture
def catalog(db):
    return {
        "knight": Item.objects.create(source="t", external_id="1", title="Dark Knight, The (2008)",
                                      attributes={"year": 2008}),
        "amelie": Item.objects.create(source="t", external_id="2",
                                      title="Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
                                      attributes={"year": 2001}),
        "heat": Item.objects.create(source="t", external_id="3", title="Heat (1995)", attributes={"year": 1995}),
        "inception": Item.objects.create(source="t", external_id="4", title="Inception (2010)",
                                         attributes={"year": 2010}),
    }


def write(tmp_path: Path, lines: list[str], name: str = "d.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_title_keys_fold_articles_spaces_case_and_diacritics():
    assert title_keys("Dark Knight, The (2008)") == title_keys("The  Dark Knight (2008)") == (["dark knight"], 2008)
    assert title_keys("AMÉLIE (2001)")[0][0] == title_keys("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)")[0][0]
    assert title_keys("Why Him%3F (2016)") == title_keys("Why Him? (2016)")


def test_linker_requires_the_year_when_both_sides_have_one():
    linker = TitleLinker([("a", "Heat (1995)", None), ("b", "Heat (1986)", None)], popularity={"b": 5.0})
    assert linker.link("Heat (1995)") == "a"
    assert linker.link("Heat (1986)") == "b"
    assert linker.link("Heat (2001)") is None
    assert linker.link("Heat") == "b"  # no year: the more popular one


def test_import_stores_dialogues_and_links_mentions(catalog, tmp_path):
    path = write(tmp_path, [redial(11, [("s", "I loved @1 and @2"), ("r", "Then try @3  or @4"), ("s", "thanks")],
                                   {"1": "The Dark Knight (2008)", "2": "Amélie  (2001)", "3": "Heat (1995)",
                                    "4": "Nowhere Film (1999)"}, liked={"1": 1, "2": 0})])
    report = dialogues_import(path=path, fmt="redial", source="redial")
    assert (report.created, report.error_count) == (1, 0)
    log = DialogueLog.objects.get()
    assert log.conversation_id == "11" and not log.is_development
    assert log.turns[0]["text"] == "I loved The Dark Knight (2008) and Amélie (2001)"
    mentions = {m.source_key: m for m in DialogueMention.objects.all()}
    assert mentions["1"].item == catalog["knight"] and mentions["1"].liked is True
    assert mentions["2"].item == catalog["amelie"] and mentions["2"].liked is False
    assert mentions["3"].item == catalog["heat"] and mentions["3"].role == "assistant"
    assert mentions["3"].turn_index == 1
    assert mentions["4"].item is None


def test_malformed_lines_are_reported_with_line_number_and_reason(catalog, tmp_path):
    good = redial(21, [("s", "hi"), ("r", "@3")], {"3": "Heat (1995)"})
    path = write(tmp_path, ["{not json", json.dumps({"conversationId": 5}), good, json.dumps([1, 2])])
    report = dialogues_import(path=path, fmt="redial", source="redial")
    assert report.created == 1
    reasons = dict(report.errors)
    assert set(reasons) == {1, 2, 4}
    assert reasons[1].startswith("invalid JSON")
    assert "messages" in reasons[2]
    assert reasons[4] == "not a JSON object"


def test_reimport_stores_nothing_twice(catalog, tmp_path):
    line = redial(31, [("s", "I liked @1"), ("r", "@3 then")], {"1": "Dark Knight (2008)", "3": "Heat (1995)"})
    path = write(tmp_path, [line, line])  # the same dialogue twice in one file, too
    first = dialogues_import(path=path, fmt="redial", source="redial")
    second = dialogues_import(path=path, fmt="redial", source="redial")
    assert (first.created, first.duplicates) == (1, 1)
    assert (second.created, second.duplicates) == (0, 2)
    assert DialogueLog.objects.count() == 1 and DialogueMention.objects.count() == 2
    other = dialogues_import(path=path, fmt="redial", source="elsewhere")
    assert other.created == 1 and DialogueLog.objects.count() == 2


def test_generic_jsonl_format(catalog, tmp_path):
    good = {"id": "c1", "items": {"m1": "Inception (2010)", "m2": "The Dark Knight (2008)"},
            "turns": [{"role": "user", "text": "loved @m1"},
                      {"role": "assistant", "text": "then this one", "mentions": ["m2"]}],
            "seeker_answers": {"m1": {"liked": True, "seen": True, "suggested": False}}}
    bad_role = {"id": "c2", "turns": [{"role": "user", "text": "a"}, {"role": "bot", "text": "b"}]}
    path = write(tmp_path, [json.dumps(good), json.dumps(bad_role), json.dumps({"turns": []})])
    report = dialogues_import(path=path, fmt="jsonl", source="mine")
    assert report.created == 1
    assert dict(report.errors) == {2: "turn 2 has role 'bot', not 'user' or 'assistant'",
                                   3: "missing 'id' (a string or an integer)"}
    m2 = DialogueMention.objects.get(source_key="m2")
    assert m2.item == catalog["knight"] and m2.role == "assistant"
    assert dialogue_pairs() == [({str(catalog["inception"].pk): 1.5}, [str(catalog["knight"].pk)])]


def test_development_dialogues_are_kept_out_of_fitting_pairs(catalog, tmp_path):
    path = write(tmp_path, [redial(40, [("s", "@1"), ("r", "@3")], {"1": "Dark Knight (2008)", "3": "Heat (1995)"}),
                            redial(41, [("s", "@1"), ("r", "@4")], {"1": "Dark Knight (2008)",
                                                                    "4": "Inception (2010)"})])
    dialogues_import(path=path, fmt="redial", source="redial")
    assert DialogueLog.objects.get(conversation_id="40").is_development
    assert dialogue_pairs() == [({str(catalog["knight"].pk): 1.0}, [str(catalog["inception"].pk)])]
    assert len(dialogue_pairs(include_development=True)) == 2


def test_command_reports_and_rejects_missing_files(catalog, tmp_path, capsys):
    path = write(tmp_path, ["oops", redial(51, [("s", "x"), ("r", "@3")], {"3": "Heat (1995)"})])
    call_command("import_conversations", str(path), "--no-progress")
    out = capsys.readouterr().out
    assert "1 created" in out and "line 1: invalid JSON" in out
    with pytest.raises(CommandError):
        call_command("import_conversations", str(tmp_path / "missing.jsonl"), "--no-progress")
    with pytest.raises(ImportFileError):
        dialogues_import(path=path, fmt="xml")


def test_admin_lists_dialogues_with_their_mentions(catalog, tmp_path, admin_client):
    from django.urls import reverse

    path = write(tmp_path, [redial(61, [("s", "@1"), ("r", "@3")], {"1": "Dark Knight (2008)", "3": "Heat (1995)"})])
    dialogues_import(path=path, fmt="redial", source="redial")
    log = DialogueLog.objects.get()
    assert admin_client.get(reverse("admin:recommender_dialoguelog_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:recommender_dialoguelog_change", args=[log.pk]))
    assert page.status_code == 200 and "Heat (1995)" in page.content.decode()
    assert admin_client.get(reverse("admin:recommender_dialoguemention_changelist")).status_code == 200


def test_titles_in_free_text_take_the_longest_name_of_that_year():
    from recommender.engine.dialogues import titles_in_text

    linker = TitleLinker([("1", "Dark Knight, The (2008)", None), ("2", "Heat (1995)", None),
                          ("3", "Knight (2008)", None)])
    assert titles_in_text("I loved The Dark Knight (2008) and Heat (1995)! (1999)", linker) == ["1", "2"]
    assert titles_in_text("Heat (1996) was fine", linker) == []
