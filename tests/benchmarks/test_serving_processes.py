"""The several-process comparison's pieces that need no servers: commands, process lookups, the report."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys

from benchmarks import serving_processes as sp


def test_both_layouts_get_the_same_hang_allowance():
    ours = sp.command("serve-multi", 8000, 2, 10.0)
    theirs = sp.command("gunicorn + uvicorn-worker", 8000, 2, 10.0)
    assert ours[ours.index("--hang-timeout") + 1] == "10.0" and ours[ours.index("--workers") + 1] == "2"
    assert theirs[theirs.index("--timeout") + 1] == "10" and theirs[theirs.index("-w") + 1] == "2"
    assert "uvicorn_worker.UvicornWorker" in theirs


def test_children_and_alive_read_proc():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in sp.children(os.getpid()) and sp.alive(child.pid)
    finally:
        child.kill()
        child.wait()
    assert not sp.alive(child.pid)


def test_report_has_a_row_per_layout():
    args = argparse.Namespace(workers=2, clients=16, seconds=10.0, timeout=10.0)
    row = {"throughput": {"rps": 361.3, "p50_ms": 31.9, "p95_ms": 78.4, "errors": 0},
           "hang": {"killed_after_s": 9.7, "failed": 0, "ok": 329, "last_failure_s": None}}
    never = {**row, "hang": {"killed_after_s": None, "failed": 12, "ok": 100, "last_failure_s": 29.0}}
    text = sp.report({"serve-multi": row, "other": never}, args)
    assert "| serve-multi | 361 | 31.9 / 78.4 | 9.7 s | 0 of 329 |" in text
    assert "| other | 361 | 31.9 / 78.4 | not killed | 12 of 112 |" in text
