"""`make demo`'s server: Daphne, a Celery worker and beat from one command; Ctrl-C stops all three."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from benchmarks.serving_processes import alive
from chatrec_site import demoserve

ROOT = Path(__file__).resolve().parents[2]


def children_of(pid: int) -> list[int]:
    """Return the ids of the live (not zombie) processes whose parent is pid (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def test_the_three_commands_share_the_address_and_the_app():
    commands = demoserve.commands("127.0.0.1", 8123)
    assert set(commands) == {"web", "worker", "beat"}
    assert commands["web"][-3:] == ["-p", "8123", demoserve.APPLICATION]
    assert "worker" in commands["worker"] and "beat" in commands["beat"]
    assert all(c[:5] == [sys.executable, "-m", "celery", "-A", "chatrec_site"] for c in (commands["worker"],
                                                                                          commands["beat"]))


@pytest.mark.slow
def test_ctrl_c_stops_the_server_the_worker_and_beat(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(CHATREC_VAR_DIR=str(tmp_path / "var"), CHATREC_LLM_BACKEND="none", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True,
                   timeout=180)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launcher = subprocess.Popen([sys.executable, "-m", "chatrec_site.demoserve", "--port", str(port)], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert launcher.poll() is None and time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.3)
        children = children_of(launcher.pid)
        assert len(children) == 3
        launcher.send_signal(signal.SIGINT)
        out, _ = launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 0
    assert "Ctrl-C stops all three" in out and out.rstrip().endswith("demo: stopped")
    assert "Traceback" not in out
    assert not [pid for pid in children if alive(pid)]
