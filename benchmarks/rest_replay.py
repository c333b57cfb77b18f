"""The REST path on the ReDial development split, per stored model version and conversation-mix weighting.

`benchmarks.conversations --system` measures the active version as served; this replays the same call
(`recommend_from_messages`, what `POST /api/v1/recommend` runs) for several versions of one database (one
trained with the jointly trained text encoder, one without) and several weightings of the conversation mix,
reporting the two halves of the development split apart: weights are chosen on the tuning half
(conversationId % 10 == 0) and confirmed on the check half (conversationId % 10 == 5).

    CHATREC_VAR_DIR=<db> python -m benchmarks.rest_replay --versions NAME,NAME --mix '[{}, {"retrieval": 1.0}]'

The database holds ml-latest-small and the ReDial training dialogues (`import_movielens`,
`import_conversations --format redial`) and the versions `manage.py train` stored, as served (the text encoder
trained jointly) and with CHATREC_TRAIN_ENCODER=false. The version active before the run is active again after it.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from typing import Any

from benchmarks.common import add_data_dir, data_root, without_damping, write_section
from benchmarks.conversations import KS, TOP, evaluate, every_linked_target, load_setup, recommend_for_dialogue

SECTION = "rest-replay"
HALVES = (("tuning half", 0), ("check half", 5))


def half_of(conversation_id: str) -> int | None:
    """Return conversationId % 10 (0: tuning half, 5: check half of the development split)."""
    try:
        return int(conversation_id) % 10
    except ValueError:
        return None


def replay(turns: list, versions: list, mixes: list[dict[str, Any]],
           every_target: dict[tuple[str, int], list[str]], damping: bool = True) -> list[dict[str, Any]]:
    """Return one row per (version, mix): recall@k on each half and on the whole development split (no-dedup
    recall too, against `every_target`); without `damping`, words are matched with no item's hubness taken off."""
    from recommender.models import ModelVersion
    from recommender.selectors import active_bundle, reset_caches
    from recommender.services.training import model_activate

    before = ModelVersion.objects.filter(is_active=True).first()
    rows = []
    try:
        for version in versions:
            model_activate(version=version)
            reset_caches()  # serve the version just activated at once, not after the serving layer's recheck
            bundle = active_bundle()
            if not damping:
                without_damping(bundle)
            served = bundle.mix
            for mix in mixes:
                if mix.get("retrieval") and bundle.retrieval is None:
                    continue  # a version without retrieval vectors has no dialogue retrieval to weigh
                bundle.mix = replace(served, **mix)
                name = version.name if damping else f"{version.name}, undamped"
                row: dict[str, Any] = {"version": name, "encoder": bool(bundle.manifest.get("encoder")),
                                       "mix": mix,
                                       "retrieval": bundle.mix.retrieval if bundle.retrieval is not None else None}
                sums, raw, count = dict.fromkeys(KS, 0.0), dict.fromkeys(KS, 0.0), 0
                for label, keep in HALVES:
                    part = [t for t in turns if half_of(t[0]) == keep]
                    result = evaluate(f"{name} {mix} {label}", part,
                                      lambda t: recommend_for_dialogue(t.messages, TOP + len(t.context)), True,
                                      every_target)
                    row[label] = (len(part), result.recall)
                    for k in KS:
                        sums[k] += result.recall[k] * len(part)
                        raw[k] += (result.raw_recall or {})[k] * len(part)
                    count += len(part)
                row["development split"] = (count, {k: v / max(count, 1) for k, v in sums.items()})
                row["no-dedup"] = {k: v / max(count, 1) for k, v in raw.items()}
                rows.append(row)
                print(json.dumps(row, default=str), flush=True)
            bundle.mix = served
    finally:
        if before is not None:
            model_activate(version=before)
            reset_caches()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| version | trained encoder | dialogue retrieval weight | tuning half R@1 / R@10 / R@50 "
        "| check half | development split | development split, no-dedup |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = []
        for label in (*(h for h, _ in HALVES), "development split"):
            n, recall = row[label]
            cells.append(f"{' / '.join(f'{recall[k]:.3f}' for k in KS)} ({n})")
        cells.append(" / ".join(f"{row['no-dedup'][k]:.3f}" for k in KS) if "no-dedup" in row else "–")
        others = ", ".join(f"{k} {v}" for k, v in row["mix"].items() if k != "retrieval")
        weight = "–" if row["retrieval"] is None else f"{row['retrieval']:g}"
        weight += f" ({others})" if others else ""
        lines.append(f"| {row['version']} | {'yes' if row['encoder'] else 'no'} | {weight} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_data_dir(parser)
    parser.add_argument("--versions", default=None, help="comma-separated version names (default: the active one)")
    parser.add_argument("--mix", type=json.loads, default=[{}], help="JSON list of ConversationMix overrides")
    parser.add_argument("--no-docs", action="store_true")
    parser.add_argument("--no-damping", action="store_true",
                        help="match words with no item's hubness taken off (content `damping`), to compare")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatrec_site.settings")
    import django

    django.setup()
    from recommender.models import ModelVersion

    names = args.versions.split(",") if args.versions else None
    versions = list(ModelVersion.objects.filter(name__in=names) if names else ModelVersion.objects.filter(is_active=True))
    versions.sort(key=lambda v: names.index(v.name) if names else 0)
    if not versions:
        raise SystemExit("no such model version in this database")
    setup = load_setup(data_root(args.data_dir))
    text = markdown(replay(setup.turns(setup.dev), versions, args.mix, every_linked_target(setup),
                           damping=not args.no_damping))
    print(text)
    if not args.no_docs:
        write_section(SECTION, "## The REST path with and without the jointly trained encoder (ReDial development "
                      "split, ml-latest-small)\n\nCommand: `CHATREC_VAR_DIR=<db> python -m benchmarks.rest_replay "
                      f"--versions ... --mix '{json.dumps(args.mix)}'` (see the module's docstring for the "
                      f"database). Dedup recall, turns per half in brackets; no-dedup: every linked film the "
                      f"recommender's message names, repeats of earlier ones included, against the ranking as it is.\n\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
