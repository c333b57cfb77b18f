"""Spot-check dialogue reading on real ReDial conversations grounded in ml-latest-small.

ReDial dialogues mark films as "@id"; each is replaced by the dataset's title (optionally without its year, as people
usually write), the seeker's messages become user turns and the recommender's assistant turns, and read_dialogue reads
the whole conversation. The seeker's own answers (suggested / seen / liked per film) are the reference.

Run: python -m benchmarks.dialogue_reading [--dialogues 300] [--seed 7] [--no-year]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

from benchmarks.common import data_root, percentile
from benchmarks.understanding import ml_latest_catalog
from recommender.engine.titles import split_year, without_year
from recommender.engine.understanding.dialogue import read_dialogue
from recommender.engine.understanding.text import key_of


def load_redial(directory: Path) -> list[dict]:
    """Return the ReDial training dialogues found in the folder (train_part*.jsonl)."""
    dialogues = []
    for path in sorted(directory.glob("train_part*.jsonl")):
        with open(path, encoding="utf-8") as fh:
            dialogues += [json.loads(line) for line in fh if line.strip()]
    return dialogues


def to_messages(dialogue: dict, *, with_year: bool = True) -> list[dict]:
    """Return the dialogue as role/content messages with "@id" mentions written as titles."""
    titles = dialogue.get("movieMentions") or {}

    def title(m: re.Match) -> str:
        name = titles.get(m.group(1))
        if not name:
            return m.group(0)
        name = re.sub(r"\s+", " ", name).strip()
        return name if with_year else without_year(name)

    seeker = dialogue["initiatorWorkerId"]
    return [{"role": "user" if m["senderWorkerId"] == seeker else "assistant",
             "content": re.sub(r"@(\d+)", title, m["text"])} for m in dialogue["messages"]]


def evaluate(dialogues: list[dict], catalog, *, with_year: bool = True) -> dict:
    """Return linking and reaction figures over films the catalog holds under the same title and year."""
    counts = dict(films=0, linked=0, liked=0, liked_in_profile=0, suggested=0, suggested_seen=0, disliked=0,
                  disliked_but_liked=0)
    per_dialogue, per_message = [], []
    for dialogue in dialogues:
        messages = to_messages(dialogue, with_year=with_year)
        started = time.perf_counter()
        state, _ = read_dialogue(messages, catalog)
        elapsed = (time.perf_counter() - started) * 1000
        per_dialogue.append(elapsed)
        per_message.append(elapsed / max(1, len(messages)))
        linked = set(state.mentions) | set(state.suggested_ids())
        liked = set(state.profile().liked)
        answers = dialogue.get("initiatorQuestions") or {}
        for movie, name in (dialogue.get("movieMentions") or {}).items():
            name = re.sub(r"\s+", " ", name or "").strip()
            title, year = split_year(name)
            if year is None:
                continue
            ids = {h[0] for h in catalog.resolve_title(key_of(title)) if catalog.year_of(h[0]) == year}
            if not ids:
                continue
            counts["films"] += 1
            counts["linked"] += bool(ids & linked)
            answer = answers.get(movie) or {}
            if answer.get("suggested") == 0 and answer.get("liked") == 1:
                counts["liked"] += 1
                counts["liked_in_profile"] += bool(ids & liked)
            if answer.get("suggested") == 1:
                counts["suggested"] += 1
                counts["suggested_seen"] += bool(ids & set(state.suggested_ids()))
            if answer.get("liked") == 0:
                counts["disliked"] += 1
                counts["disliked_but_liked"] += bool(ids & liked)
    per_dialogue.sort()
    per_message.sort()

    def share(a: str, b: str) -> float:
        return counts[a] / counts[b] if counts[b] else 0.0

    return {
        "dialogues": len(dialogues),
        "counts": counts,
        "linked": share("linked", "films"),
        "liked_in_profile": share("liked_in_profile", "liked"),
        "suggestions_recognised": share("suggested_seen", "suggested"),
        "disliked_read_as_liked": share("disliked_but_liked", "disliked"),
        "ms_per_dialogue_p50": percentile(per_dialogue, 50) or 0.0,
        "ms_per_dialogue_p95": percentile(per_dialogue, 95) or 0.0,
        "ms_per_message_p95": percentile(per_message, 95) or 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=None, help="folder holding redial/ and ml-latest-small/")
    ap.add_argument("--dialogues", type=int, default=300, help="how many dialogues to sample")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-year", action="store_true", help="write titles without their year, as people usually do")
    args = ap.parse_args(argv)
    root = data_root(args.data_dir)
    dialogues = load_redial(root / "redial")
    if not dialogues:
        print(f"no ReDial dialogues under {root / 'redial'}", file=sys.stderr)
        return 1
    catalog, source = ml_latest_catalog(root / "ml-latest-small")
    sample = random.Random(args.seed).sample(dialogues, min(args.dialogues, len(dialogues)))
    read_dialogue(to_messages(sample[0]), catalog)  # indexes are built once per catalog, not per dialogue
    r = evaluate(sample, catalog, with_year=not args.no_year)
    print(f"{r['dialogues']} ReDial dialogues (seed {args.seed}, titles {'without' if args.no_year else 'with'} "
          f"years) read against {source}")
    print(f"films the catalog holds: {r['counts']['films']}; linked {r['linked']:.3f}; seeker-liked films in the "
          f"profile {r['liked_in_profile']:.3f}; recommender suggestions recognised {r['suggestions_recognised']:.3f}; "
          f"films the seeker disliked read as liked {r['disliked_read_as_liked']:.3f}")
    c = r["counts"]
    print(f"(out of {c['liked']} seeker-liked films, {c['suggested']} suggestions, {c['disliked']} disliked films)")
    print(f"latency: {r['ms_per_dialogue_p50']:.1f} ms per dialogue p50, {r['ms_per_dialogue_p95']:.1f} ms p95; "
          f"{r['ms_per_message_p95']:.2f} ms per message p95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
