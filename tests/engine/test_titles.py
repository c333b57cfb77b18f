"""One module reads and writes item titles: the (YYYY) year, the moved articles, folding and the linkers."""
from __future__ import annotations

from recommender.engine import rules, titles
from recommender.engine.understanding.catalog import title_variants
from recommender.engine.understanding.text import key_of


def test_the_year_is_read_the_same_way_everywhere():
    assert titles.split_year("Heat (1995)") == ("Heat", 1995)
    assert titles.split_year("Heat") == ("Heat", None)
    assert titles.without_year("  Toy Story (1995)  ") == "Toy Story"
    assert titles.title_year("1984 (1984)") == 1984 and titles.title_year("(1995) Heat") is None
    # Only an importer reads a series' running years, as its first year.
    assert titles.YEAR_OR_RUN_AT_END.search("Death Note: Desu nôto (2006–2007)").group(1) == "2006"
    assert titles.title_year("Death Note: Desu nôto (2006–2007)") is None
    assert titles.is_year_word("1995") and not titles.is_year_word("1895") and not titles.is_year_word("19955")


def test_one_article_list_turns_every_language_the_catalogs_use():
    assert titles.article_in_front("Godfather, The") == "The Godfather"
    assert titles.article_in_front("Chien andalou, Un") == "Un Chien andalou"
    assert titles.article_in_front("Sjunde inseglet, Det") == "Det Sjunde inseglet"
    assert titles.article_in_front("Grønne slagtere, De") == "De Grønne slagtere"
    assert titles.article_in_front("Me, Myself & Irene") == "Me, Myself & Irene"
    assert rules.natural_title("Vitelloni, I (a.k.a. The Young and the Passionate) (1953)") == \
        "I Vitelloni (a.k.a. The Young and the Passionate) (1953)"
    assert rules.MOVED_ARTICLES is titles.MOVED_ARTICLES


def test_the_three_linkers_share_the_forms_of_a_title():
    keys, year = titles.title_keys("Passion of Anna, The (Passion, En) (1969)")
    assert keys == ["passion of anna", "passion"] and year == 1969
    variants = dict(title_variants("Passion of Anna, The (Passion, En) (1969)"))
    assert variants["The Passion of Anna"] == 0 and variants["Passion of Anna"] == 1 and variants["Passion"] == 2
    assert key_of("Passion of Anna") == "passion of anna"
    assert "Passion of Anna" in titles.title_forms("Passion of Anna, The (1969)")
    matcher = titles.TitleMatcher()
    matcher.add("7", "Passion of Anna, The (1969)")
    assert [h.item_ids for h in matcher.find("We loved The Passion of Anna (1969).")] == [frozenset({"7"})]
