"""Feedback export: every kind of feedback with where it came from, filters, deletions, and a re-import round trip."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from chat import services
from chat.exports import ExportFilter, feedback_rows
from chat.models import Conversation, Message
from recommender.engine import rules
from recommender.models import Interaction, Profile, ShownList
from recommender.services.feedback import interaction_record
from recommender.services.importers import import_interactions
from recommender.services.policy import Choice, list_log

pytestmark = pytest.mark.django_db


def shown(conversation, profile, items, arm="popular-first", propensity=0.4):
    """Store an assistant turn listing the items, logged as the policy's choice; return the list."""
    message = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text="Try these.",
        payload={
            "intent": "recommend",
            "strategy": arm,
            "understanding": {"domain": "movie"},
            "items": [{"item_id": str(i.pk)} for i in items],
        },
    )
    choice = Choice(arm, propensity, {arm: propensity}, {"intent": "recommend", "history_length": 2})
    return list_log(
        choice=choice,
        items=[str(i.pk) for i in items],
        profile=profile,
        conversation=conversation,
        message_id=message.pk,
    ), message


@pytest.fixture
def feedback(catalog, guest):
    """A guest who pressed, rated, took a press back, said a like in words and thumbed a reply; and an
    imported person with old ratings."""
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    listed, message = shown(conversation, profile, [catalog["ml-50"], catalog["ml-100"], catalog["ml-1"]])
    services.feedback_record(profile=profile, item_id=catalog["ml-100"].pk, kind="like", conversation=conversation)
    services.feedback_record(profile=profile, item_id=catalog["ml-100"].pk, kind="unlike", conversation=conversation)
    services.feedback_record(profile=profile, item_id=catalog["ml-100"].pk, kind="like", conversation=conversation)
    services.feedback_record(
        profile=profile, item_id=catalog["ml-50"].pk, kind="rating", value=4.5, conversation=conversation
    )
    services.stated_feedback_record(
        feedback=[{"item_id": str(catalog["ml-313"].pk), "kind": "dislike"}], profile=profile, conversation=conversation
    )
    services.feedback_record(profile=profile, item_id=catalog["p-1"].pk, kind="purchase", origin="api")
    services.reply_rate(message=message, value=1)
    old = Profile.objects.create(kind="imported", source="shop", external_id="u-77")
    interaction_record(
        profile=old,
        item=catalog["ml-56"],
        kind="rating",
        value=2.0,
        origin="import",
        occurred_at=timezone.now() - timedelta(days=40),
    )
    return profile, conversation, listed


def test_rows_say_where_each_event_came_from(feedback, catalog):
    profile, conversation, listed = feedback
    rows = list(feedback_rows(ExportFilter()))
    events = [r for r in rows if r["record"] == "event"]
    assert len(events) == Interaction.objects.count()
    mine = [r for r in events if r["user"] == f"guest-{profile.pk}"]
    pressed = [r for r in mine if r["item"] == "ml-100"]
    assert [r["event"] for r in pressed] == ["like", "unlike", "like"]
    assert all(
        (r["list"], r["arm"], r["propensity"], r["rank"], r["via"], r["conversation"])
        == (listed.pk, "popular-first", 0.4, 2, "pressed", conversation.pk)
        for r in pressed
    )
    stated = next(r for r in mine if r["item"] == "ml-313")
    assert (stated["via"], stated["event"], stated["list"]) == ("stated", "dislike", None)
    assert next(r for r in mine if r["item"] == "ml-50")["via"] == "rated"
    assert next(r for r in events if r["item"] == "ml-56")["user"] == "u-77"
    reply = next(r for r in rows if r["record"] == "reply")
    assert (reply["value"], reply["arm"], reply["user"]) == (1, "popular-first", f"guest-{profile.pk}")


def test_filters_by_date_and_domain(feedback):
    today = timezone.now().date()
    recent = list(feedback_rows(ExportFilter(start=today - timedelta(days=7), end=today)))
    assert "ml-56" not in {r["item"] for r in recent}
    products = [r for r in feedback_rows(ExportFilter(domain="product")) if r["record"] == "event"]
    assert [r["item"] for r in products] == ["p-1"]
    assert not [r for r in feedback_rows(ExportFilter(domain="product")) if r["record"] == "reply"]


