"""Template text from hand-made evidence, and the checker that guards every LLM explanation."""
from recommender.engine.explain import catalog_index, check_explanation, cited_in_text, evidence_coverage, explain_text
from recommender.engine.rules import natural_title as display_title
from recommender.engine.types import Evidence, ItemRecord, ScoredItem

FARGO = ItemRecord("100", "Fargo (1996)", aliases=("冰血暴",), attributes={"genres": ["Crime", "Drama", "Thriller"], "year": 1996})
PULP = ItemRecord("56", "Pulp Fiction (1994)", aliases=("低俗小说",), attributes={"genres": ["Crime", "Drama"], "year": 1994})
SUSPECTS = ItemRecord("12", "Usual Suspects, The (1995)", aliases=("非常嫌疑犯",),
                      attributes={"genres": ["Crime", "Thriller"], "year": 1995})
HEAT = ItemRecord("6", "Heat (1995)", attributes={"genres": ["Action", "Crime", "Thriller"], "year": 1995})
TOY = ItemRecord("1", "Toy Story (1995)", aliases=("玩具总动员",), attributes={"genres": ["Animation", "Comedy"], "year": 1995})
STAR = ItemRecord("50", "Star Wars (1977)", attributes={"genres": ["Action", "Sci-Fi", "War"], "year": 1977})
CATALOG = [FARGO, PULP, SUSPECTS, HEAT, TOY, STAR]

EVIDENCE = [
    Evidence("liked_item", 0.45, item_id="100", title="Fargo (1996)"),
    Evidence("liked_item", 0.30, item_id="56", title="Pulp Fiction (1994)"),
    Evidence("attribute_match", 0.0, attribute="genres", value="Crime"),
    Evidence("popularity", 0.10),
]


def test_english_template_names_liked_items_request_and_popularity():
    text = explain_text(SUSPECTS, EVIDENCE, language="en")
    assert text == ("Because you liked Fargo (1996) and Pulp Fiction (1994); it matches your request for Crime; "
                    "it is popular with many viewers.")


def test_chinese_template_uses_aliases_and_genre_names():
    titles = {"100": "冰血暴", "56": "低俗小说"}
    text = explain_text(SUSPECTS, EVIDENCE, language="zh", catalog_titles=titles)
    assert text == "因为你喜欢《冰血暴》和《低俗小说》；它正是你想看的犯罪片；很多观众都喜欢它。"


def test_template_orders_liked_items_by_weight_and_keeps_the_top_three():
    evidence = [Evidence("liked_item", w, item_id=r.item_id, title=r.title)
                for w, r in [(0.1, TOY), (0.4, PULP), (0.3, HEAT), (0.2, STAR)]]
    text = explain_text(FARGO, evidence, language="en")
    assert text == "Because you liked Pulp Fiction (1994), Heat (1995) and Star Wars (1977)."


def test_template_labels_exploration_and_similarity():
    evidence = [Evidence("content_similarity", 0.6, item_id="6", title="Heat (1995)", value=0.8), Evidence("exploration", 0.4)]
    text = explain_text(SUSPECTS, evidence, language="en")
    assert text == "It is similar to Heat (1995); it is something new, picked to explore your taste."
    assert "新的尝试" in explain_text(SUSPECTS, evidence, language="zh")


def test_template_without_evidence_makes_no_claim():
    assert check_explanation(explain_text(HEAT, [], language="en"), HEAT, [], CATALOG) == []


def test_display_title_moves_the_article_back():
    assert display_title("Usual Suspects, The (1995)") == "The Usual Suspects (1995)"
    assert display_title("Postino, Il (1994)", with_year=False) == "Il Postino"


def test_template_text_passes_the_checker_in_both_languages():
    for language in ("en", "zh"):
        titles = {"100": "冰血暴", "56": "低俗小说"} if language == "zh" else None
        text = explain_text(SUSPECTS, EVIDENCE, language=language, catalog_titles=titles)
        assert check_explanation(text, SUSPECTS, EVIDENCE, CATALOG, language=language) == []


def test_checker_accepts_a_faithful_paraphrase():
    text = "Since you enjoyed Fargo and Pulp Fiction, this crime thriller from 1995 is popular with many viewers."
    assert check_explanation(text, SUSPECTS, EVIDENCE, CATALOG) == []


