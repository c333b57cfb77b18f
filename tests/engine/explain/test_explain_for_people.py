"""What people read: each title once and in its natural form, shares within 0–100 %, no internal labels, no
contradictions, Chinese that is Chinese, and "similar to X" only for the model's neighbours of X."""
import re

from recommender.engine import replies, rules
from recommender.engine.explain import check_explanation, cited_in_text, explain_text, shown_evidence
from recommender.engine.explain.cited import NEIGHBOUR_SIMILARITY
from recommender.engine.explain.template import value_text
from recommender.engine.rankers.base import DETAILS, POPULARITY_PENALTY
from recommender.engine.types import Evidence, ItemRecord

HEAT = ItemRecord("6", "Heat (1995)", aliases=("盗火线",), attributes={"genres": ["Action", "Crime"], "year": 1995})
GODFATHER = ItemRecord("127", "Godfather, The (1972)", aliases=("教父",),
                       attributes={"genres": ["Crime", "Drama"], "year": 1972})
AMELIE = ItemRecord("4973", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
                    attributes={"genres": ["Comedy", "Romance"], "year": 2001})
IT = ItemRecord("9", "It (2017)", aliases=("小丑回魂",), attributes={"genres": ["Horror"], "year": 2017})
CASINO = ItemRecord("16", "Casino (1995)", aliases=("赌城风云",), attributes={"genres": ["Crime", "Drama"], "year": 1995})
RECORDS = {r.item_id: r for r in (HEAT, GODFATHER, AMELIE, IT, CASINO)}
CATALOG = list(RECORDS.values())
CATALOG_FORM = re.compile(r",\s(The|A|An|Le|La|Les|Il)\b(?=\s*[()》;；,.。]|$)")


def liked(record, weight, detail=DETAILS["liked_item"]):
    return Evidence("liked_item", weight, item_id=record.item_id, title=record.title, detail=detail)


# ------------------------------------------------------------------ each title once

def test_an_item_two_models_cite_is_named_once_with_its_shares_added():
    # The conversation mix joins the behaviour model's facts and the dialogue model's: Heat comes twice.
    evidence = [liked(HEAT, 0.5), liked(HEAT, 0.2, "suggested after it in recorded conversations"), liked(GODFATHER, 0.1)]
    en = explain_text(CASINO, evidence, language="en")
    assert en == "Because you liked Heat (1995) and The Godfather (1972)."
    zh = explain_text(CASINO, evidence, language="zh", catalog_titles={"6": "盗火线", "127": "教父"})
    assert zh == "因为你喜欢《盗火线》和《教父》。"
    for text, language in ((en, "en"), (zh, "zh")):
        assert check_explanation(text, CASINO, evidence, CATALOG, language=language) == []
    shown = shown_evidence(evidence, RECORDS, "en")
    assert [e["title"] for e in shown] == ["Heat (1995)", "The Godfather (1972)"]
    assert abs(shown[0]["share"] - 0.7) < 1e-9


def test_an_item_named_as_liked_is_not_named_again_as_similar():
    evidence = [liked(HEAT, 0.5), Evidence("content_similarity", 0.3, item_id="6", title=HEAT.title, value=0.9)]
    assert explain_text(CASINO, evidence, language="en") == "Because you liked Heat (1995)."


def test_the_checker_rejects_a_chinese_title_named_twice():
    evidence = [liked(AMELIE, 0.5)]
    problems = check_explanation("因为你喜欢《Amelie》和《Amelie》。", CASINO, evidence, CATALOG, language="zh")
    assert "names the same title twice" in problems


# ------------------------------------------------------------------ natural titles

def test_the_display_rule_turns_every_catalog_article_also_in_an_alternative_title():
    assert rules.natural_title(AMELIE.title) == "Amelie (Le Fabuleux destin d'Amélie Poulain) (2001)"
    assert rules.natural_title("Seventh Seal, The (Sjunde inseglet, Det) (1957)", with_year=False) == \
        "The Seventh Seal (Det Sjunde inseglet)"
    assert rules.natural_title("Andalusian Dog, An (Chien andalou, Un) (1929)") == "An Andalusian Dog (Un Chien andalou) (1929)"
    assert rules.natural_title("Me, Myself & Irene (2000)") == "Me, Myself & Irene (2000)"
    assert rules.display_title(AMELIE, "zh") == "Amelie (Le Fabuleux destin d'Amélie Poulain)"


