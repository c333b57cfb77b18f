"""SIGTERM to a web process while a turn streams: it stops on its own, and no turn is half stored."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import websockets

from benchmarks.faults import FakeLLM
from benchmarks.servers import WebServers, wait_until

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30
ITEMS_SCRIPT = """
import django
django.setup()
from recommender.models import Item
for n, title in enumerate(["Toy Story (1995)", "Home Alone (1990)", "Forrest Gump (1994)", "Back to the Future (1985)"]):
    Item.objects.create(source="t", external_id=f"c{n}", domain="movie", title=title,
                        attributes={"genres": ["Comedy"]}, description=title)
"""


async def next_frame(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=TIMEOUT))


async def test_sigterm_mid_turn_stops_the_process_and_stores_whole_turns_only(tmp_path):
    fake = FakeLLM()
    fake.start()
    fake.mode = "slow"  # the LLM re-rank streams for about 1.6 s, so the second turn is mid-way when signalled
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(fake.env(), CHATREC_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="chatrec_site.settings")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        subprocess.run([sys.executable, "-c", ITEMS_SCRIPT], cwd=ROOT, env=env, check=True, timeout=120)
        with WebServers(1, env, tmp_path / "logs", grace=20) as servers:
            page = httpx.get(servers.base + "/", timeout=TIMEOUT)
            cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
            ws = await websockets.connect(servers.base.replace("http://", "ws://") + "/ws/chat/",
                                          additional_headers={"Cookie": cookie, "Origin": servers.base})
            acked: set[int] = set()
            for _ in range(10):  # until the LLM is in use (its circuit closes once the server answers a probe)
                await ws.send(json.dumps({"type": "message", "text": "recommend me a comedy", "k": 3}))
                frame = await next_frame(ws)
                while frame["type"] != "chat.done":
                    frame = await next_frame(ws)
                acked |= {frame["user_message_id"], frame["message_id"]}
                if frame["rerank"]["applied"]:
                    break
            assert frame["rerank"]["applied"], frame["rerank"]
            # A like said in words: stored with its turn or not at all.
            await ws.send(json.dumps({"type": "message", "text": "I liked the first one, more like it", "k": 3}))
            while (await next_frame(ws))["type"] != "chat.start":  # a conversation.changed may come first
                pass
            pid = servers.signal_worker(0, signal.SIGTERM)
            seen = []
            try:
                while True:
                    seen.append((await next_frame(ws))["type"])
            except websockets.ConnectionClosed:
                pass
            assert "chat.done" not in seen  # the turn was cut, not finished
            exited = wait_until(lambda: not Path(f"/proc/{pid}").exists()
                                or "State:\tZ" in Path(f"/proc/{pid}/status").read_text(), timeout=60)
            assert exited is not None, "the process did not stop after SIGTERM"
        with sqlite3.connect(tmp_path / "var" / "chatrec.sqlite3") as db:
            rows = db.execute("SELECT id, role FROM chat_message ORDER BY conversation_id, id").fetchall()
            likes = db.execute("SELECT count(*) FROM recommender_interaction").fetchone()[0]
        assert acked <= {row[0] for row in rows}
        roles = [row[1] for row in rows]
        # Whatever became of the cut turn, it is stored whole or not at all: no question without its answer,
        # and no like from a message that is not there.
        turns = len(acked) // 2
        assert roles in (["user", "assistant"] * turns, ["user", "assistant"] * (turns + 1))
        if len(roles) == 2 * turns:
            assert likes == 0
    finally:
        fake.stop()
