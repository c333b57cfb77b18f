"""The person_words benchmark prints a table per category and language and fails when a case is wrong."""
import json

from benchmarks import person_words


def test_table_counts_right_and_wrong_cases_and_the_exit_code_says_so(tmp_path, capsys):
    cases = tmp_path / "cases.jsonl"
    right = {"id": "a", "category": "negation", "language": "en", "catalog": "sample",
             "dialogue": [{"role": "user", "content": "no horror please"}], "expect": {"refused": {"genres": ["Horror"]}}}
    wrong = dict(right, id="b", language="zh", expect={"refused": {"genres": ["Comedy"]}})
    cases.write_text("\n".join(json.dumps(c) for c in (right, wrong)), encoding="utf-8")
    assert person_words.main(["--cases", str(cases), "--no-docs"]) == 1
    out = capsys.readouterr().out
    assert "| negation | 1/1 | 0/1 | 1/2 |" in out and "| **all** | 1/1 | 0/1 | 1/2 |" in out