def test_a_persons_deletion_is_honoured(feedback):
    profile, _, _ = feedback
    services.profile_data_delete(profile=profile)
    rows = list(feedback_rows(ExportFilter()))
    assert f"guest-{profile.pk}" not in {r["user"] for r in rows}
    assert len(rows) == Interaction.objects.count() == 11  # the catalog's viewers and the imported person
    assert not ShownList.objects.filter(profile=profile).exists()


def event_identity(row_or_event) -> tuple:
    return (row_or_event["item"], row_or_event["event"], row_or_event["value"], row_or_event["timestamp"][:23])


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_export_and_reimport_into_a_fresh_database_keeps_every_event(feedback, tmp_path, fmt, capsys):
    path = tmp_path / f"feedback.{fmt}"
    call_command("export_feedback", "--format", fmt, "--output", str(path))
    assert "exported 18 rows" in capsys.readouterr().err  # 17 item events and one reply thumb
    before = Counter(event_identity(r) for r in feedback_rows(ExportFilter(), replies=False))
    users_before = Counter(r["user"] for r in feedback_rows(ExportFilter(), replies=False))
    # a fresh database: the catalog, and nobody's feedback, conversations or profiles
    Interaction.objects.all().delete()
    Conversation.objects.all().delete()
    Profile.objects.all().delete()
    report = import_interactions(path, source="test", user_source="export")
    assert report.created == sum(before.values()) == 17
    assert report.error_count == 1  # the reply thumb: not an item event
    after = Counter(
        (i.item.external_id, i.kind, i.value, i.occurred_at.isoformat()[:23])
        for i in Interaction.objects.select_related("item")
    )
    assert after == before
    assert sorted(Counter(Profile.objects.values_list("external_id", flat=True)).keys()) == sorted(users_before)
    assert Counter(rules.grade(i.kind, i.value) for i in Interaction.objects.all()) == Counter(
        rules.grade(k[1], k[2]) for k in before.elements()
    )
    again = import_interactions(path, source="test", user_source="export")  # the keys make it idempotent
    assert again.created == 0


def test_the_command_refuses_bad_dates(feedback):
    with pytest.raises(CommandError):
        call_command("export_feedback", "--start", "yesterday")
    with pytest.raises(CommandError):
        call_command("export_feedback", "--start", "2026-02-02", "--end", "2026-01-01")


def test_jsonl_lines_are_json(feedback, tmp_path):
    path = tmp_path / "f.jsonl"
    call_command("export_feedback", "--output", str(path), "--no-replies")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 17 and all(json.loads(line)["record"] == "event" for line in lines)


def test_staff_download_the_windows_feedback_from_the_dashboard(feedback, django_user_model):
    from django.test import Client

    assert Client().get("/admin/dashboard/export?format=csv").status_code == 302
    staff = django_user_model.objects.create_user("boss", password="pw-123456", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/dashboard/export?format=csv&domain=movie")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("record,user,item") and len(lines) == 1 + 15 + 1  # header, the last 30 days
    page = client.get("/admin/dashboard/")
    assert b'data-testid="learning"' in page.content and b'data-testid="export-csv"' in page.content
    assert b'data-testid="off-policy"' in page.content


def test_the_policy_report_values_logged_lists_and_estimates_from_their_propensities(feedback):
    from recommender.services.policy import policy_report

    _, _, listed = feedback
    now = timezone.now()
    report = policy_report(start=now - timedelta(days=1), end=now + timedelta(days=1))
    assert report["lists"] == 1 and report["logged_mean"] == 3.0  # like, like, rating 4.5; the take-back is silent
    arm = next(a for a in report["arms"] if a["arm"] == "popular-first")
    assert (arm["lists"], arm["mean"], arm["low"], arm["high"]) == (1, 3.0, 3.0, 3.0)
    always = next(e for e in report["estimates"] if e["target"] == "always popular-first")
    assert always["IPS"] == pytest.approx(3.0 / 0.4) and always["SNIPS"] == pytest.approx(3.0)
    never = next(e for e in report["estimates"] if e["target"] == "always balanced")
    assert never["IPS"] == 0.0
    assert report["by_day"][0]["arm"] == "popular-first"


def test_the_recommender_app_does_not_import_the_chat_app():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "recommender"
    for path in [
        root / "dashboard.py",
        root / "dashboard_selectors.py",
        root / "services" / "policy.py",
        root / "services" / "training.py",
        root / "tasks.py",
        *(root / "engine").rglob("*.py"),
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "chat" or n.startswith("chat.") for n in names), path
