"""Understanding one person's turn: the rule parser (one per catalog index), an optional learned reading, and
keywords translated by the LLM within the turn's budget."""

from __future__ import annotations

import logging
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING

from ..llm import LLMBackend, LLMError
from .catalog import CatalogIndex
from .keywords import cached_translation, extract, llm_translate
from .parser import Parser
from .result import Understanding
from .social import apply_social
from .state import ConversationState
from .text import clean, detect_language

if TYPE_CHECKING:
    from .learned_reading import LearnedReading

log = logging.getLogger(__name__)
LLM_BUDGET_S = 0.2  # the LLM gets what is left of this per turn, then the turn goes on without it
MAX_LLM_PHRASES = 2
_parsers: "weakref.WeakKeyDictionary[CatalogIndex, Parser]" = weakref.WeakKeyDictionary()


def parser_for(catalog: CatalogIndex) -> Parser:
    """Return the rule parser for a catalog index (built once per index)."""
    parser = _parsers.get(catalog)
    if parser is None:
        parser = _parsers[catalog] = Parser(catalog)
    return parser


_llm_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="understanding-llm")
_llm_inflight: list[Future] = []


def _translate_within(backend: LLMBackend, phrases: list[str], deadline: float) -> tuple[list[str], bool, bool]:
    """Return (keywords, whether the LLM answered, whether it failed), waiting no later than the deadline.

    A translation still running at the deadline finishes in the background and fills the cache for next time;
    while one runs, later turns do not queue behind it.
    """
    words: list[str] = []
    used = failed = False
    for phrase in phrases:
        cached = cached_translation(backend, phrase)
        if cached is not None:
            words += cached
            used = True
            continue
        if _llm_inflight and not _llm_inflight[0].done():
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        future = _llm_pool.submit(llm_translate, backend, phrase)
        _llm_inflight[:] = [future]
        try:
            words += future.result(timeout=remaining)
            used = True
        except FutureTimeout:
            break
        except LLMError as exc:
            log.warning("LLM keyword translation failed, continuing without it: %s", exc)
            failed = True
            break
    return words, used, failed


def understand(
    text: str,
    *,
    state: ConversationState | None = None,
    catalog: CatalogIndex,
    backend: LLMBackend | None = None,
    learned: LearnedReading | None = None,
    llm_deadline: float | None = None,
) -> Understanding:
    """Return what the turn asks for; never raises on odd input, and falls back to rules if the LLM fails.

    With `learned` (classifiers trained on recorded dialogues), its confident readings of a reaction or an opinion
    replace the rules' (see learned_reading.py). The LLM's keywords wait at most LLM_BUDGET_S, and no later than
    llm_deadline (time.monotonic), the turn's LLM budget (`llm.turn.TurnBudget`)."""
    started = time.perf_counter()
    llm_until = time.monotonic() + LLM_BUDGET_S
    if llm_deadline is not None:
        llm_until = min(llm_until, llm_deadline)
    state = state or ConversationState()
    try:
        u, left = parser_for(catalog).parse(text, state)
    except Exception:  # a bug must not break the chat: answer as small talk and log it
        log.exception("understanding failed on a turn")
        cleaned = clean(text)
        return Understanding(
            intent="chitchat",
            language=detect_language(cleaned, state.language),
            text=cleaned,
            timings={"total": (time.perf_counter() - started) * 1000},
        )
    parsed = time.perf_counter()
    if learned is not None:
        try:
            learned.refine(u, text, state, catalog)
        except Exception:  # a model failure must not break the chat: the rules' reading stands
            log.exception("learned reading failed on a turn")
        u.timings["learned"] = (time.perf_counter() - parsed) * 1000
    apply_social(u, text)  # requests about the person's connections (social.py)
    keywords, unknown = extract(left) if u.intent == "recommend" else ([], [])
    # The LLM only helps where the lexicon found nothing to ground the request in.
    grounded = u.include or u.exclude or u.ranges or u.referenced_items
    llm_ms = 0.0
    if unknown and not grounded and backend is not None and backend.enabled:
        llm_started = time.perf_counter()
        words, used, failed = _translate_within(backend, unknown[:MAX_LLM_PHRASES], llm_until)
        u.llm_used = used
        if failed:
            u.timings["llm_error"] = 1.0
        keywords.extend(w for w in words if w not in keywords)
        llm_ms = (time.perf_counter() - llm_started) * 1000
    u.keywords = keywords
    done = time.perf_counter()
    u.timings.update({"parse": (parsed - started) * 1000, "llm": llm_ms, "total": (done - started) * 1000})
    return u
