"""Checked LLM paraphrase with template fallback, fallback counting, and follow-up questions in both languages."""
import threading

from recommender.engine.explain import FallbackCounter, answer_followup, build_prompt, paraphrase, resolve_followup
from recommender.engine.explain.paraphrase import EXAMPLE_TITLES
from recommender.engine.llm import FakeBackend, NoneBackend
from recommender.engine.types import Evidence, ItemRecord

FARGO = ItemRecord("100", "Fargo (1996)", aliases=("冰血暴",), attributes={"genres": ["Crime", "Drama", "Thriller"], "year": 1996})
PULP = ItemRecord("56", "Pulp Fiction (1994)", aliases=("低俗小说",), attributes={"genres": ["Crime", "Drama"], "year": 1994})
SUSPECTS = ItemRecord("12", "Usual Suspects, The (1995)", aliases=("非常嫌疑犯",),
                      attributes={"genres": ["Crime", "Thriller"], "year": 1995})
HEAT = ItemRecord("6", "Heat (1995)", attributes={"genres": ["Action", "Crime", "Thriller"], "year": 1995})
TOY = ItemRecord("1", "Toy Story (1995)", aliases=("玩具总动员",), attributes={"genres": ["Animation", "Comedy"], "year": 1995})
CATALOG = [FARGO, PULP, SUSPECTS, HEAT, TOY]
EVIDENCE = [
    Evidence("liked_item", 0.45, item_id="100", title="Fargo (1996)"),
    Evidence("liked_item", 0.30, item_id="56", title="Pulp Fiction (1994)"),
    Evidence("attribute_match", 0.0, attribute="genres", value="Crime"),
]
LISTED = [SUSPECTS, HEAT, TOY]


def test_prompt_holds_only_the_evidence():
    prompt = build_prompt(EVIDENCE, "en")
    assert prompt.endswith("Facts: liked Fargo (1996); liked Pulp Fiction (1994); matches request Crime\nSentence:")
    assert "Heat" not in prompt and "Toy Story" not in prompt
    assert build_prompt(EVIDENCE, "zh", {"100": "冰血暴"}).endswith(
        "事实：喜欢《冰血暴》；喜欢《Pulp Fiction》；符合要求 犯罪\n句子：")


def test_a_faithful_llm_paraphrase_is_shown():
    counter = FallbackCounter()
    backend = FakeBackend(default="Since you enjoyed Fargo and Pulp Fiction, this crime thriller should suit you.")
    result = paraphrase(SUSPECTS, EVIDENCE, language="en", backend=backend, catalog=CATALOG, counter=counter)
    assert (result.source, result.checked, result.failures) == ("llm", True, [])
    assert result.text == "Since you enjoyed Fargo and Pulp Fiction, this crime thriller should suit you."
    assert counter.snapshot()["fake"] == {"tried": 1, "fallbacks": 0, "rate": 0.0, "reasons": {}}


def test_bad_llm_text_falls_back_to_the_template_and_is_counted():
    counter = FallbackCounter()
    replies = [
        "Because you liked Heat, this crime film fits.",  # unrelated title
        "Because you liked Fargo, this hilarious comedy fits.",  # invented attribute
        "Because you liked <a href='x'>Fargo</a>, a crime film.",  # markup
        "Because you liked Fargo and Silver Harbor, a crime film.",  # copied prompt example
    ]
    for reply in replies:
        result = paraphrase(SUSPECTS, EVIDENCE, language="en", backend=FakeBackend(default=reply), catalog=CATALOG,
                            counter=counter)
        assert result.source == "template" and result.checked and result.failures
        assert result.text == "Because you liked Fargo (1996) and Pulp Fiction (1994); it matches your request for Crime."
        assert result.raw == reply
    snap = counter.snapshot()["fake"]
    assert (snap["tried"], snap["fallbacks"], snap["rate"]) == (4, 4, 1.0)
    assert snap["reasons"]["names a title not in the evidence"] == 2
    assert snap["reasons"]["contains markup"] == 1
    assert "Silver Harbor" in EXAMPLE_TITLES


def test_backend_errors_fall_back_and_a_disabled_backend_is_not_counted():
    counter = FallbackCounter()
    failed = paraphrase(SUSPECTS, EVIDENCE, language="zh", backend=FakeBackend(fail=True), catalog=CATALOG,
                        counter=counter)
    assert failed.source == "template" and failed.text.startswith("因为你喜欢《冰血暴》和《低俗小说》")
    assert failed.failures[0].startswith("backend error")
    off = paraphrase(SUSPECTS, EVIDENCE, language="en", backend=NoneBackend(), catalog=CATALOG, counter=counter)
    assert off.source == "template" and off.failures == []
    assert counter.snapshot() == {"fake": {"tried": 1, "fallbacks": 1, "rate": 1.0,
                                           "reasons": {"backend error": 1}}}