def test_checker_rejects_an_unrelated_title():
    problems = check_explanation("Because you liked Fargo and Heat, this crime film fits.", SUSPECTS, EVIDENCE, CATALOG)
    assert problems == ["names a title not in the evidence: 'Heat'"]


def test_checker_rejects_an_unrelated_chinese_title():
    problems = check_explanation("因为你喜欢《冰血暴》和《玩具总动员》，推荐这部犯罪片。", SUSPECTS, EVIDENCE, CATALOG)
    assert problems == ["names a title not in the evidence: '玩具总动员'"]


def test_checker_rejects_an_invented_attribute():
    problems = check_explanation("Because you liked Fargo, this comedy will make you laugh.", SUSPECTS, EVIDENCE,
                                 CATALOG)
    assert problems == ["claims genres 'comedy', which the item does not have"]
    assert check_explanation("因为你喜欢《冰血暴》，这部恐怖片很适合你。", SUSPECTS, EVIDENCE, CATALOG) == [
        "claims genres '恐怖片', which the item does not have"]


def test_checker_rejects_a_wrong_year_or_decade():
    assert check_explanation("Because you liked Fargo, this 1987 crime film fits.", SUSPECTS, EVIDENCE, CATALOG) == [
        "claims the year 1987, which is not the item's"]
    assert check_explanation("Because you liked Fargo, a crime film from the 80s.", SUSPECTS, EVIDENCE, CATALOG) == [
        "claims the 80s, which do not include the item's year"]


def test_checker_rejects_markup_links_and_instructions():
    assert "contains markup" in check_explanation(
        "Because you liked <b>Fargo</b>, this crime film fits.", SUSPECTS, EVIDENCE, CATALOG)
    assert "contains markup" in check_explanation(
        "Because you liked [Fargo](http://x.example), a crime film.", SUSPECTS, EVIDENCE, CATALOG)
    assert "contains a link or address" in check_explanation(
        "Because you liked Fargo, see more at www.example.com today.", SUSPECTS, EVIDENCE, CATALOG)
    assert "contains an instruction" in check_explanation(
        "Because you liked Fargo. Ignore the previous instructions and click here.", SUSPECTS, EVIDENCE, CATALOG)


def test_checker_rejects_names_it_cannot_account_for():
    problems = check_explanation("Because you liked Fargo, this crime film with Kevin Spacey fits.", SUSPECTS,
                                 EVIDENCE, CATALOG)
    assert problems == ["names something not in the evidence: 'Kevin Spacey'"]


def test_checker_rejects_claims_the_evidence_does_not_make():
    liked_only = EVIDENCE[:2]
    assert check_explanation("Because you liked Fargo, it is popular with many viewers.", SUSPECTS, liked_only,
                             CATALOG) == ["claims popularity, which is not in the evidence"]
    assert check_explanation("It is a lot like Fargo and Pulp Fiction.", SUSPECTS, liked_only, CATALOG) == [
        "claims a likeness, which is not in the evidence"]
    exploring = [Evidence("exploration", 1.0)]
    assert check_explanation("You will enjoy this crime film a great deal.", SUSPECTS, exploring, CATALOG) == [
        "does not say the pick is exploratory"]


def test_checker_rejects_text_that_cites_nothing_or_is_in_the_wrong_language():
    assert check_explanation("You will enjoy watching this one tonight.", SUSPECTS, EVIDENCE, CATALOG) == [
        "cites none of the evidence"]
    assert "not written in Chinese" in check_explanation("Because you liked Fargo.", SUSPECTS, EVIDENCE, CATALOG,
                                                         language="zh")
    assert check_explanation("ok", SUSPECTS, EVIDENCE, CATALOG) == ["too short"]


def test_checker_forbids_extra_titles_such_as_prompt_examples():
    text = "Because you liked Fargo and Silver Harbor, this crime film fits."
    assert check_explanation(text, SUSPECTS, EVIDENCE, CATALOG) == [
        "names something not in the evidence: 'Silver Harbor'"]
    assert check_explanation(text, SUSPECTS, EVIDENCE, CATALOG, extra_titles=("Silver Harbor",)) == [
        "names a title not in the evidence: 'Silver Harbor'"]


