"""The page's frame: the message pane scrolls, the page itself never does."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_features import ask
from tests.e2e.test_chat_ui import TIMEOUT, open_chat

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("viewport", [{"width": 1200, "height": 600}, {"width": 375, "height": 640}])
def test_the_message_pane_scrolls_and_the_page_does_not(server, browser, viewport):
    base, _ = server
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    try:
        open_chat(page, base)
        for _ in range(3):
            ask(page, "recommend me a comedy")
        expect(page.get_by_test_id("item-card")).to_have_count(9, timeout=TIMEOUT)
        messages = page.get_by_test_id("messages")
        # The replies overflow the pane, which holds them in its own scroll area...
        assert messages.evaluate("el => el.scrollHeight > el.clientHeight + 100")
        assert messages.evaluate("el => el.getBoundingClientRect().bottom") <= viewport["height"]
        # ...so the document is exactly the window: nothing to scroll, the composer stays on screen.
        assert page.evaluate("document.scrollingElement.scrollHeight") <= viewport["height"]
        composer = page.get_by_test_id("message-input").bounding_box()
        assert composer["y"] + composer["height"] <= viewport["height"]
        # The view followed the last reply down inside the pane.
        assert messages.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight") <= 40
    finally:
        context.close()