def test_replies_name_items_by_their_display_titles():
    refs = [{"item_id": "127", "title": GODFATHER.title, "sentiment": "liked"},
            {"item_id": "6", "title": HEAT.title, "sentiment": "disliked"},
            {"item_id": "127", "title": GODFATHER.title, "sentiment": "liked"}]
    liked_en = replies.named_titles(refs, "liked", RECORDS, "en")
    assert liked_en == ["The Godfather (1972)"]
    reply = replies.feedback_reply(liked_en, replies.named_titles(refs, "disliked", RECORDS, "en"), "en")
    assert reply.startswith("Noted that you liked The Godfather (1972) and that you didn't like Heat (1995).")
    zh = replies.feedback_reply(replies.named_titles(refs, "liked", RECORDS, "zh"), [], "zh")
    assert zh.startswith("记下了，你喜欢《教父》")
    assert replies.ask_info_reply(GODFATHER, "title", "en") == "The title of The Godfather (1972): The Godfather (1972)."
    assert not CATALOG_FORM.search(replies.ask_info_reply(AMELIE, "year", "en"))


def test_evidence_shown_uses_display_titles():
    shown = shown_evidence([liked(GODFATHER, 0.4), liked(AMELIE, 0.3)], RECORDS, "en")
    assert [e["title"] for e in shown] == ["The Godfather (1972)", "Amelie (Le Fabuleux destin d'Amélie Poulain) (2001)"]
    assert not any(CATALOG_FORM.search(e["text"]) for e in shown)


# ------------------------------------------------------------------ shares within 0–100 %

def test_shares_shown_stay_within_0_and_100_percent_when_parts_cancel():
    # An item whose positive and negative parts nearly cancel: the ranker's shares are many times its score.
    evidence = [liked(HEAT, 11.94), liked(GODFATHER, 2.0), Evidence("disliked_item", -9.1, item_id="9", title=IT.title),
                Evidence("popularity", -4.0, detail=POPULARITY_PENALTY)]
    for language in ("en", "zh"):
        shown = shown_evidence(evidence, RECORDS, language)
        assert shown and all(0.0 <= e["share"] <= 1.0 and e["weight"] == e["share"] for e in shown)
        assert sum(e["share"] for e in shown) <= 1.0 + 1e-9
        assert all(int(p) <= 100 for e in shown for p in re.findall(r"\((\d+)%\)", e["text"]))
    assert [round(e["share"], 3) for e in shown_evidence(evidence, RECORDS, "en")] == [0.857, 0.143]


# ------------------------------------------------------------------ no internal labels, no contradictions

def test_evidence_shown_has_no_internal_labels_and_nothing_that_lowered_the_score():
    evidence = [liked(HEAT, 0.6), Evidence("disliked_item", -0.3, item_id="9", title=IT.title),
                Evidence("constraint", 0.0, attribute="domain", value="product"),
                Evidence("constraint", 0.0, attribute="genres", value="Crime"),
                Evidence("llm_suggestion", 0.0, value="request")]
    for language in ("en", "zh"):
        shown = shown_evidence(evidence, RECORDS, language)
        assert [e["kind"] for e in shown] == ["liked_item", "constraint", "llm_suggestion"]
        for e in shown:
            assert not re.search(r"[a-z]+_[a-z]+|domain|product", e["text"] + e["label"] + e["title"] + e["detail"])
    assert shown_evidence(evidence, RECORDS, "zh")[1]["title"] == "类型：犯罪"


def test_the_popularity_penalty_is_never_called_popular():
    # A negative score turns every share's sign: the penalty then carries a positive weight.
    evidence = [Evidence("popularity", 0.8, detail=POPULARITY_PENALTY), liked(HEAT, 0.4)]
    for language in ("en", "zh"):
        text = explain_text(CASINO, evidence, language=language)
        assert "popular" not in text and "很多" not in text
        assert not any(e["kind"] == "popularity" for e in shown_evidence(evidence, RECORDS, language))
    problems = check_explanation("Because you liked Heat; it is popular with many viewers.", CASINO, evidence, CATALOG)
    assert "claims popularity, which is not in the evidence" in problems


# ------------------------------------------------------------------ "similar to X" only for neighbours

def test_similar_to_x_only_when_the_model_makes_the_item_a_neighbour_of_x():
    far = [Evidence("content_similarity", 0.3, item_id="127", title=GODFATHER.title, value=NEIGHBOUR_SIMILARITY - 0.2)]
    near = [Evidence("content_similarity", 0.3, item_id="127", title=GODFATHER.title, value=NEIGHBOUR_SIMILARITY + 0.1)]
    assert "similar" not in explain_text(IT, far, language="en")
    assert "相似" not in explain_text(IT, far, language="zh")
    assert not shown_evidence(far, RECORDS, "en")
    assert check_explanation("It is similar to The Godfather (1972).", IT, far, CATALOG) == [
        "claims a likeness, which is not in the evidence"]
    assert explain_text(CASINO, near, language="en") == "It is similar to The Godfather (1972)."
    assert check_explanation("It is similar to The Godfather (1972).", CASINO, near, CATALOG) == []


# ------------------------------------------------------------------ Chinese, and numbers

