"""Several web processes behind one address (chatrec_site/servemulti.py, bin/serve-multi)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import websockets

from benchmarks.servers import WebServers
from chatrec_site import servemulti

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


def test_health_names_the_process_and_its_database(client, db):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "pid": os.getpid(), "database": "ok"}


def database_for_test() -> tuple[str, str]:
    """Return (a fresh database's URL on DATABASE_URL's server, its name)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    name = f"chatrec_multi_{os.getpid()}"
    return urlunsplit(parts._replace(path=f"/{name}")), name


def admin_sql(sql: str) -> None:
    parts = urlsplit(os.environ["DATABASE_URL"])
    subprocess.run(["psql", urlunsplit(parts._replace(path="/postgres")), "-qc", sql], check=True, timeout=60)


async def ws_open(base: str, cookie: str):
    return await websockets.connect(base.replace("http://", "ws://") + "/ws/chat/",
                                    additional_headers={"Cookie": cookie, "Origin": base}, open_timeout=TIMEOUT)


async def frames_until(ws, kind: str) -> list[dict]:
    seen = []
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=TIMEOUT))
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
    url, name = database_for_test()
    # A Redis database of its own, so groups and counters never meet another suite's on the same server.
    redis_url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/14"))
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "CHATREC_VAR_DIR": str(tmp_path / "var"),
           "CHATREC_LLM_BACKEND": "none", "DJANGO_SETTINGS_MODULE": "chatrec_site.settings",
           "CHATREC_WS_MAX_SOCKETS": "100"}  # the probing sockets below are not what this test is about
    env.pop("CELERY_BROKER_URL", None)
    admin_sql(f"DROP DATABASE IF EXISTS {name}")
    admin_sql(f"CREATE DATABASE {name}")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        subprocess.run([sys.executable, "-c", ITEMS_SCRIPT], cwd=ROOT, env=env, check=True, timeout=120)
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
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {name}")