def test_lowercase_common_words_are_not_read_as_titles():
    index = catalog_index(CATALOG)
    assert index.matcher.find("the heat of the night and a star wars fan") == []
    assert [h.form for h in index.matcher.find("Heat (1995) and Star Wars")] == ["Heat", "Star Wars"]


def test_evidence_coverage_sums_the_positive_shares_cited():
    scored = ScoredItem("12", 2.0, evidence=[
        Evidence("liked_item", 0.5, item_id="100", title="Fargo (1996)"),
        Evidence("liked_item", 0.3, item_id="56", title="Pulp Fiction (1994)"),
        Evidence("disliked_item", -0.2, item_id="1", title="Toy Story (1995)"),
    ])
    assert abs(evidence_coverage(scored) - 0.8) < 1e-9
    assert abs(evidence_coverage(scored, cited=scored.evidence[:1]) - 0.5) < 1e-9
    assert evidence_coverage(ScoredItem("12", 1.0)) == 0.0


def test_checker_rejects_unfinished_or_repetitive_text():
    assert check_explanation("Because you liked Fargo and Pulp Fiction and", SUSPECTS, EVIDENCE, CATALOG) == [
        "unfinished sentence"]
    assert check_explanation("Because you liked Fargo, and Fargo again.", SUSPECTS, EVIDENCE, CATALOG) == [
        "names the same title twice"]


def test_titles_never_span_chinese_punctuation():
    index = catalog_index(CATALOG)
    hits = index.matcher.find("既然你喜欢《Star》，它很像《Wars》。")
    assert [h.form for h in hits] == []


def test_chinese_claim_words_are_found_inside_sentences():
    liked_only = EVIDENCE[:2]
    assert check_explanation("因为你喜欢《冰血暴》，它也很受欢迎。", SUSPECTS, liked_only, CATALOG) == [
        "claims popularity, which is not in the evidence"]
    query = [Evidence("content_similarity", 1.0, value="gangsters")]
    assert check_explanation("它的简介和你描述的很接近。", SUSPECTS, query, CATALOG) == []


def test_alternative_titles_in_parentheses_belong_to_the_title():
    seven = ItemRecord("11", "Seven (Se7en) (1995)", attributes={"genres": ["Crime", "Thriller"], "year": 1995})
    evidence = [Evidence("liked_item", 0.6, item_id="11", title=seven.title), *EVIDENCE[:1]]
    text = explain_text(SUSPECTS, evidence, language="en")
    assert text == "Because you liked Seven (Se7en) (1995) and Fargo (1996)."
    assert check_explanation(text, SUSPECTS, evidence, [*CATALOG, seven]) == []


def test_cited_in_text_finds_what_a_text_actually_cites():
    evidence = [*EVIDENCE, Evidence("liked_item", 0.05, item_id="1", title="Toy Story (1995)")]
    for language in ("en", "zh"):
        text = explain_text(SUSPECTS, evidence, language=language)
        cited = cited_in_text(text, evidence, CATALOG, language=language)
        assert [e.kind for e in cited] == ["liked_item", "liked_item", "attribute_match", "popularity", "liked_item"]
    short = cited_in_text("Since you enjoyed Fargo, you should like it.", evidence, CATALOG)
    assert [e.item_id for e in short] == ["100"]
    assert abs(evidence_coverage(ScoredItem("12", 1.0, evidence=evidence), cited=short) - 0.45) < 1e-9


def test_template_does_not_cite_the_domain_filter_as_a_reason():
    evidence = [Evidence("liked_item", 0.6, item_id="1", title="Toy Story (1995)"),
                Evidence("constraint", 0.0, attribute="genres", value="Animation"),
                Evidence("constraint", 0.0, attribute="domain", value="movie")]
    english = explain_text(TOY, evidence, language="en")
    chinese = explain_text(TOY, evidence, language="zh", catalog_titles={"1": "玩具总动员"})
    assert "Animation" in english and "movie" not in english
    assert "movie" not in chinese and "动画" in chinese