def test_chinese_evidence_is_written_in_chinese():
    evidence = [liked(HEAT, 0.5), Evidence("content_similarity", 0.2, value="crime saga"),
                Evidence("attribute_match", 0.0, attribute="genres", value="Crime"), Evidence("popularity", 0.1),
                Evidence("exploration", 0.0), Evidence("constraint", 0.0, attribute="price", value=38.5)]
    for e in shown_evidence(evidence, RECORDS, "zh"):
        outside_titles = re.sub(r"《[^》]*》", "", e["text"])
        assert not re.search(r"[A-Za-z]", outside_titles), e["text"]


def test_numbers_are_grouped_not_in_exponent_form():
    assert value_text(1234567, "en", "price") == "price 1,234,567"
    assert value_text(1234567, "zh", "price") == "价格 1,234,567"
    assert value_text(38.99, "en") == "38.99" and value_text(1995, "en", "year") == "1995"
    evidence = [Evidence("constraint", 0.0, attribute="price", value=1234567)]
    item = ItemRecord("p1", "Grand piano", domain="product", attributes={"price": 1234567})
    text = explain_text(item, evidence, language="en")
    assert text == "It fits your filters: price 1,234,567." and "e+06" not in text
    assert cited_in_text(text, evidence, [item]) == evidence
    summary = replies.request_summary({"ranges": {"price": [None, 1234567], "year": [1990, 1999]}}, "en")
    assert summary == "price ≤ 1,234,567, year 1990–1999"


def test_a_factual_answer_about_a_bilingual_description_keeps_to_the_reply_language():
    heat = ItemRecord("6", "Heat (1995)", aliases=("盗火线",), attributes={"genres": ["Action", "Crime"]},
                      description="A thief and a detective circle each other. 大盗和警探在洛杉矶展开较量。")
    assert replies.ask_info_reply(heat, "description", "zh") == "《盗火线》的简介：大盗和警探在洛杉矶展开较量。"
    assert replies.ask_info_reply(heat, "description", "en") == "Heat (1995): A thief and a detective circle each other."
    assert replies.ask_info_reply(heat, "genres", "zh") == "《盗火线》的类型：动作、犯罪。"
    english_only = ItemRecord("1", "Fargo (1996)", description="A car salesman hires two criminals.")
    assert replies.ask_info_reply(english_only, "description", "zh") == "目录里没有《Fargo》的简介信息。"


def test_the_domain_asked_for_is_no_reason_and_a_pick_with_nothing_citable_claims_nothing():
    evidence = [Evidence("constraint", 0.0, attribute="domain", value="movie"),
                Evidence("content_similarity", 0.4, item_id="127", title=GODFATHER.title, value=0.2)]
    for language in ("en", "zh"):
        text = explain_text(IT, evidence, language=language)
        assert text in ("It is the top-scoring pick among the items you have not seen yet.", "这是你还没看过的作品里评分最高的推荐。")
        assert check_explanation(text, IT, evidence, CATALOG, language=language) == []
        assert shown_evidence(evidence, RECORDS, language) == []


def test_likeness_to_a_named_item_is_said_as_its_kind_not_as_a_request():
    from recommender.engine.explain.template import explain_text

    matrix = ItemRecord(item_id="m", title="Matrix, The (1999)", attributes={"genres": ["Action", "Sci-Fi"]})
    alien = ItemRecord(item_id="a", title="Alien (1979)", attributes={"genres": ["Horror", "Sci-Fi"]})
    same = Evidence(kind="same_kind", weight=0.4, item_id="m", title=matrix.title, attribute="genres",
                    value=["Sci-Fi"])
    liked = Evidence(kind="liked_item", weight=0.6, item_id="m", title=matrix.title)
    alone = explain_text(alien, [same], language="en")
    assert "ike The Matrix (1999), it is Sci-Fi" in alone and "request" not in alone
    both = explain_text(alien, [liked, same], language="en")
    assert both.count("The Matrix") == 1 and "both are also Sci-Fi" in both
    zh = explain_text(alien, [liked, same], language="zh")
    assert "同为" in zh and "要求" not in zh


def test_an_item_given_only_as_an_example_is_not_called_liked():
    from recommender.engine.explain.cited import EXAMPLE_DETAIL

    # "something like Heat": the list leans on Heat, but the person never said they liked it.
    evidence = [liked(HEAT, 0.5, EXAMPLE_DETAIL), liked(GODFATHER, 0.2)]
    en = explain_text(CASINO, evidence, language="en")
    assert en == "Because you liked The Godfather (1972); it is close to Heat (1995)."
    zh = explain_text(CASINO, evidence, language="zh", catalog_titles={"6": "盗火线", "127": "教父"})
    assert "你提到的《盗火线》相近" in zh and "喜欢《盗火线》" not in zh
    for text, language in ((en, "en"), (zh, "zh")):
        assert check_explanation(text, CASINO, evidence, CATALOG, language=language) == []
    labels = {e["title"]: e["label"] for e in shown_evidence(evidence, RECORDS, "en")}
    assert labels["Heat (1995)"] == "your example" and labels["The Godfather (1972)"] == "you liked"
