"""Social recommendation through every path a person has (chat turn, REST, websocket, explanations, my data,
connections page and API), and what none of them may show: the likes of someone who is not discoverable."""

from __future__ import annotations

import gc
import json

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from chat import services
from recommender.models import Interaction, Profile, Relation, SocialSettings
from recommender.services.profiles import profile_for_user
from recommender.services.relations import relation_add, social_settings_update

MINE = ("ml-50", "ml-183")  # Star Wars, Alien
ANAS = ("ml-50", "ml-204", "ml-1")  # Star Wars, Back to the Future, Toy Story
# Max (a connection who is not discoverable) has exactly the person's taste, plus two films of his own.
MAXS = ("ml-50", "ml-183", "ml-234", "ml-173")
MAX_ONLY = ("ml-234", "ml-173")
MAX_TITLES = ("Jaws", "Princess Bride", "大白鲨", "公主新娘")
ZEDS = ("ml-183", "ml-69")  # discoverable, not connected


def like(profile, catalog, ids):
    for ext in ids:
        Interaction.objects.create(
            profile=profile, item=catalog[ext], kind="like", occurred_at=timezone.now(), origin="api"
        )


@pytest.fixture
def people(catalog, django_user_model):
    """Return {name: (user, profile)}: the person "me", their friends Ana (discoverable) and Max (private), and Zed
    (discoverable, not connected)."""
    out = {}
    for name, likes in [("me", MINE), ("Ana", ANAS), ("Max", MAXS), ("zed", ZEDS)]:
        user = django_user_model.objects.create_user(name, password="pw")
        profile = profile_for_user(user=user)
        like(profile, catalog, likes)
        out[name] = (user, profile)
    social_settings_update(profile=out["Ana"][1], discoverable=True)
    social_settings_update(profile=out["zed"][1], discoverable=True)
    SocialSettings.objects.create(profile=out["Max"][1], discoverable=False, display_name="Max")
    relation_add(profile=out["me"][1], other=out["Ana"][1])
    relation_add(profile=out["me"][1], other=out["Max"][1])
    return out


def ext_ids(catalog, cards) -> set[str]:
    by_pk = {item.pk: ext for ext, item in catalog.items()}
    return {by_pk[int(card["id"])] for card in cards}


def no_trace_of_max(text: str) -> None:
    for title in MAX_TITLES:
        assert title not in text


@pytest.mark.django_db
def test_a_chat_turn_uses_discoverable_friends_only_and_says_who_keeps_likes_private(catalog, people):
    me = people["me"][1]
    conversation = services.conversation_start(profile=me)
    result = services.turn_start(
        text="what do my friends like that I haven't tried?", profile=me, conversation=conversation
    ).collect()
    assert result.intent == "social"
    assert ext_ids(catalog, result.items) == {"ml-204", "ml-1"}  # Ana's likes not yet seen; Max's never
    assert "Max keeps their likes private" in result.reply
    assert all("Your friend Ana liked it" in item["explanation"] for item in result.items)
    stored = json.dumps(conversation.messages.last().payload, ensure_ascii=False)
    no_trace_of_max(stored)
    assert "Max" not in stored.replace("Max keeps", "")  # the stored evidence names Ana only


@pytest.mark.django_db
def test_chinese_turn_and_a_group_with_the_private_friend(catalog, people):
    me = people["me"][1]
    zh = services.turn_start(text="我想找一些我和朋友的共同兴趣", profile=me).collect()
    assert zh.language == "zh" and zh.intent == "social" and zh.items
    no_trace_of_max("".join(item["explanation"] for item in zh.items))
    # Max's likes do not move the group's list: the same list comes without his tie at all.
    Relation.objects.filter(profile=me, other=people["Max"][1]).delete()
    alone = services.turn_start(text="我想找一些我和朋友的共同兴趣", profile=me).collect()
    assert [i["id"] for i in alone.items] == [i["id"] for i in zh.items]
    relation_add(profile=me, other=people["Max"][1])
    together = services.turn_start(text="something Max and I would both enjoy", profile=me).collect()
    assert together.items == [] and "Max keeps their likes private" in together.reply


@pytest.mark.django_db
def test_people_like_me_never_lists_someone_who_is_not_discoverable(catalog, people):
    result = services.turn_start(text="who has taste like mine?", profile=people["me"][1]).collect()
    assert "zed" in result.reply and "Ana" in result.reply
    assert "Max" not in result.reply  # Max's taste is identical to the person's, and he chose not to be found
    zh = services.turn_start(text="谁的口味和我相似？", profile=people["me"][1]).collect()
    assert "Max" not in zh.reply and zh.reply.startswith("口味和你相近的人")


@pytest.mark.django_db
def test_once_max_is_discoverable_his_likes_are_used(catalog, people):
    social_settings_update(profile=people["Max"][1], discoverable=True)
    result = services.turn_start(text="what do my friends like?", profile=people["me"][1]).collect()
    assert set(MAX_ONLY) <= ext_ids(catalog, result.items)
    assert "Max" in services.turn_start(text="who has taste like mine?", profile=people["me"][1]).collect().reply


