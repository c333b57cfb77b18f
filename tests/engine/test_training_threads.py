"""Training uses the cores other work leaves free, judged from CPU use now rather than the trailing load average."""
from __future__ import annotations

import os
import threading
import time

from recommender.engine.training import busy_cores, training_threads


def test_thread_count_is_the_free_cores_or_what_was_asked():
    cores = os.cpu_count() or 1
    assert training_threads(3) == 3
    assert training_threads(None, busy=0.0) == cores
    assert training_threads(None, busy=float(cores)) == 1  # never fewer than one
    assert training_threads(None, busy=cores - 0.4) == 1
    assert training_threads(None, busy=max(0.0, cores - 1.6)) == min(cores, 2)  # 1.6 free cores round to 2


def test_busy_cores_sees_a_spinning_thread():
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    worker = threading.Thread(target=spin, daemon=True)
    worker.start()
    try:
        time.sleep(0.05)
        busy = busy_cores(window_s=0.3)
    finally:
        stop.set()
        worker.join()
    assert 0.5 <= busy <= (os.cpu_count() or 1) + 0.01  # at least most of the spinning core
