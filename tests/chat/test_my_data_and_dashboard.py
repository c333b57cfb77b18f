"""Download and delete my data, starter suggestions, and the staff dashboard's figures and access."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chat import services
from chat.models import Conversation, Message
from chat.selectors import DASHBOARD_TURN_READS
from recommender import dashboard_selectors as dash
from recommender.models import BanditArm, Interaction, Item, ModelVersion, Profile

pytestmark = pytest.mark.django_db


def guest_client() -> tuple[Client, Profile]:
    client = Client()
    assert client.get("/").status_code == 200
    from recommender.services.profiles import profile_for_request_user

    profile = profile_for_request_user(user=None, session_key=client.session.session_key)
    return client, profile


def a_turn(profile, items, *, intent="recommend", language="en", text="a comedy"):
    conversation = Conversation.objects.create(profile=profile, title=text)
    Message.objects.create(conversation=conversation, role="user", text=text)
    reply = Message.objects.create(conversation=conversation, role="assistant", text="Here you are",
                                   payload={"intent": intent, "language": language,
                                            "items": [{"item_id": str(i.pk), "score": 1.0} for i in items]})
    return conversation, reply


def test_download_has_my_conversations_and_feedback_and_nobody_elses(catalog):
    client, me = guest_client()
    someone = Profile.objects.create(kind="guest", session_key="other-session")
    a_turn(me, [catalog["ml-1"]])
    a_turn(someone, [catalog["ml-50"]], text="not mine")
    Interaction.objects.create(profile=me, item=catalog["ml-1"], kind="like", occurred_at=timezone.now())
    response = client.get("/my-data/download")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert [c["title"] for c in data["conversations"]] == ["a comedy"]
    assert [m["role"] for m in data["conversations"][0]["messages"]] == ["user", "assistant"]
    assert [(f["item_title"], f["kind"]) for f in data["feedback"]] == [("Toy Story (1995)", "like")]


def test_delete_my_data_removes_only_mine_and_needs_post(catalog):
    client, me = guest_client()
    someone = Profile.objects.create(kind="guest", session_key="other-session")
    a_turn(me, [catalog["ml-1"]])
    a_turn(someone, [catalog["ml-50"]])
    Interaction.objects.create(profile=me, item=catalog["ml-1"], kind="like", occurred_at=timezone.now())
    assert client.get("/my-data/delete").status_code == 405
    assert client.post("/my-data/delete").status_code == 302
    assert not Conversation.objects.filter(profile=me).exists()
    assert not Interaction.objects.filter(profile=me).exists()
    assert Conversation.objects.filter(profile=someone).count() == 1


def test_starters_come_from_the_catalog_domains_in_the_page_language(catalog):
    page = Client().get("/").content.decode()
    assert "A funny film from the 90s" in page and "A gift under $50" in page
    Item.objects.filter(domain="product").delete()
    chinese = Client(headers={"accept-language": "zh-hans"}).get("/").content.decode()
    assert "90年代的喜剧片" in chinese and "A funny film" not in chinese


def test_reply_rating_service_rejects_other_values(catalog):
    _, reply = a_turn(Profile.objects.create(kind="guest", session_key="s"), [catalog["ml-1"]])
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.reply_rate(message=reply, value=3)
    assert services.reply_rate(message=reply, value=1).rating == 1


def test_dashboard_figures_are_aggregates_of_the_stored_data(catalog):
    me = Profile.objects.create(kind="guest", session_key="s")
    now = timezone.now()
    a_turn(me, [catalog["ml-1"], catalog["ml-50"], catalog["ml-100"]])
    a_turn(me, [catalog["ml-1"]], language="zh")
    a_turn(me, [], intent="recommend")
    a_turn(me, [], intent="chitchat")
    for kind, value in [("like", None), ("dislike", None), ("rating", 5.0), ("rating", 3.0), ("unlike", None)]:
        Interaction.objects.create(profile=me, item=catalog["ml-1"], kind=kind, value=value, occurred_at=now)
    Interaction.objects.create(profile=me, item=catalog["p-1"], kind="like", occurred_at=now - timedelta(days=2))
    BanditArm.objects.create(arm="hybrid", successes=3, failures=1, pulls=2)
    ModelVersion.objects.create(name="v1", path="x", metrics={"validation": {"objective": "NDCG@10", "ndcg@10": 0.4}})
    window = dash.Window.last_days(7)
    data = dash.dashboard_data(window, DASHBOARD_TURN_READS)
    today = next(d for d in data["feedback"] if d["day"] == now.date().isoformat())
    # 4 imported likes per the catalog fixture + like, rating 5 = liked; dislike = disliked.
    assert (today["liked"], today["disliked"]) == (today["total"] - 3, 1)
    assert today["like_rate"] == round(today["liked"] / (today["liked"] + 1), 4)
    languages = {(r["intent"], r["language"]): r["turns"] for r in data["turns"]}
    assert languages[("recommend", "en")] == 2 and languages[("recommend", "zh")] == 1
    assert languages[("chitchat", "en")] == 1
    assert data["lists"] == {"turns": 3, "empty": 1, "short": 1, "short_below": 3, "empty_or_short_share": 0.6667}
    assert data["arms"][0]["arm"] == "hybrid" and data["arms"][0]["estimate"] == 0.75
    assert data["models"][0]["validation"] == {"ndcg@10": 0.4}
    assert data["coverage"] == {"catalog": Item.objects.count(), "recommended": 3,
                                "share": round(3 / Item.objects.count(), 4)}
    products = dash.dashboard_data(dash.Window.last_days(7, domain="product"), DASHBOARD_TURN_READS)
    assert sum(d["total"] for d in products["feedback"]) == 1
    assert products["coverage"]["recommended"] == 0


def test_dashboard_is_for_staff_only(catalog, django_user_model):
    assert Client().get("/admin/dashboard/").status_code == 302
    plain = django_user_model.objects.create_user("plain", password="pw-123456")
    client = Client()
    client.force_login(plain)
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = django_user_model.objects.create_user("boss", password="pw-123456", is_staff=True)
    client.force_login(staff)
    page = client.get("/admin/dashboard/?start=2020-01-01&end=bad&domain=movie")
    assert page.status_code == 200
    # The chart library from our own static files (its name hashed once collectstatic has run).
    assert re.search(rb"/static/vendor/chartjs/chart\.umd\.min(\.[0-9a-f]{12})?\.js", page.content)
    assert page.content.count(b'data-testid="chart"') == 7
    assert b'/admin/dashboard/' in client.get("/admin/").content


def test_reply_ratings_show_in_the_admin(catalog, django_user_model):
    _, reply = a_turn(Profile.objects.create(kind="guest", session_key="s"), [catalog["ml-1"]])
    services.reply_rate(message=reply, value=-1)
    staff = django_user_model.objects.create_superuser("root", password="pw-123456")
    client = Client()
    client.force_login(staff)
    page = client.get("/admin/chat/message/?rating=-1").content.decode()
    assert "Thumbs down" in page and "Here you are" in page
    assert "Here you are" not in client.get("/admin/chat/message/?rating=1").content.decode()


def test_download_says_which_feedback_was_stated_in_chat_and_which_was_pressed_or_rated(catalog):
    client, me = guest_client()
    conversation = services.conversation_start(profile=me)
    services.stated_feedback_record(feedback=[{"item_id": str(catalog["ml-100"].pk), "kind": "like"}], profile=me,
                                    conversation=conversation)
    services.feedback_record(profile=me, item_id=catalog["ml-1"].pk, kind="like", conversation=conversation)
    Interaction.objects.create(profile=me, item=catalog["ml-50"], kind="rating", value=4.5, origin="api",
                               occurred_at=timezone.now())
    data = json.loads(client.get("/my-data/download").content)
    assert [(f["item_title"], f["source"], f["scope"]) for f in data["feedback"]] == [
        ("Fargo (1996)", "stated", "conversation"), ("Toy Story (1995)", "pressed", "everywhere"),
        ("Star Wars (1977)", "rated", "everywhere")]
