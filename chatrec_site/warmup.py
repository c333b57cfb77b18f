"""Warm a web process in the background after start-up, so a person's first turn does not pay for loading.

The first turn of a fresh process used to load the catalog snapshot, the active model, the query embedder and
faiss (about 4 s on the demo catalog on 2 cores, 10 s for a request whose words go to the content model).
`start()` runs a few turns through the engine (no LLM step, nothing stored) on a daemon thread right after the
application is built, while Daphne starts listening; a failure is logged and changes nothing.
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)

# Requests that take every path a turn can load: a plain request, free words (the content model's embedder and
# its index), a named title and Chinese text.
REQUESTS = ("Something fun and relaxing for the weekend", "something like Toy Story", "推荐几部九十年代的喜剧")


def warm() -> float:
    """Run the warm-up turns through the engine (no LLM step, nothing stored); return the seconds they took.

    The LLM backend is started too when a feature needs it, but never called: a warm-up must not hold a
    remote model (or a busy circuit) that a person's turn is about to use.
    """
    from django.db import connections

    from chat import selectors as chat_selectors
    from chat import services
    from recommender import selectors
    from recommender.engine.conversation import TurnInput, collect

    started = time.perf_counter()
    try:
        selectors.llm_backend()
        for text in REQUESTS:
            state = services.load_state(None)
            collect(TurnInput(text=text, state=state.context, shown=state.shown, catalog=selectors.serving_catalog(),
                              history=chat_selectors.history_profile(profile=None), bundle=selectors.active_bundle()))
    finally:
        connections.close_all()  # this thread's connections, not the requests'
    return time.perf_counter() - started


def start() -> threading.Thread:
    """Start the warm-up on a daemon thread and return it."""
    def run() -> None:
        try:
            log.info("ready: catalog and models loaded in %.1f s", warm())
        except Exception:  # noqa: BLE001 - a failed warm-up only means the first turn loads what it needs
            log.warning("warm-up failed; the first turn will load the models itself", exc_info=True)

    thread = threading.Thread(target=run, name="chatrec-warmup", daemon=True)
    thread.start()
    return thread
