"""A fresh clone's first run: on the shipped sample alone, the README's examples and the page's starters are answered
in their own domain (and within the price they name); a title the catalog lacks gets a question, not a guess."""
import pytest
from django.utils import translation

from chat import services, views
from recommender import selectors
from recommender.services.demo import demo_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def sample(tmp_path):
    demo_load(data_dir=tmp_path)  # no MovieLens beside it
    selectors.reset_caches()
    yield selectors.item_records()
    selectors.reset_caches()


def answer(text: str):
    return services.recommend_from_messages(messages=[{"role": "user", "content": text}], profile=None)


def listed(result, records) -> list:
    return [records[str(item["id"] if isinstance(item, dict) else item.id)] for item in result.items]


@pytest.mark.parametrize(("text", "domain"), [
    ("something like The Matrix but less violent", "movie"),
    ("I loved The Matrix and Inception", "movie"),
    ("我想找一些适合夏天穿的连衣裙", "product"),
])
def test_the_readmes_examples_are_answered_in_their_domain(sample, text, domain):
    result = answer(text)
    items = listed(result, sample)
    assert len(items) >= 5 and {r.domain for r in items} == {domain}, result.reply


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_starter_on_the_page_is_answered_in_its_domain(sample, language):
    with translation.override(language):
        expected = {str(text): domain for domain, texts in views.STARTERS.items() for text in texts}
        for text, domain in expected.items():
            items = listed(answer(text), sample)
            assert items and {r.domain for r in items} == {domain}, (text, [r.title for r in items])


def test_the_gift_starter_keeps_its_price(sample):
    with translation.override("en"):
        text = str(views.STARTERS["product"][0])
    items = listed(answer(text), sample)
    assert len(items) >= 5 and all(r.attributes["price"] <= 50 for r in items), [r.attributes["price"] for r in items]


def test_an_unknown_title_alone_gets_a_question_not_a_list_from_every_domain(sample):
    result = answer("something like Blorpfest Tuesday")
    assert result.items == [] and "Blorpfest" in result.reply and "a film, a book, music" in result.reply
    zh = answer("有没有类似《布洛普节日》的")
    assert zh.items == [] and "目录里没有找到" in zh.reply


def test_an_unknown_title_in_a_named_domain_stays_in_it(sample):
    items = listed(answer("a film like Blorpfest Tuesday"), sample)
    assert items and {r.domain for r in items} == {"movie"}
