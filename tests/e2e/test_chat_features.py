"""The chat page's controls in headless Chromium against a real Daphne: feedback take-backs, regenerate, edit,
thumbs, copy, images, prices, starters, scrolling, live announcements, dark mode, Esc, history management."""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import query
from tests.e2e.test_chat_ui import TIMEOUT, open_chat, send

pytestmark = pytest.mark.e2e


def wait_reply_done(page):
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
    expect(page.get_by_test_id("typing")).to_have_count(0, timeout=TIMEOUT)


def ask(page, text):
    send(page, text)
    expect(page.get_by_test_id("assistant-message").last.get_by_test_id("regenerate")).to_be_visible(timeout=TIMEOUT)
    wait_reply_done(page)


def hold_frames(page, hold):
    """Route the chat websocket through the test: server frames for which hold(frame) is true wait in a list."""
    state = {"held": [], "sent": [], "page": None, "open": False}

    def handler(ws):
        server = ws.connect_to_server()
        state["page"] = ws

        def from_server(message):
            if not state["open"] and hold(json.loads(message)):
                state["held"].append(message)
            else:
                ws.send(message)

        def from_page(message):
            state["sent"].append(json.loads(message))
            server.send(message)

        server.on_message(from_server)
        ws.on_message(from_page)

    page.route_web_socket(re.compile(r".*/ws/chat/$"), handler)
    return state


def release(state):
    """Send the held frames on, and let later ones through."""
    state["open"] = True
    held, state["held"] = state["held"], []
    for message in held:
        state["page"].send(message)


def test_like_and_dislike_exclude_each_other_and_a_second_press_takes_it_back(server, page):
    base, db = server
    open_chat(page, base)
    ask(page, "recommend me a comedy")
    card = page.get_by_test_id("item-card").first
    like, dislike = card.get_by_test_id("like"), card.get_by_test_id("dislike")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    dislike.click()
    expect(dislike).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    expect(like).to_have_attribute("aria-pressed", "false")
    dislike.click()
    expect(dislike).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT)
    expect(like).to_have_attribute("aria-pressed", "false")
    item_id = int(card.get_attribute("data-item-id"))
    kinds = [k for (k,) in query(db, "SELECT kind FROM recommender_interaction WHERE item_id = ? AND origin = 'chat' "
                                     "ORDER BY id", (item_id,))]
    assert kinds[-3:] == ["like", "dislike", "undislike"]
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    page.reload()
    card = page.locator(f'.card[data-item-id="{item_id}"]').first
    expect(card.get_by_test_id("like")).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    expect(card.get_by_test_id("dislike")).to_have_attribute("aria-pressed", "false")


def test_regenerate_keeps_the_earlier_answer_and_shows_a_different_list(server, page):
    base, db = server
    open_chat(page, base)
    ask(page, "recommend me a film")
    old = page.get_by_test_id("assistant-message").last.get_attribute("data-message-id")
    first_titles = page.get_by_test_id("item-card").locator(".title").all_inner_texts()
    page.get_by_test_id("regenerate").last.click()
    expect(page.get_by_test_id("assistant-message")).to_have_count(2, timeout=TIMEOUT)
    wait_reply_done(page)
    expect(page.get_by_test_id("assistant-message").first).to_have_attribute("data-message-id", old)
    expect(page.locator(".msg.user .text")).to_have_text(["recommend me a film", "recommend me a film"])
    latest = page.get_by_test_id("assistant-message").last
    expect(latest.get_by_test_id("reply-text")).to_contain_text("a different selection")
    new_titles = latest.get_by_test_id("item-card").locator(".title").all_inner_texts()
    assert new_titles and new_titles != first_titles
    # Only the latest answer offers to regenerate again.
    expect(page.get_by_test_id("assistant-message").first.get_by_test_id("regenerate")).to_be_hidden()
    assert query(db, "SELECT COUNT(*) FROM chat_message WHERE id = ?", (int(old),)) == [(1,)]


