"""The written cases of what people mean (tests/data/person_cases.jsonl), run through the real turn pipeline."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from recommender import sample_data
from recommender.engine.person_words import CATEGORIES, LANGUAGES, CaseRunner, evaluate_cases, load_cases

CASES = Path(__file__).resolve().parents[1] / "data" / "person_cases.jsonl"


@pytest.fixture(scope="module")
def named():
    return {"sample": sample_data.load_catalog()}


def test_there_are_ten_cases_or_more_per_category_and_language():
    counts = Counter((c["category"], c["language"]) for c in load_cases(CASES))
    assert {(c, lang) for c in CATEGORIES for lang in LANGUAGES} == set(counts)
    assert min(counts.values()) >= 10


def test_every_case_is_answered_right(named):
    results = evaluate_cases(load_cases(CASES), named)
    wrong = {r.case_id: (r.problems, r.replies) for r in results if not r.right}
    assert not wrong


@pytest.mark.parametrize("dialogue, expect", [
    (["I've seen Contact and Gattaca already"], {"liked": ["ml-258"]}),
    (["I've seen Contact and Gattaca already"], {"stated": [["ml-258", "like"]]}),
    (["Titanic was boring"], {"not_listed": ["ml-1"], "liked": ["ml-313"]}),
    (["a romantic comedy"], {"every_item_has": {"genres": ["Romance", "Drama"]}}),
    (["a western musical", "yes"], {"offered": {"ranges": {"year": [1990, 1999]}}}),
    (["a western musical", "no, keep it"], {"dropped": {"include": ["genres"]}}),
    (["a comedy that isn't too romantic"], {"refused": {"genres": ["Comedy"]}}),
    (["a comedy"], {"not_wished": ["comedy"]}),
    (["I loved The Matrix and Inception"], {"unknown_titles": ["The Matrix and Inception"]}),
])
def test_the_checks_catch_a_wrong_answer(named, dialogue, expect):
    case = {"id": "x", "category": "negation", "language": "en", "catalog": "sample",
            "dialogue": [{"role": "user", "content": t} for t in dialogue], "expect": expect}
    assert not CaseRunner(named).run(case).right


def test_a_case_that_crashes_is_wrong_not_an_error(named):
    case = {"id": "x", "category": "negation", "language": "en", "catalog": "no-such-catalog",
            "dialogue": [{"role": "user", "content": "hi"}], "expect": {}}
    result = CaseRunner(named).run(case)
    assert not result.right and "KeyError" in result.problems[0]
