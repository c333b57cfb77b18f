"""Fault runs: break one part of a running system under conversation load and record what happens.

    python -m benchmarks.faults SCENARIO [--write-docs]      SCENARIO: one of SCENARIOS, or `all`

Each run starts its own servers (web processes through `bin/serve-multi`, and where the fault needs one, a
Redis, a PostgreSQL cluster or a fake OpenAI-compatible LLM server of its own, so nothing shared is ever
stopped), loads the shipped sample catalog into a fresh database, runs conversations over real websockets
(people reconnect after a dropped connection and go on with the same conversation), injects the fault, and
reports: errors before, during and after it; how long after the fault ended the first turn and every
conversation succeeded again; and whether everything the server acknowledged is in the database
(`benchmarks/acklog.py`). `--write-docs` rewrites the scenario's row in docs/reliability.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchmarks import acklog
from benchmarks import chat_load as load
from benchmarks.common import REPO, write_section
from benchmarks.servers import OwnPostgres, OwnRedis, WebServers, free_port, wait_until

RELIABILITY_MD = REPO / "docs" / "reliability.md"
FAULTS_DIR = REPO / "var" / "faults"
# The client's pace is a test's, not a person's: limits are raised so no frame is refused for rate.
LOAD_ENV = {"CHATREC_WS_IP_RATE": "100000/min", "CHATREC_WS_TURN_RATE": "1000/min",
            "CHATREC_WS_FEEDBACK_RATE": "1000/min", "CHATREC_WS_FRAME_RATE": "10000/min",
            "CHATREC_LLM_BACKEND": "none", "CHATREC_SERVING_THREADS": "1"}
CONVERSATIONS = 12
THINK_S = 1.0
FRAME_TIMEOUT_S = 20.0


# ---------------------------------------------------------------- a fake OpenAI-compatible LLM server


class FakeLLM:
    """An OpenAI-compatible server on a local port whose behaviour can be switched while it runs.

    Modes: `ok` (answers a ranking at once), `slow` (streams one piece every 0.4 s), `hang` (accepts, reads
    the request, never answers until the mode changes), `garbage` (HTTP 200 with bytes that are not the
    protocol). `stop()` closes the port (connection refused); `start()` opens the same port again.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.mode = "ok"
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on a hung or slow answer
                    pass

            def do_POST(self):
                fake.requests += 1
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                while fake.mode == "hang":
                    time.sleep(0.05)
                if fake.mode == "garbage":
                    payload = b"\x00\xff<html>502 upstream</html>{{{"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream" if body.get("stream") else "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                pieces = ["2", ", 1", ", 3", ", 4"]
                if not body.get("stream"):
                    payload = json.dumps({"choices": [{"message": {"content": "".join(pieces)}}]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for piece in pieces:
                    if fake.mode == "slow":
                        time.sleep(0.4)
                    event = {"choices": [{"delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def env(self) -> dict[str, str]:
        """Return the server settings that point the `openai` backend here, with LLM re-ranking on."""
        return {"CHATREC_LLM_BACKEND": "openai", "CHATREC_LLM_BASE_URL": self.base_url, "CHATREC_LLM_MODEL": "fake",
                "CHATREC_LLM_RERANK": "true", "CHATREC_LLM_TIMEOUT": "3", "CHATREC_LLM_CALL_BUDGET": "3",
                "CHATREC_LLM_PROBE_INTERVAL": "2"}


# ---------------------------------------------------------------- what a run measured


@dataclass
class Window:
    """Fault start and end on the client's clock (time.monotonic)."""

    start: float = 0.0
    end: float = 0.0
    notes: list[str] = field(default_factory=list)


def timeline(results: load.Results, window: Window) -> dict:
    """Return errors and turn times before, during and after the fault, and how long recovery took.

    Recovery is measured from the fault's end: to the first turn that succeeded, and to the moment every
    conversation that went on had a successful turn again.
    """
    phases: dict[str, list[load.TurnTiming]] = {"before": [], "during": [], "after": []}
    for turn in results.turns:
        phase = "before" if turn.started < window.start else "during" if turn.started < window.end else "after"
        phases[phase].append(turn)
    out: dict = {}
    for name, turns in phases.items():
        ok = [t.total for t in turns if t.error is None and t.total is not None]
        out[name] = {"turns": len(turns), "errors": len(turns) - len(ok),
                     "error_kinds": sorted({t.error for t in turns if t.error}),
                     "turn_p95_ms": load.percentile(ok, 95), "turn_max_ms": load.percentile(ok, 100)}
    first_ok: dict[int, float] = {}
    for turn in results.turns:
        if turn.error is None and turn.total is not None and turn.started >= window.start:
            finished = turn.started + turn.total
            if finished >= window.end:
                first_ok[turn.who] = min(first_ok.get(turn.who, finished), finished)
    out["first_success_after_s"] = round(min(first_ok.values()) - window.end, 2) if first_ok else None
    out["all_conversations_back_after_s"] = round(max(first_ok.values()) - window.end, 2) if first_ok else None
    out["conversations_back"] = len(first_ok)
    out["reconnects"] = results.reconnects
    out["connect_errors"] = len(results.connect_errors)
    return out


# ---------------------------------------------------------------- setting up


def fresh_env(scenario: str, **extra: str) -> dict[str, str]:
    """Return the environment of a run: this one's own var folder, the load limits, then `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    folder = FAULTS_DIR / scenario
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)  # an empty data folder: the demo loads the shipped sample catalog only
    env.update(LOAD_ENV, CHATREC_VAR_DIR=str(folder / "var"), CHATREC_DATA_DIR=str(folder / "data"),
               DJANGO_SETTINGS_MODULE="chatrec_site.settings", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def prepare_database(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo")


def use_database(env: dict[str, str]) -> None:
    """Point this process's Django (the nothing-lost check) at the run's database."""
    for key in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CHATREC_VAR_DIR", "CHATREC_DATA_DIR"):
        if key in env:
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "chatrec_site.settings"


def drive(base: str, seconds: float, inject: Callable[[Window], None], at: float,
          conversations: int = CONVERSATIONS) -> tuple[load.Results, Window]:
    """Run conversations for `seconds`; call inject(window) in a thread `at` seconds in (it sets the window)."""
    results, window = load.Results(), Window()

    async def main():
        await load.warm_up(base, FRAME_TIMEOUT_S)  # model loading is not part of the fault's picture
        client = asyncio.create_task(load.run(base, conversations, 0, FRAME_TIMEOUT_S, THINK_S, 2.0, seconds, 0.3,
                                              reconnect=True, warm=False, results=results))
        await asyncio.sleep(at)
        await asyncio.to_thread(inject, window)
        await client

    asyncio.run(main())
    return results, window


def finish(scenario: str, description: str, results: load.Results, window: Window, env: dict[str, str],
           extra: dict | None = None) -> dict:
    use_database(env)
    report = {"scenario": scenario, "fault": description, **timeline(results, window),
              "nothing_lost": acklog.check(results.acks), "notes": window.notes, **(extra or {}),
              "load_average_1m": round(os.getloadavg()[0], 2)}
    return report


# ---------------------------------------------------------------- the scenarios


def llm_fault(name: str, mode: str, description: str) -> Callable[[], dict]:
    def scenario() -> dict:
        fake = FakeLLM()
        fake.start()
        env = fresh_env(name, **fake.env())
        prepare_database(env)
        with WebServers(1, env, FAULTS_DIR / name / "logs") as servers:

            def inject(window: Window) -> None:
                window.start = time.monotonic()
                if mode == "down":
                    fake.stop()
                else:
                    fake.mode = mode
                time.sleep(20)
                if mode == "down":
                    fake.start()
                fake.mode = "ok"
                window.end = time.monotonic()

            results, window = drive(servers.base, 60, inject, at=15)
        fake.stop()
        used_again = [t.started + (t.total or 0) - window.end for t in results.turns
                      if t.started >= window.end and t.done and (t.done.get("rerank") or {}).get("applied")]
        during = [t for t in results.turns if window.start <= t.started < window.end and t.done]
        extra = {"llm_used_again_after_s": round(min(used_again), 2) if used_again else None,
                 "turns_with_llm_during": sum(1 for t in during if (t.done.get("rerank") or {}).get("applied"))}
        return finish(name, description, results, window, env, extra)
    return scenario


def redis_restart() -> dict:
    name = "redis-restart"
    redis = OwnRedis(FAULTS_DIR / name / "redis")
    database = f"chatrec_faults_{os.getpid()}"
    shared_pg = os.environ.get("CHATREC_FAULTS_PG", "postgres://postgres@127.0.0.1:5432")
    subprocess.run(["psql", shared_pg + "/postgres", "-qc", f"CREATE DATABASE {database}"], check=True)
    try:
        env = fresh_env(name, DATABASE_URL=f"{shared_pg}/{database}")
        redis.start()
        env["REDIS_URL"] = redis.url
        prepare_database(env)
        with WebServers(2, env, FAULTS_DIR / name / "logs") as servers:
            def inject(window: Window) -> None:
                window.start = time.monotonic()
                redis.stop()
                time.sleep(5)
                redis.start()
                window.end = time.monotonic()

            results, window = drive(servers.base, 50, inject, at=15)
        report = finish(name, "Redis (channel layer, cache, rate limits) stopped for 5 s, then started again; 2 "
                        "web processes, PostgreSQL", results, window, env)
    finally:
        redis.stop()
        from django.db import connections

        connections.close_all()
        subprocess.run(["psql", shared_pg + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {database}"], check=False)
    return report


def postgres_restart() -> dict:
    name = "postgres-restart"
    env = fresh_env(name)
    pg, redis = OwnPostgres(FAULTS_DIR / name / "pg"), OwnRedis(FAULTS_DIR / name / "redis")
    pg.init()
    redis.start()
    env.update(DATABASE_URL=pg.url, REDIS_URL=redis.url)
    try:
        prepare_database(env)
        with WebServers(2, env, FAULTS_DIR / name / "logs") as servers:
            def inject(window: Window) -> None:
                window.start = time.monotonic()
                pg.stop("fast")
                time.sleep(5)
                window.notes.append(f"PostgreSQL took {pg.start():.1f} s to start")
                window.end = time.monotonic()

            results, window = drive(servers.base, 50, inject, at=15)
        report = finish(name, "PostgreSQL stopped (fast shutdown: open connections cut) for 5 s, then started "
                        "again; 2 web processes, Redis", results, window, env)
    finally:
        redis.stop()
        from django.db import connections

        connections.close_all()
        pg.stop("immediate")
    return report


def sigterm_mid_turn() -> dict:
    name = "sigterm-mid-turn"
    fake = FakeLLM()
    fake.start()
    fake.mode = "slow"  # each re-rank streams for about 1.6 s, so turns are in flight when the signal comes
    env = fresh_env(name, **fake.env())
    prepare_database(env)
    with WebServers(1, env, FAULTS_DIR / name / "logs") as servers:
        def inject(window: Window) -> None:
            window.start = time.monotonic()
            pid = servers.signal_worker(0, signal.SIGTERM)
            exited = wait_until(lambda: not Path(f"/proc/{pid}").exists()
                                or "State:\tZ" in Path(f"/proc/{pid}/status").read_text(), timeout=60, step=0.05)
            window.notes.append(f"the signalled process exited {exited:.1f} s after SIGTERM" if exited is not None
                                else "the signalled process was still running 60 s after SIGTERM")
            wait_until(lambda: servers.pids[0] != pid, timeout=30)  # the launcher starts a new one
            wait_until(lambda: servers.healthy_pids(2) != set(), timeout=60)
            window.end = time.monotonic()

        results, window = drive(servers.base, 45, inject, at=15)
    fake.stop()
    return finish(name, "SIGTERM to the only web process while turns were streaming (LLM re-rank taking ~1.6 s "
                  "a turn); `bin/serve-multi` starts a new process", results, window, env)


def worker_kill() -> dict:
    """SIGKILL the Celery pool process that is running a retrain; check the serving model and what is reported."""
    name = "worker-kill"
    env = fresh_env(name)
    redis = OwnRedis(FAULTS_DIR / name / "redis")
    redis.start()
    env["CELERY_BROKER_URL"] = redis.url
    prepare_database(env)
    manage(env, "train")
    use_database(env)
    import django

    django.setup()
    from django_celery_results.models import TaskResult

    from recommender.models import Interaction, JobLock, ModelVersion, Profile
    from recommender.tasks import retrain

    active_before = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
    profile = Profile.objects.filter(kind="imported").first()
    item = Interaction.objects.filter(profile=profile).values_list("item_id", flat=True).first()
    from django.utils import timezone

    Interaction.objects.create(profile=profile, item_id=item, kind="like", origin="chat",  # news for a retrain
                               occurred_at=timezone.now())
    log = open(FAULTS_DIR / name / "worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "chatrec_site", "worker", "--concurrency=1",
                               "--loglevel=info", "-n", f"faults-{os.getpid()}@%h"],
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    notes: list[str] = []
    try:
        versions_before = ModelVersion.objects.count()
        task = retrain.delay()
        held = wait_until(lambda: JobLock.objects.filter(name="retrain").exclude(holder="").exists(), timeout=120)
        children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
        time.sleep(2)  # well into training
        killed_at = time.monotonic()
        for child in children:
            os.kill(int(child), signal.SIGKILL)
        notes.append(f"retrain started {held:.1f} s after it was queued; its pool process was SIGKILLed 2 s later"
                     if held is not None else "the retrain never claimed its lock")
        reported = wait_until(lambda: TaskResult.objects.filter(task_id=task.id).exclude(status="STARTED").exists(),
                              timeout=30)
        row = TaskResult.objects.filter(task_id=task.id).first()
        status = row.status if row else "no result row"
        result_text = (row.result or "")[:160] if row else ""
        active_after = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
        lock = JobLock.objects.filter(name="retrain").first()
        expires_in = ((lock.expires_at - timezone.now()).total_seconds() + time.monotonic() - killed_at
                      if lock and lock.expires_at else None)  # measured from the kill
        second = retrain.delay().get(timeout=120)
        report = {
            "scenario": name,
            "fault": "SIGKILL to the Celery pool process running a retrain (the worker's main process lives on)",
            "task_status": status, "task_result": result_text,
            "reported_after_s": round(time.monotonic() - killed_at, 1) if reported is not None else None,
            "active_version_before": active_before, "active_version_after": active_after,
            "versions_created": ModelVersion.objects.count() - versions_before,
            "lock_still_held": bool(lock and lock.holder),
            "lock_expires_in_s": round(expires_in) if expires_in is not None else None,
            "next_retrain": second, "notes": notes,
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        redis.stop()
    return report


SCENARIOS: dict[str, Callable[[], dict]] = {
    "llm-down": llm_fault("llm-down", "down", "the LLM server's port closed for 20 s (connection refused), then open again"),
    "llm-hung": llm_fault("llm-hung", "hang", "the LLM server accepts and never answers for 20 s, then answers again"),
    "llm-garbage": llm_fault("llm-garbage", "garbage", "the LLM server answers HTTP 200 with bytes that are not the protocol for "
                             "20 s, then answers properly"),
    "redis-restart": redis_restart,
    "postgres-restart": postgres_restart,
    "worker-kill": worker_kill,
    "sigterm-mid-turn": sigterm_mid_turn,
}


# ---------------------------------------------------------------- the docs table


def seconds(value) -> str:
    return "–" if value is None else f"{value:g} s"


def row_of(report: dict) -> str:
    """Return the scenario's row: what was done, what clients saw, recovery, nothing lost."""
    if report["scenario"] == "worker-kill":
        seen = (f"task recorded as {report['task_status']} ({report['task_result'] or 'no detail'}) "
                f"{seconds(report['reported_after_s'])} after the kill; active model version "
                f"{report['active_version_before']} before, {report['active_version_after']} after, "
                f"{report['versions_created']} versions created; the retrain lock "
                f"{'still held, expiring ' + seconds(report['lock_expires_in_s']) + ' after the kill' if report['lock_still_held'] else 'free'}"
                f"; a retrain queued at once returned `{json.dumps(report['next_retrain'])}`; "
                + "; ".join(report["notes"]))
        return (f"| {report['scenario']} | {report['fault']} | {seen} | – | – | – "
                f"| `python -m benchmarks.faults {report['scenario']}` |")
    during, after = report["during"], report["after"]
    seen = [f"before: {report['before']['turns']} turns, {report['before']['errors']} errors",
            f"during: {during['turns']} turns, {during['errors']} errors"
            + (f" ({', '.join(during['error_kinds'])})" if during["error_kinds"] else "")
            + (f", turn p95 {load.fmt(during['turn_p95_ms'])} ms, max {load.fmt(during['turn_max_ms'])} ms"
               if during["turn_p95_ms"] else ""),
            f"after: {after['turns']} turns, {after['errors']} errors"
            + (f" ({', '.join(after['error_kinds'])})" if after["error_kinds"] else ""),
            f"{report['reconnects']} reconnects"]
    if "llm_used_again_after_s" in report:
        seen.append(f"LLM re-rank used in {report['turns_with_llm_during']} turns during the fault and again "
                    f"{seconds(report['llm_used_again_after_s'])} after it ended")
    seen += report["notes"]
    lost = report["nothing_lost"]
    recovery = (f"first turn {seconds(report['first_success_after_s'])}; all {report['conversations_back']} "
                f"conversations {seconds(report['all_conversations_back_after_s'])}")
    return (f"| {report['scenario']} | {report['fault']} | {'; '.join(seen)} | {recovery} "
            f"| {lost['lost']} of {lost['messages_acked']} messages + {lost['feedback_acked']} likes "
            f"| {report['load_average_1m']} | `python -m benchmarks.faults {report['scenario']}` |")


HEADER = ("| scenario | fault | observed | recovery (from the fault's end) | lost (acknowledged, not in the "
          "database) | load avg | command |")


def write_docs(report: dict, path: Path = RELIABILITY_MD) -> None:
    """Rewrite the scenario's row of the `faults` section, keeping the other scenarios' rows in SCENARIOS order."""
    text = path.read_text(encoding="utf-8")
    begin, end = "<!-- BEGIN faults -->", "<!-- END faults -->"
    rows: dict[str, str] = {}
    if begin in text and end in text:
        for line in text.split(begin, 1)[1].split(end, 1)[0].splitlines():
            if line.startswith("| ") and not line.startswith("| scenario "):
                rows[line.split(" | ", 1)[0][2:]] = line
    rows[report["scenario"]] = row_of(report)
    ordered = [rows[name] for name in SCENARIOS if name in rows]
    body = "\n".join([
        f"Each run: {CONVERSATIONS} conversations over real websockets (a message every ~{THINK_S:g} s, a like "
        "after 30 % of lists, a reconnect with the same conversation after a dropped connection), the shipped "
        "sample catalog, rate limits raised for the test's pace. *lost* counts acknowledged messages and likes "
        "missing from the database plus conversations holding a user message without its reply. The machine "
        "(2 cores) was shared with other jobs.",
        "",
        HEADER,
        "|---" * (HEADER.count("|") - 1) + "|",
        *ordered,
    ])
    write_section("faults", body, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=[*SCENARIOS, "all"])
    parser.add_argument("--write-docs", action="store_true", help="rewrite the scenario's row in docs/reliability.md")
    args = parser.parse_args(argv)
    if args.scenario == "all":  # one process per scenario: each points Django at its own database
        codes = [subprocess.run([sys.executable, "-m", "benchmarks.faults", name]
                                + (["--write-docs"] if args.write_docs else []), cwd=REPO).returncode
                 for name in SCENARIOS]
        return max(codes)
    report = SCENARIOS[args.scenario]()
    print(json.dumps(report, indent=2, default=str))
    out = FAULTS_DIR / f"{args.scenario}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    if args.write_docs:
        write_docs(report)
        print(f"wrote {RELIABILITY_MD}")
    lost = (report.get("nothing_lost") or {}).get("lost", 0)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
