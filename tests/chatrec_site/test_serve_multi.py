"""Several web processes behind one address (chatrec_site/servemulti.py, bin/serve-multi)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg2
import pytest
import redis
import websockets
from celery import Celery

from benchmarks.servers import WebServers
from chatrec_site import servemulti
from recommender.engine import bandit
from recommender.selectors import RECHECK_SECONDS

ROOT = Path(__file__).resolve().parents[2]
# Only the PostgreSQL + Redis run (make test-postgres) has what several processes share.
POSTGRES_AND_REDIS = os.environ.get("DATABASE_URL", "").startswith("postgres") and bool(os.environ.get("REDIS_URL"))
TIMEOUT = 30
ITEMS_SCRIPT = """
import django
django.setup()
from recommender.models import Item
for n, (title, genres) in enumerate([("Toy Story (1995)", ["Animation", "Comedy"]), ("Fargo (1996)", ["Crime"]),
                                     ("Home Alone (1990)", ["Comedy"]), ("Alien (1979)", ["Sci-Fi"])]):
    Item.objects.create(source="multi", external_id=f"m{n}", domain="movie", title=title,
                        attributes={"genres": genres}, description=title)
"""


def test_more_than_one_worker_needs_a_shared_channel_layer(monkeypatch, capsys):
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(SystemExit) as refused:
        servemulti.main(["--workers", "2", "--port", "0"])
    assert refused.value.code == 2 and "REDIS_URL" in capsys.readouterr().err


def test_workers_inherit_the_one_listening_socket():
    sock = servemulti.listening_socket("127.0.0.1", 0)
    try:
        command = servemulti.worker_command(sock, 1, Path("/tmp/logs"))
        assert command[command.index("--fd") + 1] == str(sock.fileno()) and sock.get_inheritable()
        assert command[command.index("--access-log") + 1] == "/tmp/logs/worker-1.log"
        assert "--proxy-headers" not in command  # a client could claim any address without a proxy in front
        behind_proxy = servemulti.worker_command(sock, 0, None, proxy_headers=True)
        assert behind_proxy.index("--proxy-headers") < behind_proxy.index(servemulti.APPLICATION)
    finally:
        sock.close()


def database_for_test() -> tuple[str, str]:
    """Return (a fresh database's URL on DATABASE_URL's server, its name)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"chatrec_multi_{os.getpid()}"
    return urlunsplit(parts._replace(path=f"/{name}")), name


def admin_sql(sql: str) -> None:
    parts = urlsplit(os.environ["DATABASE_URL"])
    subprocess.run(["psql", urlunsplit(parts._replace(path="/postgres")), "-qc", sql], check=True, timeout=60)


@contextmanager
def fresh_database(tmp_path: Path, redis_db: int, scripts: tuple[str, ...], **settings: str) -> Iterator[dict]:
    """Yield the environment of processes sharing a fresh, migrated PostgreSQL database and a Redis database of
    their own (so groups, counters and queued tasks never meet another suite's on the same server), after
    running each script in it; drop the database afterwards."""
    url, name = database_for_test()
    redis_url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path=f"/{redis_db}"))
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "CHATREC_VAR_DIR": str(tmp_path / "var"),
           "CHATREC_LLM_BACKEND": "none", "DJANGO_SETTINGS_MODULE": "chatrec_site.settings", **settings}
    env.pop("CELERY_BROKER_URL", None)  # the broker is REDIS_URL's database, as in the documented layout
    admin_sql(f"DROP DATABASE IF EXISTS {name}")
    admin_sql(f"CREATE DATABASE {name}")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        for script in scripts:
            subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True, timeout=120)
        yield env
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {name}")


async def ws_open(base: str, cookie: str):
    return await websockets.connect(base.replace("http://", "ws://") + "/ws/chat/",
                                    additional_headers={"Cookie": cookie, "Origin": base}, open_timeout=TIMEOUT)


async def frames_until(ws, kind: str, timeout: float = TIMEOUT) -> list[dict]:
    seen = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
        seen.append(frame)
        assert frame["type"] != "chat.error", frame
        if frame["type"] == kind:
            return seen


async def sockets_on_two_processes(servers: WebServers, cookie: str):
    """Return two websockets of one person served by different processes (the kernel picks per connection)."""
    first = await ws_open(servers.base, cookie)
    first_pid = servers.access_log_pid(first.local_address[1])
    for _ in range(40):
        other = await ws_open(servers.base, cookie)
        pid = servers.access_log_pid(other.local_address[1])
        if pid is not None and pid != first_pid:
            return (first, first_pid), (other, pid)
        await other.close()
    raise AssertionError("40 connections in a row went to one process")