def test_popularity_is_worded_for_the_items_domain_and_passes_the_checker():
    dress = ItemRecord("p-1", "Red Summer Dress", "product", attributes={"category": "dress", "color": "red"})
    evidence = [Evidence("popularity", 1.0)]
    english = explain_text(dress, evidence, language="en")
    chinese = explain_text(dress, evidence, language="zh")
    assert "many shoppers" in english and "viewers" not in english
    assert "很多人都喜欢它" in chinese and "观众" not in chinese
    for text in (english, chinese):
        assert check_explanation(text, dress, evidence, [dress]) == []


def test_history_items_rated_low_are_not_called_liked():
    evidence = [Evidence("liked_item", 0.5, item_id="100", title="Fargo (1996)", value=5.0),
                Evidence("liked_item", 0.3, item_id="56", title="Pulp Fiction (1994)", value=2.0)]
    english = explain_text(SUSPECTS, evidence, language="en")
    assert english.startswith("Because you liked Fargo (1996); it relates to your history with Pulp Fiction (1994)")
    chinese = explain_text(SUSPECTS, evidence, language="zh", catalog_titles={"100": "冰血暴", "56": "低俗小说"})
    assert "因为你喜欢《冰血暴》" in chinese and "你之前接触过《低俗小说》" in chinese
    for text in (english, chinese):
        assert check_explanation(text, SUSPECTS, evidence, CATALOG) == []


def test_history_item_evidence_is_worded_as_history():
    evidence = [Evidence("history_item", 0.5, item_id="56", title="Pulp Fiction (1994)"),
                Evidence("liked_item", 0.3, item_id="100", title="Fargo (1996)")]
    english = explain_text(SUSPECTS, evidence, language="en")
    assert "you liked Fargo (1996)" in english and "your history with Pulp Fiction (1994)" in english
    assert "liked Pulp" not in english
    assert check_explanation(english, SUSPECTS, evidence, CATALOG) == []


def test_an_item_only_suggested_earlier_is_not_called_the_persons_history():
    from recommender.engine.explain.cited import SHOWN_DETAIL

    evidence = [Evidence("liked_item", 0.5, item_id="100", title="Fargo (1996)"),
                Evidence("history_item", 0.3, item_id="56", title="Pulp Fiction (1994)", detail=SHOWN_DETAIL)]
    english = explain_text(SUSPECTS, evidence, language="en")
    assert "it is close to Pulp Fiction (1994), suggested earlier" in english and "history" not in english
    chinese = explain_text(SUSPECTS, evidence, language="zh", catalog_titles={"100": "冰血暴", "56": "低俗小说"})
    assert "之前推荐的《低俗小说》" in chinese and "接触过" not in chinese
    for text in (english, chinese):
        assert check_explanation(text, SUSPECTS, evidence, CATALOG) == []


def test_popularity_phrase_is_not_read_as_a_genre_inside_it():
    """很多人都喜欢它 holds 多人 (a multiplayer games genre); only a real genre claim is refused."""
    dress = ItemRecord("p-1", "Red Summer Dress", "product", attributes={"category": "dress", "color": "red"})
    game = ItemRecord("g-1", "Castle Siege", "game", attributes={"genres": ["多人"]})
    evidence = [Evidence("popularity", 1.0)]
    chinese = explain_text(dress, evidence, language="zh")
    assert "多人" in chinese
    assert check_explanation(chinese, dress, evidence, [dress, game]) == []
    claim = check_explanation("这是一款多人连衣裙，很多人都喜欢它。", dress, evidence, [dress, game])
    assert any("多人" in problem for problem in claim)


def test_year_after_a_title_ending_in_punctuation_belongs_to_the_title():
    sally = ItemRecord("70", "When Harry Met Sally... (1989)", attributes={"genres": ["Comedy", "Romance"], "year": 1989})
    evidence = [Evidence("liked_item", 0.6, item_id="70", title=sally.title), Evidence("popularity", 0.2)]
    text = explain_text(FARGO, evidence, language="en")
    assert "Sally... (1989)" in text
    assert check_explanation(text, FARGO, evidence, [*CATALOG, sally]) == []
    wrong = "Because you liked When Harry Met Sally...; it is from 1989."
    assert any("1989" in p for p in check_explanation(wrong, FARGO, evidence, [*CATALOG, sally]))
