"""The one-turn service: event order, exact constraints, feedback, facts, follow-ups, stop, storage, re-rank."""
from __future__ import annotations

import threading

import pytest

from chat import selectors, services
from chat.models import Message
from recommender.engine import rules
from recommender.engine.llm import FakeBackend, rerank
from recommender.engine.types import ScoredItem
from recommender.models import Interaction, Item
from recommender.services.training import item_record

pytestmark = pytest.mark.django_db


def run(text, profile, conversation=None, **kw):
    return [e.frame() for e in services.turn_start(text=text, profile=profile, conversation=conversation, **kw).events()]


def of_type(events, kind):
    return [e for e in events if e["type"] == kind]


def reply_text(events):
    return "".join(e["text"] for e in of_type(events, "chat.token"))


def test_recommend_turn_streams_tokens_then_items_then_explanations_then_done(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = run("recommend me a comedy", profile, conversation, k=3)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "chat.start" and kinds[-1] == "chat.done"
    first_items = kinds.index("chat.items")
    assert all(k == "chat.token" for k in kinds[1:first_items]) and first_items > 1
    assert kinds[first_items + 1:-1] == ["chat.explanation"] * 3
    items = of_type(events, "chat.items")[0]["items"]
    assert len(items) == 3
    assert all("Comedy" in card["attributes"]["genres"] for card in items)
    explanations = of_type(events, "chat.explanation")
    assert [e["item_id"] for e in explanations] == [card["id"] for card in items]
    assert all(e["text"] and e["evidence"] for e in explanations)
    assert of_type(events, "chat.done")[0]["suggestions"]


def test_turn_is_stored_with_items_scores_evidence_and_understanding(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = run("recommend me a comedy", profile, conversation, k=2)
    done = of_type(events, "chat.done")[0]
    user, assistant = Message.objects.filter(conversation=conversation).order_by("id")
    assert user.role == "user" and user.text == "recommend me a comedy"
    assert assistant.pk == done["message_id"] and assistant.text == reply_text(events)
    payload = assistant.payload
    assert payload["intent"] == "recommend"
    assert payload["understanding"]["include"]["genres"] == ["Comedy"]
    assert len(payload["items"]) == 2 and all(i["evidence"] and "score" in i for i in payload["items"])
    conversation.refresh_from_db()
    assert conversation.title == "recommend me a comedy"
    assert conversation.state["shown"][0]["item_id"] == payload["items"][0]["item_id"]


def test_exclusion_applies_exactly_and_refinement_keeps_context(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    run("recommend some action films", profile, conversation, k=10)
    events = run("no horror please", profile, conversation, k=10)
    items = of_type(events, "chat.items")[0]["items"]
    assert items
    assert all("Horror" not in card["attributes"]["genres"] for card in items)
    assert all("Action" in card["attributes"]["genres"] for card in items)


def test_feedback_turn_records_a_like_from_chat(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = run("I liked Fargo", profile, conversation, k=3)
    assert of_type(events, "chat.start")[0]["intent"] == "recommend"  # a taste statement gets a list
    event = Interaction.objects.get(profile=profile)
    assert (event.item, event.kind, event.origin, event.conversation) == (catalog["ml-100"], "like", "chat", conversation)
    assert "Fargo" in reply_text(events)
    assert all(card["id"] != catalog["ml-100"].pk for card in of_type(events, "chat.items")[0]["items"])


def test_a_like_stated_inside_a_request_is_recorded_too(catalog, guest):
    profile, _ = guest
    run("I loved Fargo, recommend me something similar", profile, k=3)
    assert list(Interaction.objects.filter(profile=profile).values_list("item__external_id", "kind")) == [
        ("ml-100", "like")]


def test_a_like_stated_in_a_message_goes_when_the_message_is_rewound(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    run("recommend me a comedy", profile, conversation, k=3)
    events = run("I liked Fargo", profile, conversation, k=3)
    assert Interaction.objects.filter(profile=profile, context__via="message").count() == 1
    edited = Message.objects.get(pk=of_type(events, "chat.done")[0]["user_message_id"])
    services.conversation_rewind(conversation=conversation, message=edited)
    assert not Interaction.objects.filter(profile=profile).exists()


def test_a_like_stated_in_one_conversation_stays_with_it(catalog, guest):
    profile, _ = guest
    films = services.conversation_start(profile=profile)
    run("I loved Fargo", profile, films, k=3)
    assert Interaction.objects.filter(profile=profile, context__via=rules.STATED_VIA).count() == 1
    # The next conversation (another day, another domain) is not explained by it ...
    assert selectors.history_profile(profile=profile).liked == []
    events = run("recommend something", profile, services.conversation_start(profile=profile), k=5)
    evidence = [e for item in of_type(events, "chat.items")[0]["items"] for e in item.get("evidence", [])]
    evidence += [e for x in of_type(events, "chat.explanation") for e in x.get("evidence", [])]
    listed = [card["id"] for card in of_type(events, "chat.items")[0]["items"]]
    assert listed and catalog["ml-100"].pk not in listed  # kept off the list: the person has met it
    assert all(e.get("item_id") != str(catalog["ml-100"].pk) for e in evidence)
    # ... while a press counts everywhere, and its own conversation still holds the stated like.
    services.feedback_record(profile=profile, item_id=catalog["ml-1"].pk, kind="like")
    assert selectors.history_profile(profile=profile).liked == [str(catalog["ml-1"].pk)]
    films.refresh_from_db()
    assert services.load_state(films.state).context.liked == [str(catalog["ml-100"].pk)]


def test_yes_to_an_offer_to_drop_a_filter_loosens_it_also_after_a_rewind(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = run("a horror musical", profile, conversation, k=3)
    assert not of_type(events, "chat.items")[0]["items"] and "?" in reply_text(events)
    extra = run("what about comedies?", profile, conversation, k=3)  # answered otherwise: the offer lapses
    services.conversation_rewind(conversation=conversation,
                                 message=Message.objects.get(pk=of_type(extra, "chat.done")[0]["user_message_id"]))
    conversation.refresh_from_db()
    events = run("好的", profile, conversation, k=3)  # the rebuilt state still holds the offer
    assert of_type(events, "chat.items")[0]["items"] and reply_text(events).startswith("好的，去掉了")
    conversation.refresh_from_db()
    assert services.load_state(conversation.state).context.include == {}


def test_ask_info_answers_from_the_catalog(catalog, guest):
    profile, _ = guest
    events = run("What year did Titanic come out?", profile)
    assert of_type(events, "chat.start")[0]["intent"] == "ask_info"
    assert "1997" in reply_text(events)
    assert not of_type(events, "chat.items")


def test_chitchat_replies_briefly_and_steers_back(catalog, guest):
    profile, _ = guest
    events = run("hello", profile)
    assert of_type(events, "chat.start")[0]["intent"] == "chitchat"
    assert not of_type(events, "chat.items")
    assert "?" in reply_text(events) and len(reply_text(events)) < 200


@pytest.mark.parametrize("question,position", [("why the second one?", 1), ("为什么推荐第一个？", 0)])
def test_followup_why_explains_the_listed_item(catalog, guest, question, position):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    shown = of_type(run("recommend me a comedy", profile, conversation, k=3), "chat.items")[0]["items"]
    events = run(question, profile, conversation)
    explanation = of_type(events, "chat.explanation")
    assert len(explanation) == 1 and explanation[0]["item_id"] == shown[position]["id"]
    item = Item.objects.get(pk=shown[position]["id"])
    language = "zh" if question.startswith("为") else "en"
    assert rules.display_title(item_record(item), language) in reply_text(events)  # the title as cards show it
    assert explanation[0]["evidence"]


def test_stop_ends_the_turn_early_and_marks_it(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    cancel = threading.Event()
    events = []
    for event in services.turn_start(text="recommend me a comedy", profile=profile, conversation=conversation,
                                     cancel=cancel).events():
        event = event.frame()
        events.append(event)
        if event["type"] == "chat.token":
            cancel.set()
    done = events[-1]
    assert done["type"] == "chat.done" and done["stopped"] is True
    assert not of_type(events, "chat.items")
    assert Message.objects.get(pk=done["message_id"]).payload["stopped"] is True


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_text_is_refused(catalog, guest, bad):
    with pytest.raises(services.TurnError) as err:
        run(bad, guest[0])
    assert err.value.code == "empty_message"


def test_too_long_text_is_refused(catalog, guest, settings):
    settings.CHATREC_MAX_MESSAGE_CHARS = 10
    with pytest.raises(services.TurnError) as err:
        run("recommend me a comedy", guest[0])
    assert err.value.code == "message_too_long"


def test_a_users_conversation_is_not_reachable_by_another(catalog, guest, django_user_model):
    from recommender.services.profiles import profile_for_user

    owner, _ = guest
    conversation = services.conversation_start(profile=owner)
    other = profile_for_user(user=django_user_model.objects.create_user("mallory"))
    assert selectors.conversation_for(profile=other, conversation_id=conversation.pk) is None
    assert selectors.conversation_for(profile=owner, conversation_id=conversation.pk) == conversation


def _scored(ids):
    return [ScoredItem(item_id=i, score=1.0 - n / 10) for n, i in enumerate(ids)]


def test_llm_rerank_may_only_permute_the_candidates(catalog):
    records = {str(item.pk): item_record(item) for item in catalog.values()}
    ids = list(records)[:5]
    backend = FakeBackend(default="3, 1, 99, 3, banana")
    ranked, report = rerank.rerank_with_llm(_scored(ids), records, "something", backend, k=5)
    assert report["applied"] is True
    assert [s.item_id for s in ranked] == [ids[2], ids[0], ids[1], ids[3], ids[4]]


def test_llm_rerank_keeps_the_ranker_order_on_a_useless_answer(catalog):
    records = {str(item.pk): item_record(item) for item in catalog.values()}
    ids = list(records)[:4]
    for backend in (FakeBackend(default="I like all of them"), FakeBackend(fail=True)):
        ranked, report = rerank.rerank_with_llm(_scored(ids), records, "x", backend, k=3)
        assert report["applied"] is False
        assert [s.item_id for s in ranked] == ids[:3]


def test_rerank_setting_routes_the_turn_through_the_llm(catalog, guest, settings, quiet_engine):
    settings.CHATREC_LLM_RERANK = True
    quiet_engine.default = "2, 1"
    events = run("recommend me a comedy", guest[0], k=2)
    assert any("Rank the candidates" in prompt for prompt in quiet_engine.calls)
    assert len(of_type(events, "chat.items")[0]["items"]) == 2


def test_stored_history_personalises_and_dislikes_are_never_shown(catalog, guest):
    from django.utils import timezone

    profile, _ = guest
    Interaction.objects.create(profile=profile, item=catalog["ml-50"], kind="dislike", occurred_at=timezone.now())
    events = run("recommend something", profile, k=15)
    shown = [card["id"] for card in of_type(events, "chat.items")[0]["items"]]
    assert catalog["ml-50"].pk not in shown and shown


def test_recommend_from_messages_is_stateless_and_uses_earlier_messages(catalog):
    out = services.recommend_from_messages(
        messages=[{"role": "user", "content": "comedy films please"}, {"role": "assistant", "content": "ok"},
                  {"role": "user", "content": "no romance"}],
        profile=None, k=5)
    assert out.intent == "recommend" and out.items
    for card in out.items:
        assert "Comedy" in card["attributes"]["genres"] and "Romance" not in card["attributes"]["genres"]
        assert card["explanation"]
    assert not Message.objects.exists()


def test_chinese_request_summary_names_every_value_in_chinese():
    from recommender.engine.replies import request_summary

    summary = request_summary({"include": {"season": ["summer"], "category": ["dress"]},
                               "exclude": {"genres": ["Horror"]}, "ranges": {"price": [None, 50]}}, "zh")
    assert summary == "夏天，连衣裙，价格 ≤ 50，不要恐怖"


def test_a_title_not_in_the_catalog_is_named_in_the_reply(catalog, guest):
    profile, _ = guest
    conversation = services.conversation_start(profile=profile)
    events = run("a comedy like Blade Runner", profile, conversation, k=3)
    assert reply_text(events).startswith("I couldn't find “Blade Runner” in the catalog")
    assert of_type(events, "chat.items")[0]["items"], "the rest of the request still gets picks"
    # With nothing else to go on, and films and products in the catalog, it asks rather than guess a domain.
    events = run("something like Blade Runner but funnier", profile, services.conversation_start(profile=profile),
                 k=3)
    assert reply_text(events).startswith("I couldn't find “Blade Runner” in the catalog. Is it a film, a book")
    assert not of_type(events, "chat.items") or not of_type(events, "chat.items")[0]["items"]
    zh = services.conversation_start(profile=profile, language="zh")
    events = run("类似《银翼杀手》的喜剧", profile, zh, k=3)
    assert reply_text(events).startswith("目录里没有找到《银翼杀手》")
    known = run("something like Back to the Future", profile, services.conversation_start(profile=profile), k=3)
    assert "couldn't find" not in reply_text(known)