@pytest.mark.django_db
def test_rest_recommend_respects_privacy(catalog, people):
    client = Client()
    client.force_login(people["me"][0])
    for text in [
        "what do my friends like?",
        "我朋友喜欢什么",
        "something Max and I would both enjoy",
        "who has taste like mine?",
    ]:
        response = client.post(
            "/api/v1/recommend", {"messages": [{"role": "user", "content": text}]}, content_type="application/json"
        )
        assert response.status_code == 200
        body = response.json()
        assert not ext_ids(catalog, body["items"]) & set(MAX_ONLY)
        no_trace_of_max(json.dumps(body, ensure_ascii=False))


@pytest.mark.django_db
def test_a_guest_is_asked_to_sign_in(catalog, guest):
    result = services.turn_start(text="what do my friends like?", profile=guest[0]).collect()
    assert result.items == [] and "Sign in" in result.reply


@pytest.mark.django_db
def test_my_data_download_holds_my_ties_and_nothing_of_theirs(catalog, people):
    client = Client()
    client.force_login(people["me"][0])
    services.turn_start(
        text="what do my friends like?",
        profile=people["me"][1],
        conversation=services.conversation_start(profile=people["me"][1]),
    ).collect()
    data = json.loads(client.get("/my-data/download").content)
    assert {c["name"] for c in data["social"]["connections"]} == {"Ana", "Max"}
    assert data["social"]["discoverable"] is False
    no_trace_of_max(json.dumps(data, ensure_ascii=False))
    client.post("/my-data/delete")
    assert not Relation.objects.filter(profile=people["me"][1]).exists()


@pytest.mark.django_db
def test_connections_api_shows_ties_not_likes_and_changes_only_ones_own(catalog, people):
    client = Client()
    assert client.get("/api/v1/connections").status_code == 401
    client.force_login(people["me"][0])
    body = client.get("/api/v1/connections").json()
    shown = {c["name"]: c["shares_likes"] for c in body["connections"]}
    assert shown == {"Ana": True, "Max": False}
    no_trace_of_max(json.dumps(body))
    added = client.post("/api/v1/connections", {"username": "zed", "kind": "follows"}, content_type="application/json")
    assert added.status_code == 201 and "zed" in {c["name"] for c in added.json()["connections"]}
    assert (
        client.post("/api/v1/connections", {"username": "nobody"}, content_type="application/json").status_code == 404
    )
    assert (
        client.post("/api/v1/connections", {"username": "me"}, content_type="application/json").json()["error"]["code"]
        == "invalid"
    )
    theirs = relation_add(profile=people["zed"][1], other=people["Ana"][1])
    assert client.delete(f"/api/v1/connections/{theirs.pk}").status_code == 404
    assert Relation.objects.filter(pk=theirs.pk).exists()
    own = Relation.objects.get(profile=people["me"][1], other=people["Ana"][1])
    assert client.delete(f"/api/v1/connections/{own.pk}").status_code == 204
    patched = client.patch(
        "/api/v1/connections/settings", {"discoverable": True, "display_name": "Me"}, content_type="application/json"
    )
    assert patched.status_code == 200 and patched.json()["discoverable"] is True
    assert (
        client.patch(
            "/api/v1/connections/settings", {"discoverable": "maybe"}, content_type="application/json"
        ).status_code
        == 400
    )


@pytest.mark.django_db
def test_connections_page_adds_removes_and_sets_privacy(catalog, people):
    client = Client()
    assert client.get("/connections/").status_code == 302  # sign in first
    client.force_login(people["me"][0])
    page = client.get("/connections/").content.decode()
    assert "Ana" in page and "keeps their likes private" in page
    no_trace_of_max(page)
    client.post("/connections/", {"action": "add", "username": "zed", "kind": "friend"})
    assert Relation.objects.filter(profile=people["me"][1], other=people["zed"][1]).exists()
    client.post("/connections/", {"action": "settings", "discoverable": "on", "display_name": "Me"})
    assert SocialSettings.objects.get(profile=people["me"][1]).discoverable
    tie = Relation.objects.get(profile=people["me"][1], other=people["zed"][1])
    client.post("/connections/", {"action": "remove", "id": tie.pk})
    assert not Relation.objects.filter(pk=tie.pk).exists()
    assert Profile.objects.filter(pk=people["zed"][1].pk).exists()


@pytest.fixture
def release_turn_threads():
    """Let the turn threads' database connections go so the test database can be dropped (as test_consumers)."""
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from chat import workers

    workers.reset()
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    gc.collect()  # connections of finished per-connection threads close when collected


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_websocket_turn_and_its_explanations_respect_privacy(catalog, people, release_turn_threads):
    from tests.chat.test_consumers import communicator, receive_until

    client = Client()
    await database_sync_to_async(client.force_login)(people["me"][0])
    comm = communicator(client.cookies["sessionid"].value)
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "message", "text": "what do my friends like that I haven't tried?"})
    frames = await receive_until(comm, "chat.done")
    listed = next(f for f in frames if f["type"] == "chat.items")
    assert ext_ids(catalog, listed["items"]) == {"ml-204", "ml-1"}
    explained = [f for f in frames if f["type"] == "chat.explanation"]
    assert explained and all("Ana" in f["text"] for f in explained)
    no_trace_of_max(json.dumps(frames, ensure_ascii=False))
    await comm.send_json_to({"type": "message", "text": "why the first one?"})
    why = await receive_until(comm, "chat.done")
    no_trace_of_max(json.dumps(why, ensure_ascii=False))
    await comm.disconnect()
