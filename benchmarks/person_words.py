"""What people mean: the written negation, seen/disliked, third-person, multi-title, compound-genre and loosening
cases (tests/data/person_cases.jsonl), run through the real understanding and turn pipeline.

Run: python -m benchmarks.person_words [--cases PATH] [--no-docs] [--show-wrong]
Prints right/total per category and language and rewrites the person_words section of docs/benchmarks.md.
The checking lives in recommender.engine.person_words; the case file and the sample catalog are read here.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, write_section
from recommender import sample_data  # plain files and readers, no Django
from recommender.engine.person_words import evaluate_cases, load_cases, summary_table

CASES = REPO / "tests" / "data" / "person_cases.jsonl"


def report(table: str, n: int, seconds: float, command: str) -> str:
    """Return the docs section: what was run, on what, and the table."""
    return (
        "## What people mean: refusals, seen and disliked items, other people's taste, lists of titles, compound "
        "genres, loosening a filter\n\n"
        f"Command: `{command}`. {n} written cases (`tests/data/person_cases.jsonl`), each a short dialogue in English "
        "or Chinese over the shipped sample catalog (or a small catalog written in the case), run turn by turn "
        "through `understand` and `ConversationTurn` with no trained model (the popularity ranking serves); a case is "
        "right when every check holds: the speaker's likes and dislikes, what a chat turn would store, the values "
        "held as refusals and never as wishes, the genres every listed item carries, the filter offered and then "
        f"dropped, the names reported as not in the catalog. Run time {seconds:.1f} s.\n\n{table}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--show-wrong", action="store_true", help="print each wrong case with its reasons")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = evaluate_cases(load_cases(args.cases), {"sample": sample_data.load_catalog()})
    seconds = time.perf_counter() - started
    table = summary_table(results)
    print(table)
    if args.show_wrong:
        for r in results:
            if not r.right:
                print(f"{r.case_id}: {'; '.join(r.problems)} | replies: {r.replies}", file=sys.stderr)
    if not args.no_docs:
        write_section("person_words", report(table, len(results), seconds, "python -m benchmarks.person_words"))
    return 0 if all(r.right for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