def test_edit_a_sent_message_and_the_conversation_continues_from_there(server, page):
    base, db = server
    open_chat(page, base)
    ask(page, "recommend me a comedy")
    ask(page, "something with animation")
    expect(page.get_by_test_id("user-message")).to_have_count(2)
    first = page.get_by_test_id("user-message").first
    first.hover()
    first.get_by_test_id("edit").click()
    page.get_by_test_id("edit-input").fill("a crime drama")
    page.get_by_test_id("edit-send").click()
    expect(page.locator(".msg.user .text")).to_have_text(["a crime drama"], timeout=TIMEOUT)
    wait_reply_done(page)
    expect(page.get_by_test_id("assistant-message")).to_have_count(1)
    expect(page.get_by_test_id("item-card").first).to_contain_text("Fargo")
    reply = int(page.get_by_test_id("assistant-message").last.get_attribute("data-message-id"))
    conversation = query(db, "SELECT conversation_id FROM chat_message WHERE id = ?", (reply,))[0][0]
    rows = query(db, "SELECT role, text FROM chat_message WHERE conversation_id = ? ORDER BY id", (conversation,))
    assert [r[0] for r in rows] == ["user", "assistant"] and rows[0][1] == "a crime drama"


def test_thumbs_on_a_reply_are_stored_and_copy_copies(server, page):
    base, db = server
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    open_chat(page, base)
    ask(page, "recommend me a comedy")
    reply = page.get_by_test_id("assistant-message").last
    up, down = reply.get_by_test_id("thumbs-up"), reply.get_by_test_id("thumbs-down")
    up.click()
    expect(up).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    message = int(reply.get_attribute("data-message-id"))
    assert query(db, "SELECT rating FROM chat_message WHERE id = ?", (message,)) == [(1,)]
    down.click()
    expect(down).to_have_attribute("aria-pressed", "true", timeout=TIMEOUT)
    expect(up).to_have_attribute("aria-pressed", "false")
    down.click()
    expect(down).to_have_attribute("aria-pressed", "false", timeout=TIMEOUT)
    assert query(db, "SELECT rating FROM chat_message WHERE id = ?", (message,)) == [(None,)]
    reply.get_by_test_id("copy").click()
    expect(reply.get_by_test_id("copy")).to_have_attribute("data-copied", "true", timeout=TIMEOUT)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert reply.get_by_test_id("reply-text").inner_text() in copied
    for title in reply.locator(".card .title").all_inner_texts():
        assert title in copied


def test_images_have_a_size_and_a_broken_one_shows_a_text_placeholder(server, page):
    base, db = server
    favicon = base + "/static/drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png"
    query(db, "UPDATE recommender_item SET image_url = ? WHERE external_id = 'ml-1'", (base + "/static/missing.png",))
    query(db, "UPDATE recommender_item SET image_url = ? WHERE external_id = 'ml-69'", (favicon,))
    try:
        open_chat(page, base)
        ask(page, "recommend me a comedy")
        broken = page.locator('.card:has-text("Toy Story")')
        expect(broken.get_by_test_id("image-failed")).to_have_text("No image", timeout=TIMEOUT)
        expect(broken.locator("img")).to_have_count(0)
        image = page.locator('.card:has-text("Forrest Gump")').get_by_test_id("item-image")
        expect(image).to_have_attribute("loading", "lazy")
        assert image.get_attribute("width") and image.get_attribute("height")
        expect(image).to_have_js_property("complete", True, timeout=TIMEOUT)
        assert image.evaluate("img => img.naturalWidth") == 32
        expect(page.locator('.card:has-text("Home Alone") .generated')).to_have_text("H")
    finally:
        query(db, "UPDATE recommender_item SET image_url = '' WHERE external_id IN ('ml-1', 'ml-69')")


def test_prices_use_the_item_currency_and_the_page_locale(server, page):
    base, _ = server
    open_chat(page, base)
    ask(page, "a summer dress")
    attrs = page.get_by_test_id("item-card").first.get_by_test_id("attrs")
    expect(attrs).to_contain_text("€79.00")
    assert "$" not in attrs.inner_text()


