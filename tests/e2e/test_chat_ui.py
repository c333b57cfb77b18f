"""The chat page in headless Chromium against a real Daphne: streaming, cards, feedback, why, language, phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import query

pytestmark = pytest.mark.e2e

TIMEOUT = 15_000


def open_chat(page, base):
    page.goto(base + "/")
    expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)


def send(page, text):
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("message-input").press("Enter")


def test_send_see_streamed_reply_and_cards_like_and_why(server, page):
    base, db = server
    open_chat(page, base)
    send(page, "recommend me a comedy")
    reply = page.get_by_test_id("reply-text").last
    expect(reply).to_contain_text(re.compile(r"\w+"), timeout=TIMEOUT)
    cards = page.get_by_test_id("item-card")
    expect(cards.first).to_be_visible(timeout=TIMEOUT)
    assert cards.count() == 3
    for text in cards.locator(".title").all_inner_texts():
        assert text in ("Toy Story (1995)", "Forrest Gump (1994)", "Home Alone (1990)")
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
    expect(page.get_by_test_id("typing")).to_have_count(0)
    expect(page.get_by_test_id("chip").first).to_be_visible()

    first = cards.first
    first.get_by_test_id("like").click()
    expect(first.locator(".fb.like.pressed")).to_be_visible(timeout=TIMEOUT)
    first.get_by_test_id("why").click()
    reason = first.get_by_test_id("reason")
    expect(reason).to_be_visible()
    expect(reason.locator(".reason-text")).to_contain_text(re.compile(r"\w{3,}"))

    item_id = int(first.get_attribute("data-item-id"))
    conversation = int(page.evaluate("sessionStorage.getItem('chatrec.conversation')"))
    # Only this browser's feedback: the server (and its database) is shared by every browser test.
    stored = query(db, "SELECT kind, origin, item_id FROM recommender_interaction WHERE item_id = ? AND profile_id = "
                       "(SELECT profile_id FROM chat_conversation WHERE id = ?)", (item_id, conversation))
    assert stored == [("like", "chat", item_id)]
    expect(page.get_by_test_id("conversation-open")).to_have_count(1, timeout=TIMEOUT)


def test_switch_to_chinese_and_chat_in_chinese(server, page):
    base, _ = server
    open_chat(page, base)
    page.get_by_test_id("language").select_option("zh-hans")
    expect(page.locator("html[lang=zh-hans]")).to_be_attached(timeout=TIMEOUT)
    expect(page.get_by_test_id("send")).to_have_text("发送")
    expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
    send(page, "推荐几部动画片")
    cards = page.get_by_test_id("item-card")
    expect(cards.first).to_be_visible(timeout=TIMEOUT)
    titles = cards.locator(".title").all_inner_texts()
    assert set(titles) <= {"玩具总动员", "狮子王"} and titles
    expect(page.get_by_test_id("why").first).to_have_text("为什么推荐？")
    page.get_by_test_id("language").select_option("en")
    expect(page.get_by_test_id("send")).to_have_text("Send", timeout=TIMEOUT)
    # The conversation survives the switch: its cards are shown again.
    expect(page.get_by_test_id("item-card")).to_have_count(len(titles), timeout=TIMEOUT)
    expect(page.locator(".msg.user .text")).to_have_text(["推荐几部动画片"])


def test_user_text_is_never_rendered_as_html(server, page):
    base, _ = server
    open_chat(page, base)
    attack = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    send(page, attack)
    expect(page.locator(".msg.user .text").last).to_have_text(attack, timeout=TIMEOUT)
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".messages img[src=x], .messages b").count() == 0


def test_phone_sized_screen_has_no_sideways_scrolling(server, browser):
    base, _ = server
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        open_chat(page, base)
        send(page, "recommend me a comedy")
        expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        box = page.get_by_test_id("item-card").first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        expect(page.get_by_test_id("send")).to_be_visible()
    finally:
        context.close()


def test_new_conversation_and_history(server, page):
    base, _ = server
    open_chat(page, base)
    send(page, "recommend me a comedy")
    expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
    page.get_by_test_id("new-conversation").click()
    expect(page.get_by_test_id("item-card")).to_have_count(0, timeout=TIMEOUT)
    page.get_by_test_id("conversation-list").locator("button").first.click()
    expect(page.get_by_test_id("item-card")).to_have_count(3, timeout=TIMEOUT)
    expect(page.locator(".msg.user .text")).to_have_text(["recommend me a comedy"])