@pytest.mark.skipif(not POSTGRES_AND_REDIS, reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: make test-postgres")
async def test_one_conversation_goes_on_through_two_processes(tmp_path):
    # The probing sockets below are not what this test is about: more sockets per person than the default.
    with fresh_database(tmp_path, 14, (ITEMS_SCRIPT,), CHATREC_WS_MAX_SOCKETS="100") as env:
        with WebServers(2, env, tmp_path / "logs") as servers:
            assert len(servers.healthy_pids(30)) == 2  # both processes answer on the one address
            page = httpx.get(servers.base + "/", timeout=TIMEOUT)
            cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
            (first, first_pid), (second, second_pid) = await sockets_on_two_processes(servers, cookie)
            assert {first_pid, second_pid} == set(servers.pids.values())

            await first.send(json.dumps({"type": "message", "text": "recommend me a comedy", "k": 2}))
            turn = await frames_until(first, "chat.done")
            conversation = turn[0]["conversation"]
            # The other process hears of it through the Redis channel layer...
            changed = await frames_until(second, "conversation.changed")
            assert changed[-1]["conversation"] == conversation
            # ...reads it from the shared database, and goes on with it.
            await second.send(json.dumps({"type": "conversation.open", "conversation": conversation}))
            history = (await frames_until(second, "conversation.history"))[-1]["messages"]
            assert [m["role"] for m in history] == ["user", "assistant"]
            await second.send(json.dumps({"type": "message", "text": "only the second one please"}))
            done = (await frames_until(second, "chat.done"))[-1]
            assert done["user_message_id"] > turn[-1]["message_id"]
            await first.send(json.dumps({"type": "conversation.open", "conversation": conversation}))
            history = (await frames_until(first, "conversation.history"))[-1]["messages"]
            assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]
            await first.close()
            await second.close()
        # Leaving the block sent SIGTERM: both stopped on their own, without the SIGKILL fallback.
        assert sum("exited with 0" in line for line in servers.lines) == 2
        assert not any("killing it" in line for line in servers.lines)


# A catalog and imported likes that the default training config can validate on (8 people, 4 likes each).
TRAINING_DATA_SCRIPT = """
import django
django.setup()
from django.utils import timezone
from recommender.models import Interaction, Item, Profile
films = [("Toy Story (1995)", ["Animation", "Comedy"]), ("Fargo (1996)", ["Crime"]), ("Home Alone (1990)", ["Comedy"]),
         ("Alien (1979)", ["Sci-Fi"]), ("Heat (1995)", ["Crime"]), ("Clueless (1995)", ["Comedy"]),
         ("Aliens (1986)", ["Sci-Fi"]), ("Babe (1995)", ["Children's", "Comedy"])]
items = [Item.objects.create(source="layout", external_id=f"f{n}", domain="movie", title=title, description=title,
                             attributes={"genres": genres}) for n, (title, genres) in enumerate(films)]
for person in range(8):
    profile = Profile.objects.create(kind="imported", source="layout", external_id=f"p{person}")
    for k in range(4):
        Interaction.objects.create(profile=profile, item=items[(person + 2 * k) % 8], kind="like",
                                   occurred_at=timezone.now())
"""
DEFAULT_QUEUE = "celery"  # the project sets no queue of its own: Celery's default, which beat's tasks go to