def test_starters_before_the_first_message_in_the_page_language(server, page):
    base, _ = server
    open_chat(page, base)
    starters = page.get_by_test_id("starter")
    expect(starters.first).to_be_visible()
    texts = starters.all_inner_texts()
    assert "A funny film from the 90s" in texts and "A gift under $50" in texts
    starters.filter(has_text="A funny film from the 90s").click()
    expect(page.locator(".msg.user .text")).to_have_text(["A funny film from the 90s"], timeout=TIMEOUT)
    wait_reply_done(page)
    expect(page.get_by_test_id("starter")).to_have_count(0)
    page.get_by_test_id("language").select_option("zh-hans")
    # The switch reloads the page, which then reopens the conversation: start a new one only after both.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans", timeout=TIMEOUT)
    expect(page.locator(".msg.user .text")).to_have_text(["A funny film from the 90s"], timeout=TIMEOUT)
    page.get_by_test_id("new-conversation").click()
    expect(page.get_by_test_id("starter").filter(has_text="90年代的喜剧片")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".msg.user")).to_have_count(0)


def test_the_view_follows_a_reply_only_when_the_reader_is_at_the_bottom(server, page):
    base, _ = server
    page.set_viewport_size({"width": 900, "height": 500})
    open_chat(page, base)
    for _ in range(3):
        ask(page, "recommend me a comedy")
    state = hold_frames(page, lambda f: f["type"] in ("chat.token", "chat.items", "chat.explanation", "chat.done"))
    page.reload()
    expect(page.get_by_test_id("item-card")).to_have_count(9, timeout=TIMEOUT)
    send(page, "recommend me a comedy")
    expect(page.get_by_test_id("stop")).to_be_visible(timeout=TIMEOUT)
    messages = page.get_by_test_id("messages")
    messages.evaluate("el => el.scrollTo(0, 0)")
    page.wait_for_function("() => document.getElementById('messages').scrollTop === 0")
    page.wait_for_timeout(300)
    release(state)
    wait_reply_done(page)
    expect(page.get_by_test_id("item-card")).to_have_count(12)
    assert messages.evaluate("el => el.scrollTop") == 0
    # At the bottom, the view follows the next reply down.
    messages.evaluate("el => el.scrollTo(0, el.scrollHeight)")
    page.wait_for_timeout(300)
    send(page, "recommend me a comedy")
    page.wait_for_timeout(300)
    release(state)
    wait_reply_done(page)
    page.wait_for_timeout(200)
    assert messages.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight") <= 40


def test_one_announcement_per_finished_reply_and_sidebar_toggle_state(server, browser):
    base, _ = server
    context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(base + "/")
        page.get_by_test_id("language").select_option("zh-hans")
        expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
        assert page.get_by_test_id("messages").get_attribute("aria-live") is None
        state = hold_frames(page, lambda f: f["type"] == "chat.done")
        page.reload()
        expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
        send(page, "推荐几部动画片")
        expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_test_id("announcer")).to_have_text("")
        expect(page.get_by_test_id("typing")).to_have_attribute("aria-label", "正在回复…")
        release(state)
        expect(page.get_by_test_id("announcer")).to_contain_text("回复完成", timeout=TIMEOUT)
        expect(page.get_by_test_id("announcer")).to_contain_text("狮子王")
        toggle = page.locator("#sidebar-toggle")
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(page.locator("#sidebar")).to_be_visible()
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "false")
    finally:
        context.close()


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_dark_mode_follows_the_system_and_the_toggle_wins(server, browser):
    base, _ = server
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    try:
        page.goto(base + "/")
        assert background(page) == "rgb(15, 19, 32)"
        toggle = page.get_by_test_id("theme-toggle")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        toggle.click()
        assert background(page) == "rgb(246, 247, 251)"
        page.reload()
        assert background(page) == "rgb(246, 247, 251)"
        expect(page.get_by_test_id("theme-toggle")).to_have_attribute("aria-pressed", "false")
        page.emulate_media(color_scheme="light")
        page.get_by_test_id("theme-toggle").click()
        assert background(page) == "rgb(15, 19, 32)"
    finally:
        context.close()


