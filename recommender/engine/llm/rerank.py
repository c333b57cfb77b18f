"""Chat-Rec's optional step: the LLM may reorder the ranker's candidates, and is checked, never trusted."""
from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from ..types import ItemRecord, ScoredItem

RERANK_POOL = 20
RERANK_BUDGET_S = 2.0  # generation stops here; the ranker's order stands for whatever was not placed
# One re-rank at a time: a turn never queues behind another turn's re-rank, it keeps the ranker's order.
_rerank_slot = threading.Semaphore(1)
_NUMBERS = re.compile(r"\d+")


def rerank_with_llm(scored: list[ScoredItem], records: Mapping[str, ItemRecord], request: str, backend, k: int
                    ) -> tuple[list[ScoredItem], dict]:
    """Return (reordered items, report): the LLM may only permute the ranker's candidates; anything else is ignored."""
    report: dict[str, Any] = {"applied": False, "candidates": len(scored)}
    if not scored or backend is None or not getattr(backend, "enabled", False):
        report["reason"] = "no backend"
        return scored[:k], report
    lines = [f"{i + 1}. {records[s.item_id].title}" for i, s in enumerate(scored)]
    prompt = (
        "Rank the candidates for the request. Answer with candidate numbers, best first, comma separated.\n"
        f"Request: {request[:300]}\nCandidates:\n" + "\n".join(lines) + "\nRanking:"
    )
    if not _rerank_slot.acquire(blocking=False):
        report["reason"] = "LLM busy"
        return scored[:k], report
    started = time.perf_counter()
    pieces: list[str] = []
    try:
        stream = backend.generate(prompt, max_tokens=60, stop=["\n\n", "Request:"])
        for piece in stream:
            pieces.append(piece)
            if time.perf_counter() - started > RERANK_BUDGET_S:
                stream.close()  # what arrived so far may still be a usable order
                report["cut"] = True
                break
    except Exception as exc:  # noqa: BLE001 - any backend failure keeps the ranker's order
        report.update(reason=f"backend error: {exc}")
        return scored[:k], report
    finally:
        _rerank_slot.release()
    raw = "".join(pieces)
    report["ms"] = round((time.perf_counter() - started) * 1000, 1)
    order: list[int] = []
    for token in _NUMBERS.findall(raw):
        idx = int(token) - 1
        if 0 <= idx < len(scored) and idx not in order:
            order.append(idx)
    if len(order) < 2:
        report["reason"] = "unusable answer"
        return scored[:k], report
    # Candidates the LLM left out keep their ranker order after the ones it placed.
    order += [i for i in range(len(scored)) if i not in order]
    report.update(applied=True, order=[scored[i].item_id for i in order[:k]])
    return [scored[i] for i in order][:k], report