def test_fallback_counter_is_thread_safe():
    counter = FallbackCounter()

    def work():
        for i in range(500):
            counter.record("llamacpp", i % 2 == 0, ["too short"])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = counter.snapshot()["llamacpp"]
    assert (snap["tried"], snap["fallbacks"], snap["reasons"]) == (2000, 1000, {"too short": 1000})
    counter.reset()
    assert counter.snapshot() == {}


def test_followups_resolve_ordinals_in_english():
    cases = {
        "why the second one?": HEAT, "Why #3": TOY, "why number 2": HEAT, "and the first?": SUSPECTS,
        "why the last one?": TOY, "what about the third pick": TOY, "why 2nd": HEAT,
        "why the second to last one?": HEAT,
    }
    for question, expected in cases.items():
        assert resolve_followup(question, LISTED, "en") == expected, question


def test_followups_resolve_ordinals_in_chinese():
    cases = {"为什么推荐第二个": HEAT, "第三部为什么推荐？": TOY, "为什么推荐最后一个？": TOY,
             "第一个呢": SUSPECTS, "倒数第二个为什么": HEAT, "为什么是第 3 个": TOY}
    for question, expected in cases.items():
        assert resolve_followup(question, LISTED, "zh") == expected, question


def test_followups_resolve_titles_and_aliases():
    assert resolve_followup("why Heat?", LISTED, "en") == HEAT
    assert resolve_followup("why the usual suspects", LISTED, "en") == SUSPECTS
    assert resolve_followup("why toy story?", LISTED, "en") == TOY
    assert resolve_followup("为什么推荐《玩具总动员》？", LISTED, "zh") == TOY
    assert resolve_followup("非常嫌疑犯为什么适合我", LISTED, "zh") == SUSPECTS


def test_this_means_the_focused_card_else_the_first_and_unknown_means_none():
    assert resolve_followup("为什么推荐这个？", LISTED, "zh") == SUSPECTS
    assert resolve_followup("为什么推荐这个？", LISTED, "zh", focus=TOY) == TOY
    assert resolve_followup("why this?", [HEAT], "en") == HEAT
    assert resolve_followup("why the tenth one?", LISTED, "en") is None
    assert resolve_followup("why Fargo?", LISTED, "en") is None
    assert resolve_followup("why the second one?", [], "en") is None


def test_answer_followup_explains_the_resolved_item_from_its_evidence():
    evidence = {"12": EVIDENCE, "6": [Evidence("popularity", 1.0)]}
    answer = answer_followup("why the first one?", LISTED, evidence, language="en", catalog=CATALOG)
    assert answer.item == SUSPECTS and answer.evidence == EVIDENCE
    assert answer.text == "Because you liked Fargo (1996) and Pulp Fiction (1994); it matches your request for Crime."
    zh = answer_followup("为什么推荐第二个", LISTED, evidence, language="zh", catalog=CATALOG)
    assert zh.item == HEAT and zh.text == "很多观众都喜欢它。"
    unclear = answer_followup("why that genre at all", [], evidence, language="en")
    assert unclear.item is None and unclear.text.startswith("Which one do you mean?")


def test_low_rated_history_skips_the_llm_and_keeps_the_honest_template():
    from recommender.engine.explain import paraphrase
    from recommender.engine.llm import FakeBackend
    from recommender.engine.types import Evidence, ItemRecord

    item = ItemRecord("12", "Usual Suspects, The (1995)", attributes={"genres": ["Crime"], "year": 1995})
    seen = ItemRecord("56", "Pulp Fiction (1994)", attributes={"genres": ["Crime"], "year": 1994})
    backend = FakeBackend(default="Because you liked Pulp Fiction.")
    # The person's own low rating on a liked_item, or the ranker's own history_item label: both stay history.
    for evidence in ([Evidence("liked_item", 0.8, item_id="56", title="Pulp Fiction (1994)", value=2.0)],
                     [Evidence("history_item", 0.8, item_id="56", title="Pulp Fiction (1994)")]):
        result = paraphrase(item, evidence, language="en", backend=backend, catalog=[item, seen], counter=None)
        assert result.source == "template"
        assert "liked" not in result.text and "history with Pulp Fiction" in result.text