def test_reduced_motion_stops_the_typing_animation(server, browser):
    base, _ = server
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    try:
        open_chat(page, base)
        hold_frames(page, lambda f: f["type"] != "chat.start")
        page.reload()
        expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
        send(page, "recommend me a comedy")
        dot = page.locator(".typing .dot").first
        expect(dot).to_be_visible(timeout=TIMEOUT)
        assert dot.evaluate("d => getComputedStyle(d).animationName") == "none"
    finally:
        context.close()


def test_escape_stops_a_reply(server, page):
    base, _ = server
    open_chat(page, base)
    state = hold_frames(page, lambda f: f["type"] in ("chat.explanation", "chat.done"))
    page.reload()
    expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
    send(page, "recommend me a comedy")
    expect(page.get_by_test_id("item-card").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stop")).to_be_visible()
    page.keyboard.press("Escape")
    for _ in range(50):
        if any(f["type"] == "stop" for f in state["sent"]):
            break
        page.wait_for_timeout(100)
    assert {"type": "stop"} in state["sent"]
    release(state)
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)


def test_keyboard_focus_is_visible(server, page):
    base, _ = server
    open_chat(page, base)
    page.keyboard.press("Tab")
    outlines = []
    for _ in range(8):
        outlines.append(page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"))
        page.keyboard.press("Tab")
    assert all(style != "none" and width != "0px" for style, width in outlines)


def test_rename_search_and_delete_conversations_and_my_data(server, page):
    base, db = server
    open_chat(page, base)
    ask(page, "recommend me a comedy")
    page.get_by_test_id("new-conversation").click()
    ask(page, "something like Fargo")
    rows = page.get_by_test_id("conversation")
    expect(rows).to_have_count(2, timeout=TIMEOUT)
    page.once("dialog", lambda d: d.accept("Funny films"))
    rows.filter(has_text="recommend me a comedy").get_by_test_id("conversation-rename").click()
    expect(rows.filter(has_text="Funny films")).to_have_count(1, timeout=TIMEOUT)
    page.get_by_test_id("conversation-search").fill("fargo")
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    expect(rows.first).to_contain_text("something like Fargo")
    page.get_by_test_id("conversation-search").fill("zzz no such words")
    expect(page.get_by_test_id("conversation-none")).to_have_text("No conversation matches your search.",
                                                                  timeout=TIMEOUT)
    expect(rows).to_have_count(0)
    page.get_by_test_id("conversation-search").fill("")
    expect(rows).to_have_count(2, timeout=TIMEOUT)
    expect(page.get_by_test_id("conversation-none")).to_have_count(0)
    page.once("dialog", lambda d: d.accept())
    rows.filter(has_text="something like Fargo").get_by_test_id("conversation-delete").click()
    expect(rows).to_have_count(1, timeout=TIMEOUT)
    expect(page.get_by_test_id("item-card")).to_have_count(0)

    with page.expect_download() as download:
        page.get_by_test_id("download-data").click()
    data = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert [c["title"] for c in data["conversations"]] == ["Funny films"]
    page.once("dialog", lambda d: d.accept())
    page.get_by_test_id("delete-data").click()
    page.wait_for_url(base + "/")
    expect(page.get_by_test_id("conversation")).to_have_count(0, timeout=TIMEOUT)
    assert query(db, "SELECT COUNT(*) FROM chat_conversation WHERE title = 'Funny films'") == [(0,)]


def test_a_message_sent_before_the_new_conversation_is_confirmed_keeps_its_reply(server, page):
    base, _ = server
    armed = {"on": False}
    state = hold_frames(page, lambda frame: armed["on"])
    open_chat(page, base)
    ask(page, "recommend me a comedy")
    armed["on"] = True  # from here the server's frames wait: its confirmation arrives after the next message
    page.get_by_test_id("new-conversation").click()
    expect(page.get_by_test_id("assistant-message")).to_have_count(0)  # the view is cleared at once
    send(page, "something like Fargo")
    release(state)
    expect(page.get_by_test_id("assistant-message").last.get_by_test_id("regenerate")).to_be_visible(timeout=TIMEOUT)
    wait_reply_done(page)
    expect(page.get_by_test_id("assistant-message")).to_have_count(1)
    expect(page.locator(".msg.user")).to_have_count(1)
