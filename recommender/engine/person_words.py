"""Checking that words mean what people mean: written cases run through the real turn pipeline, right or wrong.

A case (one JSON line, see tests/data/person_cases.jsonl) is a short dialogue, a catalog and what must hold after
it. Each user turn runs through `understand` and `ConversationTurn` exactly as a chat turn does (no model: the
popularity ranking serves); an assistant turn written in the case is read as the assistant's message (what it
suggested). The checks look at what a person would see or what would be stored:

    liked / not_liked     ids the speaker's taste holds / must not hold (dialogue state and stated feedback)
    disliked              ids the speaker turned down
    seen                  ids known to be seen (kept off the list, not liked)
    stated                the exact likes and dislikes a chat turn would store, [[id, "like" | "dislike"], ...]
    refused               {attribute: [values]} held as a refusal (excluded or avoided), never as a wish
    not_wished            [words] that are neither a wish (include, prefer) nor a keyword of the final state
    every_item_has        {attribute: [values]} that every listed item carries (and the list is not empty)
    not_listed            ids never listed in any reply
    offered               an earlier reply offered to drop a filter ({kind: {attribute: values}})
    dropped               {kind: [attributes]} no longer held after the last turn; listed: the last reply lists items
    kept                  {kind: {attribute: value}} still held after the last turn
    unknown_titles        the names reported as not in the catalog, over all turns

No Django and no files: the caller passes the records of a named catalog ("sample": the shipped sample catalog).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conversation import ServingCatalog, TurnInput, TurnPlan, collect
from .types import ItemRecord
from .understanding import ConversationState, apply_assistant

CATEGORIES = ("negation", "seen_disliked", "third_person", "multi_title", "compound_genre", "loosening")
LANGUAGES = ("en", "zh")


@dataclass
class CaseResult:
    """One case's verdict and the reasons it is wrong (empty when right)."""

    case_id: str
    category: str
    language: str
    problems: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)

    @property
    def right(self) -> bool:
        return not self.problems


def load_cases(path: Path) -> list[dict]:
    """Return the cases of a JSON-lines file, in order."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def inline_catalog(spec: Mapping[str, Any]) -> list[ItemRecord]:
    """Return the records of a catalog written in a case: {"items": [{"id", "title", "domain", ...attributes}]}."""
    out = []
    for row in spec.get("items") or []:
        attributes = {k: v for k, v in row.items() if k not in ("id", "title", "domain", "aliases")}
        out.append(ItemRecord(str(row["id"]), row["title"], row.get("domain", "movie"),
                              aliases=tuple(row.get("aliases") or ()), attributes=attributes))
    return out


class CaseRunner:
    """Runs cases against named catalogs (built once each) and inline ones."""

    def __init__(self, named: Mapping[str, list[ItemRecord]]):
        self._named = dict(named)
        self._built: dict[str, ServingCatalog] = {}

    def catalog(self, spec: str | Mapping[str, Any]) -> ServingCatalog:
        """Return the serving catalog a case names, or the one it writes out."""
        if isinstance(spec, str):
            if spec not in self._built:
                records = self._named[spec]
                self._built[spec] = ServingCatalog.build({r.item_id: r for r in records})
            return self._built[spec]
        records = inline_catalog(spec)
        return ServingCatalog.build({r.item_id: r for r in records}, spec.get("popularity") or {})

    def run(self, case: Mapping[str, Any]) -> CaseResult:
        """Return the verdict on one case."""
        result = CaseResult(str(case["id"]), str(case.get("category", "")), str(case.get("language", "")))
        try:
            catalog = self.catalog(case.get("catalog", "sample"))
            state, plans = self._play(case["dialogue"], catalog, result)
            result.problems = check(case.get("expect") or {}, state, plans, catalog)
        except Exception as exc:  # noqa: BLE001 - a crash is a wrong answer, reported with the case
            result.problems = [f"raised {type(exc).__name__}: {exc}"]
        return result

    def _play(self, dialogue: list[Mapping[str, Any]], catalog: ServingCatalog,
              result: CaseResult) -> tuple[ConversationState, list[TurnPlan]]:
        state = ConversationState()
        shown: list[dict] = []
        plans: list[TurnPlan] = []
        for turn in dialogue:
            if turn.get("role") == "assistant":
                apply_assistant(state, turn["content"], catalog.index, item_ids=turn.get("item_ids"))
                continue
            plan = collect(TurnInput(text=turn["content"], state=state, catalog=catalog, shown=shown))
            plans.append(plan)
            result.replies.append(plan.reply)
        return state, plans


def check(expect: Mapping[str, Any], state: ConversationState, plans: list[TurnPlan],
          catalog: ServingCatalog) -> list[str]:
    """Return what does not hold of a case's expectations after its dialogue (empty when all holds)."""
    problems: list[str] = []
    problems += _taste(expect, state, plans)
    problems += _wishes(expect, state)
    problems += _lists(expect, state, plans, catalog)
    return problems


