"""The turn's optional LLM steps and their one configuration (`LLMSteps`) and budget (`TurnBudget`).

The steps, each off unless a backend is enabled and its switch is on:

- keywords for words the lexicon does not know (`understanding.keywords`, within the turn's budget and its own
  0.2 s cap, `understanding.turn`);
- reading the whole dialogue into the state (`llm.reading`) and suggesting titles as candidates
  (`llm.candidates`), started by `LLMAssist.start(inp, plan, budget)` after the rules have read the turn and
  merged by `add_candidates` into the ranked pool;
- re-ranking the candidates (`llm.rerank`) and paraphrasing explanations (`explain.paraphrase`);
- writing small talk and factual answers (`llm.reply`), streamed after the list.

Keywords, reading and suggestions share one budget per turn (`LLMSteps.budget_s`, a `TurnBudget` started with
the turn): past it the turn goes on without them, however long the backend takes. A written reply streams after
the list, within `llm.reply.REPLY_BUDGET_S`; a re-rank stops at `llm.rerank.RERANK_BUDGET_S`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .. import rules
from ..types import Constraints, ItemRecord, Profile, ScoredItem
from .base import LLMError
from .bounded import BoundedCall
from .candidates import add_suggestions, suggest_titles
from .reading import merge_reading, read_with_llm
from .reply import WrittenReply, answer_written, chitchat_written

log = logging.getLogger(__name__)
DEFAULT_BUDGET_S = 1.5


@dataclass(frozen=True)
class LLMSteps:
    """Which optional LLM steps a turn runs, and the budget the steps before its list share (seconds)."""

    read: bool = False  # read the whole dialogue (`TurnInput.dialogue` holds the earlier messages)
    candidates: bool = False  # suggest titles as candidates
    reply: bool = False  # write small talk and factual answers
    rerank: bool = False  # reorder the candidates
    explain: bool = False  # paraphrase explanations (checked; the template when the check fails)
    budget_s: float = DEFAULT_BUDGET_S


@dataclass(frozen=True)
class TurnBudget:
    """The one LLM budget of a turn: each step before the list waits no later than `deadline` (time.monotonic)."""

    deadline: float

    @classmethod
    def start(cls, seconds: float) -> TurnBudget:
        return cls(time.monotonic() + seconds)

    def within(self, cap_s: float) -> float:
        """Return the deadline of a step that may take at most cap_s seconds from now, within the turn's budget."""
        return min(self.deadline, time.monotonic() + cap_s)


def _usable(backend: Any) -> bool:
    return backend is not None and getattr(backend, "enabled", False)


@dataclass
class LLMAssist:
    """What the LLM added to a turn; `report` is stored with the turn under "llm"."""

    deadline: float = 0.0
    suggestions: BoundedCall | None = None
    report: dict = field(default_factory=dict)

    @classmethod
    def start(cls, inp: Any, plan: Any, budget: TurnBudget) -> LLMAssist:
        """Run the dialogue reading (merged into `inp.state`) and start the title suggestions; return the assist.

        A reading that says the person wants suggestions turns small talk into a recommendation when it
        grounded something (an item or a quality) to recommend from.
        """
        if not _usable(inp.backend) or not (inp.llm.read or inp.llm.candidates):
            return cls()
        started = time.monotonic()
        assist = cls(deadline=budget.deadline)
        messages = [*inp.dialogue, {"role": "user", "content": inp.text}]
        index = inp.catalog.index
        if inp.llm.candidates:
            try:
                assist.suggestions = BoundedCall(lambda: suggest_titles(messages, index, inp.backend))
            except LLMError as exc:
                assist.report["candidates"] = {"applied": False, "reason": str(exc)}
        if inp.llm.read:
            report: dict[str, Any] = {"applied": False}
            try:
                reading = BoundedCall(lambda: read_with_llm(messages, index, inp.backend, domain=inp.state.domain)
                                      ).result(assist.deadline)
            except LLMError as exc:
                report["reason"] = str(exc)
                reading = None
            else:
                report["reason"] = "" if reading is not None else "invalid reply"
            if reading is not None:
                grounded = bool(reading.items or reading.include or reading.exclude or reading.ranges)
                if plan.intent == rules.CHITCHAT and reading.wants_recommendations and grounded:
                    plan.intent = rules.RECOMMEND
                if plan.intent not in (rules.RECOMMEND, rules.FEEDBACK):  # only a listing turn sets filters
                    reading = replace(reading, include={}, exclude={}, ranges={})
                report.update(applied=True, changed=merge_reading(inp.state, reading), dropped=reading.dropped[:10])
            report["ms"] = round((time.monotonic() - started) * 1000, 1)
            assist.report["read"] = report
        return assist

    def add_candidates(self, scored: list[ScoredItem], inp: Any, constraints: Constraints,
                       person: Profile) -> list[ScoredItem]:
        """Return the pool with the LLM's suggested titles merged in (checked like every other candidate)."""
        if self.suggestions is None:
            return scored
        report: dict[str, Any] = {"applied": False}
        self.report["candidates"] = report
        try:
            suggested = self.suggestions.result(self.deadline)
        except LLMError as exc:
            report["reason"] = str(exc)
            return scored
        if suggested is None:
            report["reason"] = "invalid reply"
            return scored
        seen = {*person.liked, *person.disliked, *person.history, *constraints.exclude_items}
        allowed = set(inp.catalog.satisfying(constraints, [i for i in suggested if i not in seen]))
        report.update(applied=bool(allowed), suggested=suggested, allowed=[i for i in suggested if i in allowed])
        return add_suggestions(scored, suggested, allowed, named_titles=bool(inp.state.mentions))


def written_reply(inp: Any, plan: Any, record: ItemRecord | None) -> WrittenReply | None:
    """Return the LLM-written version of a small-talk reply or of a factual answer, or None (the template stands)."""
    if not (inp.llm.reply and _usable(inp.backend)):
        return None
    records = inp.catalog.records
    if plan.intent == rules.CHITCHAT:
        return chitchat_written(inp.backend, inp.text, plan.reply, records, plan.language)
    if plan.intent == rules.ASK_INFO and record is not None:
        return answer_written(inp.backend, inp.text, record, plan.reply, records, plan.language)
    return None