def rows(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    conn.close()
    return found


async def wait_for(check, timeout: float, what: str, step: float = 1.0):
    """Return check()'s first truthy answer, polling (the open sockets keep answering pings meanwhile); fail
    naming what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(step)
    raise AssertionError(f"{what}: not within {timeout:g} s")


async def listing_turn(ws, timeout: float = TIMEOUT) -> tuple[str, list[int]]:
    """Run a recommending turn on the socket; return the strategy its list was ranked under and the item ids."""
    await ws.send(json.dumps({"type": "message", "text": "recommend me a comedy", "k": 3}))
    frames = await frames_until(ws, "chat.done", timeout)
    listed = [frame for frame in frames if frame["type"] == "chat.items"]
    assert listed and listed[0]["items"], frames
    return listed[0]["strategy"], [item["id"] for item in listed[0]["items"]]


@pytest.mark.skipif(not POSTGRES_AND_REDIS, reason="needs DATABASE_URL (PostgreSQL) and REDIS_URL: make test-postgres")
async def test_web_processes_and_a_worker_share_database_broker_and_models(tmp_path):
    """The deployment layout of docs/deployment.md in one machine's processes: two web processes and a Celery
    worker, each its own process, on one PostgreSQL database, one Redis database (channel layer, cache and
    broker) and one artifacts folder. Feedback stored through a web process is trained on by the worker, and
    both web processes then rank with the version it activated."""
    models = tmp_path / "shared-models"
    with fresh_database(tmp_path, 13, (TRAINING_DATA_SCRIPT,), CHATREC_ARTIFACTS_DIR=str(models),
                        CHATREC_WS_MAX_SOCKETS="100", CHATREC_WS_TURN_RATE="600/min") as env:
        broker = redis.Redis.from_url(env["REDIS_URL"])
        broker.flushdb()  # no task left queued by an earlier, interrupted run
        log_path = tmp_path / "worker.log"
        with open(log_path, "w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "chatrec_site", "worker", "--pool", "solo", "--concurrency",
                 "1", "-Q", DEFAULT_QUEUE, "-n", f"layout-{os.getpid()}@%h", "--loglevel", "info"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            with WebServers(2, env, tmp_path / "logs") as servers:
                await wait_for(lambda: " ready." in log_path.read_text() or worker.poll() is not None, 120, "worker start")
                assert worker.poll() is None, log_path.read_text()
                page = httpx.get(servers.base + "/", timeout=TIMEOUT)
                cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
                (first, first_pid), (second, second_pid) = await sockets_on_two_processes(servers, cookie)
                assert {first_pid, second_pid} == set(servers.pids.values())
                # No model version yet: both processes rank by popularity.
                assert rows(env["DATABASE_URL"], "SELECT id FROM recommender_modelversion") == []
                strategy, shown = await listing_turn(first)
                assert strategy == "popularity"
                assert (await listing_turn(second))[0] == "popularity"

                # Feedback through one web process lands in the shared database.
                await first.send(json.dumps({"type": "feedback", "item": shown[0], "kind": "like", "key": "layout-1"}))
                saved = (await frames_until(first, "feedback.saved"))[-1]
                assert saved["created"] is True
                assert rows(env["DATABASE_URL"], "SELECT kind FROM recommender_interaction WHERE id = %s",
                            (saved["id"],)) == [("like",)]

                # A retrain sent by name to the broker, as beat sends it; the worker trains and activates.
                with Celery("layout-test", broker=env["REDIS_URL"], set_as_current=False) as client:
                    task_id = client.send_task("recommender.retrain", kwargs={"min_new_events": 1},
                                               queue=DEFAULT_QUEUE).id
                done = await wait_for(lambda: rows(env["DATABASE_URL"], "SELECT status, result FROM "
                                             "django_celery_results_taskresult WHERE task_id = %s", (task_id,)),
                                300, "the worker's retrain result", step=2.0)
                status, result = done[0]
                assert status == "SUCCESS", (status, result, log_path.read_text()[-4000:])
                result = json.loads(result)
                assert result["trained"] is True
                versions = rows(env["DATABASE_URL"], "SELECT name, path, is_active, data_through_event_id "
                                                     "FROM recommender_modelversion")
                assert len(versions) == 1
                name, path, active, through = versions[0]
                assert (name, active) == (result["version"], True)
                assert through >= saved["id"]  # it read the feedback stored through the web process
                assert Path(path).parent == models and Path(path).is_dir()  # in the shared artifacts folder

                # Each web process re-reads the active version at most RECHECK_SECONDS apart and loads the new
                # artifact on its next turn: both now rank with the model (the one version there is), where a
                # process that could not read the artifact would go on with "popularity".
                await asyncio.sleep(RECHECK_SECONDS + 1)
                assert (await listing_turn(first, timeout=180))[0] in bandit.STRATEGIES
                assert (await listing_turn(second, timeout=180))[0] in bandit.STRATEGIES
                await first.close()
                await second.close()
            assert sum("exited with 0" in line for line in servers.lines) == 2
            assert not any("killing it" in line for line in servers.lines)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=60) == 0, log_path.read_text()[-4000:]
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            broker.flushdb()
            broker.close()


def test_a_hung_worker_is_killed_and_replaced_within_the_hang_timeout(tmp_path):
    """SIGSTOP a worker (it holds its connections and answers nothing): the launcher must replace it."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(CHATREC_VAR_DIR=str(tmp_path / "var"), CHATREC_LLM_BACKEND="none")
    hang_timeout = 3.0
    launcher = subprocess.Popen([sys.executable, "-m", "chatrec_site.servemulti", "--workers", "1", "--port", "0",
                                 "--hang-timeout", str(hang_timeout), "--grace", "5"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: list[tuple[float, str]] = []

    def read():
        for line in launcher.stdout:
            lines.append((time.monotonic(), line.strip()))

    threading.Thread(target=read, daemon=True).start()

    def wait_for(pattern: str, timeout: float = 90.0) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for when, line in list(lines):
                if re.search(pattern, line):
                    return when, line
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in {[line for _, line in lines]}")

    def live_pid(base: str) -> int | None:
        try:
            return httpx.get(base + "/livez", timeout=2).json()["pid"]
        except httpx.HTTPError:
            return None

    try:
        base = wait_for(r"listening on (http://\S+)")[1].split()[3]
        first = int(wait_for(r"worker 0 pid \d+$")[1].split()[-1])
        deadline = time.monotonic() + 90
        while live_pid(base) != first and time.monotonic() < deadline:
            time.sleep(0.5)
        assert live_pid(base) == first
        time.sleep(1.5)  # a probe has answered since start: the short hang timeout applies
        stopped_at = time.monotonic()
        os.kill(first, signal.SIGSTOP)
        killed_at, killed = wait_for(rf"worker 0 pid {first} did not answer")
        assert killed_at - stopped_at <= hang_timeout + 1.5, killed
        _, restarted = wait_for(rf"worker 0 pid (?!{first})\d+$")
        second = int(restarted.split()[-1])
        deadline = time.monotonic() + 90
        while live_pid(base) != second and time.monotonic() < deadline:
            time.sleep(0.5)
        assert live_pid(base) == second  # the new worker serves on the same address
        with pytest.raises(ProcessLookupError):
            os.kill(first, 0)
    finally:
        launcher.send_signal(signal.SIGTERM)
        launcher.wait(timeout=30)