def _taste(expect: Mapping[str, Any], state: ConversationState, plans: list[TurnPlan]) -> list[str]:
    profile = state.profile()
    stated = [[f["item_id"], f["kind"]] for plan in plans for f in plan.feedback]
    stated_likes = {i for i, kind in stated if kind == "like"}
    out = []
    for item_id in expect.get("liked", []):
        if item_id not in profile.liked:
            out.append(f"{item_id} is not among the speaker's likes {profile.liked}")
    for item_id in expect.get("not_liked", []):
        if item_id in profile.liked or item_id in stated_likes:
            out.append(f"{item_id} became the speaker's like")
    for item_id in expect.get("disliked", []):
        if item_id not in profile.disliked:
            out.append(f"{item_id} is not among the speaker's dislikes {profile.disliked}")
    reactions = state.reactions()
    for item_id in expect.get("seen", []):
        if state.mentions.get(item_id) != "seen" and reactions.get(item_id) != "seen":
            out.append(f"{item_id} is not marked seen ({state.mentions.get(item_id) or reactions.get(item_id)})")
    if "stated" in expect and sorted(stated) != sorted(list(x) for x in expect["stated"]):
        out.append(f"stored feedback would be {stated}, not {expect['stated']}")
    return out


def _wishes(expect: Mapping[str, Any], state: ConversationState) -> list[str]:
    out = []
    for attr, values in (expect.get("refused") or {}).items():
        for value in values:
            if value not in state.exclude.get(attr, []) + state.avoid.get(attr, []):
                out.append(f"{attr}={value} is not refused (exclude {state.exclude}, avoid {state.avoid})")
            if value in state.include.get(attr, []) + state.prefer.get(attr, []):
                out.append(f"{attr}={value} became a wish")
    wished = {str(v).lower() for vs in list(state.include.values()) + list(state.prefer.values()) for v in vs}
    words = " ".join(state.keywords).lower().split()
    for word in expect.get("not_wished", []):
        if word.lower() in wished or word.lower() in words:
            out.append(f"{word!r} became a wish (include {state.include}, prefer {state.prefer}, "
                       f"keywords {state.keywords})")
    for kind, attrs in (expect.get("dropped") or {}).items():
        for attr in attrs:
            if attr in getattr(state, kind):
                out.append(f"{kind} {attr} was not dropped: {getattr(state, kind)}")
    for kind, held in (expect.get("kept") or {}).items():
        for attr, value in held.items():
            if getattr(state, kind).get(attr) != value:
                out.append(f"{kind} {attr} is {getattr(state, kind).get(attr)}, not {value}")
    return out


def _lists(expect: Mapping[str, Any], state: ConversationState, plans: list[TurnPlan],
           catalog: ServingCatalog) -> list[str]:
    out = []
    last = plans[-1] if plans else None
    listed = [s.item_id for s in last.items] if last else []
    wanted = expect.get("every_item_has") or {}
    if wanted and not listed:
        out.append("the last reply lists nothing")
    for item_id in listed:
        attributes = catalog.records[item_id].attributes
        for attr, values in wanted.items():
            have = attributes.get(attr) or []
            have = have if isinstance(have, list) else [have]
            if not set(values) <= set(have):
                out.append(f"{item_id} lacks {attr} {values} (has {have})")
    domain = expect.get("domain")
    if domain and not listed:
        out.append("the last reply lists nothing")
    out += [f"{i} is not in the {domain} domain" for i in listed if domain and catalog.records[i].domain != domain]
    ever = {s.item_id for plan in plans for s in plan.items}
    out += [f"{i} was listed" for i in expect.get("not_listed", []) if i in ever]
    if "offered" in expect:
        offers: list[dict] = [plan.extra["relax"] for plan in plans[:-1] if plan.extra.get("relax")]
        if not any(all(offer.get(kind) == part for kind, part in expect["offered"].items()) for offer in offers):
            out.append(f"no earlier reply offered to drop {expect['offered']} (offers: {offers})")
    if expect.get("listed") and not listed:
        out.append("the last reply lists nothing")
    if "unknown_titles" in expect:
        unknown = [t for plan in plans for t in plan.understanding.get("unknown_titles", [])]
        if unknown != expect["unknown_titles"]:
            out.append(f"unknown titles {unknown}, not {expect['unknown_titles']}")
    return out


def evaluate_cases(cases: list[Mapping[str, Any]], named: Mapping[str, list[ItemRecord]]) -> list[CaseResult]:
    """Return the verdict on every case, in order."""
    runner = CaseRunner(named)
    return [runner.run(case) for case in cases]


def summary_table(results: list[CaseResult]) -> str:
    """Return a Markdown table of right/total per category and language."""
    rows = ["| category | English | Chinese | all |", "|---|---|---|---|"]
    for category in CATEGORIES + tuple(sorted({r.category for r in results} - set(CATEGORIES))):
        cells = []
        for language in (*LANGUAGES, None):
            mine = [r for r in results if r.category == category and (language is None or r.language == language)]
            cells.append(f"{sum(r.right for r in mine)}/{len(mine)}")
        rows.append(f"| {category} | " + " | ".join(cells) + " |")
    total = f"{sum(r.right for r in results)}/{len(results)}"
    rows.append(f"| **all** | {_share(results, 'en')} | {_share(results, 'zh')} | {total} |")
    return "\n".join(rows)


def _share(results: list[CaseResult], language: str) -> str:
    mine = [r for r in results if r.language == language]
    return f"{sum(r.right for r in mine)}/{len(mine)}"
