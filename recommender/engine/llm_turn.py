"""The turn's optional LLM steps, in one place: reading the dialogue, suggesting titles, writing small talk.

`LLMAssist.start(inp, plan)` runs after the rules have read the turn. With `inp.llm_read` it merges the LLM's
reading of the whole dialogue into the state (`understanding.llm_reader`); with `inp.llm_candidates` it asks, at
the same time, for titles to recommend, which `add_candidates` merges into the ranked pool
(`llm_candidates`). Both share one budget per turn (`inp.llm_budget_s`): past it the turn goes on without them,
however long the backend takes. Without an enabled backend, or with the settings off, nothing is called.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from . import rules
from .llm.base import LLMError
from .llm.bounded import BoundedCall
from .llm_candidates import add_suggestions, suggest_titles
from .llm_reply import WrittenReply, answer_written, chitchat_written
from .types import Constraints, ItemRecord, Profile, ScoredItem
from .understanding.llm_reader import merge_reading, read_with_llm

log = logging.getLogger(__name__)


def _usable(backend: Any) -> bool:
    return backend is not None and getattr(backend, "enabled", False)


@dataclass
class LLMAssist:
    """What the LLM added to a turn; `report` is stored with the turn under "llm"."""

    deadline: float = 0.0
    suggestions: BoundedCall | None = None
    report: dict = field(default_factory=dict)

    @classmethod
    def start(cls, inp: Any, plan: Any) -> LLMAssist:
        """Run the dialogue reading (merged into `inp.state`) and start the title suggestions; return the assist.

        A reading that says the person wants suggestions turns small talk into a recommendation when it
        grounded something (an item or a quality) to recommend from.
        """
        if not _usable(inp.backend) or not (inp.llm_read or inp.llm_candidates):
            return cls()
        started = time.monotonic()
        assist = cls(deadline=started + inp.llm_budget_s)
        messages = [*inp.dialogue, {"role": "user", "content": inp.text}]
        index = inp.catalog.index
        if inp.llm_candidates:
            try:
                assist.suggestions = BoundedCall(lambda: suggest_titles(messages, index, inp.backend))
            except LLMError as exc:
                assist.report["candidates"] = {"applied": False, "reason": str(exc)}
        if inp.llm_read:
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
    if not (inp.llm_reply and _usable(inp.backend)):
        return None
    records = inp.catalog.records
    if plan.intent == rules.CHITCHAT:
        return chitchat_written(inp.backend, inp.text, plan.reply, records, plan.language)
    if plan.intent == rules.ASK_INFO and record is not None:
        return answer_written(inp.backend, inp.text, record, plan.reply, records, plan.language)
    return None
