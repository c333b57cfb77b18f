"""The learning loop on a real Celery worker: websocket feedback reaches the contextual policy with the logged
propensity, and a retrain activates a better model version and refuses a worse one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_step(env: dict, *args: str, timeout: int = 300) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.recommender.loop_worker_scenario", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def worker_env(tmp_path: Path) -> dict:
    """A deployment of its own: a database file (or CHATREC_TEST_WORKER_DATABASE_URL), the broker of REDIS_URL
    when set (else the file broker), and tasks sent to the worker rather than run in place."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(
        {
            "CHATREC_VAR_DIR": str(tmp_path),
            "CHATREC_LLM_BACKEND": "none",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CHATREC_ARTIFACTS_DIR": str(tmp_path / "models"),
        }
    )
    if os.environ.get("CHATREC_TEST_WORKER_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["CHATREC_TEST_WORKER_DATABASE_URL"]
    return env


def test_feedback_reaches_the_policy_and_retraining_is_gated_on_a_real_worker(tmp_path):
    env = worker_env(tmp_path)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    if "DATABASE_URL" in env:  # a shared server database: start from nothing
        subprocess.run([sys.executable, "manage.py", "flush", "--no-input"], cwd=ROOT, env=env, check=True, timeout=180)
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "chatrec_site",
            "worker",
            "--pool=solo",
            "--loglevel=info",
            "-n",
            f"loop-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        session = run_step(env, "prepare")["session"]
        turn = run_step(env, "socket", session)
        assert turn["strategy"] == turn["list_arm"]
        # every arm's probability is logged to 6 places, the drawn arm's propensity exactly
        assert 0 < turn["propensity"] <= 1 and turn["propensity"] == pytest.approx(turn["probability_of_arm"], abs=1e-6)
        assert (turn["event_list"], turn["event_propensity"]) == (turn["list_id"], turn["propensity"])
        assert turn["lists_through"] == turn["list_id"], (tmp_path / "worker.log").read_text()[-3000:]
        # the like (a guest's: half weight) reached the chosen arm's evidence in the logged context
        assert turn["folded_b"] == pytest.approx(turn["expected_b"])
        gated = run_step(env, "retrain")
        assert gated["better"]["activated"] is True, gated
        assert gated["worse"]["trained"] is True and gated["worse"]["activated"] is False, gated
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
