"""Why this? draws the explanation's knowledge chain, served by a real (small) trained model, in both languages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import running_server

pytestmark = pytest.mark.e2e

TIMEOUT = 30_000

# Taste groups over the e2e catalog, then a small EASE + popularity model trained and activated: the model's
# evidence names what the person liked, and the chain runs from it to each pick through the catalog's entities.
TRAIN_SCRIPT = """
import django
django.setup()
from django.utils import timezone
from recommender.models import Interaction, Item, Profile
from recommender.services.training import model_train

groups = [["ml-183", "ml-6", "ml-127"], ["ml-1", "ml-71", "ml-94"], ["ml-100", "ml-313", "ml-483"]]
items = {item.external_id: item for item in Item.objects.all()}
for g, group in enumerate(groups):
    for u in range(6):
        person = Profile.objects.create(kind="imported", source="synthetic", external_id=f"g{g}-{u}")
        for ext in group[: 2 + u % 2]:
            Interaction.objects.create(profile=person, item=items[ext], kind="like", occurred_at=timezone.now(),
                                       origin="import")
model_train(config={"components": {"ease": {"l2": 10.0}, "popularity": {}}, "tune": {}, "rating": None})
"""


@pytest.fixture(scope="module")
def trained_server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("e2e-chain"), setup=TRAIN_SCRIPT) as (base, db_path, _):
        yield base, db_path


def _ask(page, base, text):
    page.goto(base + "/")
    expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
    page.get_by_test_id("message-input").fill(text)
    page.get_by_test_id("message-input").press("Enter")
    cards = page.get_by_test_id("item-card")
    expect(cards.first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stop")).to_be_hidden(timeout=TIMEOUT)
    return cards


def _chained_card(cards):
    """Return the first card whose explanation carries a chain, after opening its "why this?"."""
    for k in range(cards.count()):
        card = cards.nth(k)
        if card.get_by_test_id("chain").count():
            card.get_by_test_id("why").click()
            return card
    raise AssertionError("no card draws a chain")


def test_why_this_draws_the_chain_from_the_liked_film_to_the_pick(trained_server, page):
    base, _ = trained_server
    cards = _ask(page, base, "I loved Alien. Something like it?")
    card = _chained_card(cards)
    chain = card.get_by_test_id("chain")
    expect(chain).to_be_visible()
    expect(chain.locator("figcaption")).to_have_text("How it connects")
    nodes = chain.get_by_test_id("chain-node")
    assert nodes.count() >= 3
    assert "Alien (1979)" in nodes.first.inner_text()  # the path starts at the film the person named
    assert nodes.first.locator(".chain-start").inner_text() in ("you liked", "you named")
    title = card.locator(".title").inner_text()
    assert nodes.nth(2).inner_text() == title  # ... and ends at the card's own item
    links = chain.get_by_test_id("chain-link").all_inner_texts()
    assert links and all(re.fullmatch(r"[a-z ]+", text) for text in links)
    # The sentence says the same chain: the entity drawn in the middle is named in the text.
    middle = nodes.nth(1).inner_text()
    expect(card.locator(".reason-text")).to_contain_text(middle)
    box = chain.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    # Reopened from history, the stored evidence draws the same chain.
    drawn, item_id = nodes.all_text_contents(), card.get_attribute("data-item-id")
    page.reload()
    expect(page.locator("body[data-connected=true]")).to_be_attached(timeout=TIMEOUT)
    again = page.locator(f"[data-testid=item-card][data-item-id='{item_id}']").last
    expect(again.get_by_test_id("chain")).to_be_attached(timeout=TIMEOUT)
    assert again.get_by_test_id("chain-node").all_text_contents() == drawn


def test_the_chain_is_drawn_in_chinese_for_a_chinese_reply(trained_server, page):
    base, _ = trained_server
    cards = _ask(page, base, "我很喜欢《异形》，推荐类似的")
    card = _chained_card(cards)
    chain = card.get_by_test_id("chain")
    expect(chain.locator("figcaption")).to_have_text("推荐的来龙去脉")
    nodes = chain.get_by_test_id("chain-node").all_inner_texts()
    assert "异形" in nodes[0]
    for text in chain.get_by_test_id("chain-link").all_inner_texts():
        assert re.search(r"[\u4e00-\u9fff]", text)
