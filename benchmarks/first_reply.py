"""How long a person waits for the first reply after the server starts: `python -m benchmarks.first_reply`.

Starts Daphne on the database and trained model of the environment (run `make demo`'s data and models steps
first; CHATREC_VAR_DIR picks another var/), waits until the chat page answers, then opens one websocket per
run as a new guest and sends one request, timing it from sending to `chat.done` (every item and explanation
sent). Two runs, each on a fresh server: the first requests `--wait` seconds after the page answered (a person
reading and typing), then one second after the background warm-up logged that it finished. `--write-docs`
rewrites the "first_reply" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets

from benchmarks.chat_load import guest_cookie
from benchmarks.common import write_section

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ("something like The Matrix but less violent", "A funny film from the 90s", "我想找一些适合夏天穿的连衣裙",
            "Calm music for studying", "A gift under $50")


def start_server(port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                             "chatrec_site.asgi:application"], cwd=ROOT, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})


async def one_turn(ws, text: str, timeout: float = 60.0) -> tuple:
    """Send one request; return (text, seconds to chat.items, seconds to chat.done, items listed, error)."""
    started = time.perf_counter()
    shown, listed = None, 0
    await ws.send(json.dumps({"type": "message", "text": text}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
        kind = frame.get("type")
        if kind == "chat.items" and shown is None:
            shown, listed = time.perf_counter() - started, len(frame.get("items") or [])
        elif kind in ("chat.done", "chat.error"):
            return text, shown, time.perf_counter() - started, listed, frame.get("code") if kind == "chat.error" else ""


READY = "ready: catalog and models loaded in "


def warm_up_seconds(log: Path) -> float | None:
    """Return how long the server's background warm-up took, from its log line (None until it finished)."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if READY in line:
            return float(line.split(READY, 1)[1].split()[0])
    return None


async def measure(base: str, requests: tuple[str, ...], wait: float, log: Path | None) -> tuple[float, float, list]:
    """Return (seconds until the page answered, seconds until the first request, [turn rows] in order).

    The first request goes `wait` seconds after the page answered or, with a log, after the warm-up finished.
    """
    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(base + "/", timeout=2)).status_code == 200:
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        page_after = time.perf_counter() - started
        while log is not None and warm_up_seconds(log) is None and time.perf_counter() - started < 300:
            await asyncio.sleep(0.2)
        await asyncio.sleep(wait)
        first_after = time.perf_counter() - started
        rows = []
        for text in requests:
            async with httpx.AsyncClient() as fresh:  # a new guest: no cookie from the earlier request
                cookie = await guest_cookie(fresh, base)
            ws_url = base.replace("http", "ws") + "/ws/chat/"
            async with websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": base}) as ws:
                rows.append(await one_turn(ws, text))
    return page_after, first_after, rows


def run(port: int, wait: float, after_warm_up: bool, log: Path) -> list[str]:
    """Start a server, time the requests, stop it; return the markdown lines of the run."""
    server = start_server(port, log)
    try:
        page_after, first_after, rows = asyncio.run(measure(f"http://127.0.0.1:{port}", REQUESTS, wait,
                                                            log if after_warm_up else None))
    finally:
        server.terminate()
        server.wait(timeout=20)
    warmed = warm_up_seconds(log)
    when = "after the warm-up finished" if after_warm_up else f"{wait:.0f} s after the page answered"
    lines = [f"**First request {when}** ({first_after:.1f} s after start; the page answered after {page_after:.1f} s; "
             f"the warm-up took {f'{warmed:.1f} s' if warmed is not None else 'longer than the run'}):", "",
             "| # | request | list shown (s) | done (s) | items |", "|---|---|---|---|---|"]
    for n, (text, items, total, listed, error) in enumerate(rows, start=1):
        shown = f"{items:.3f}" if items is not None else "-"
        lines.append(f"| {n} | {text} | {shown} | {total:.3f} | {error or listed} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8139)
    parser.add_argument("--wait", type=float, default=5.0,
                        help="seconds between the page answering and the first request (a person reading and typing)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    log = Path(os.environ.get("CHATREC_VAR_DIR", ROOT / "var")) / "first-reply-daphne.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores. A fresh server each run; each request from a "
             "new guest; times from sending to the list shown (`chat.items`) and to `chat.done`.", ""]
    lines += run(args.port, args.wait, False, log)
    lines += run(args.port, 1.0, True, log)
    body = "\n".join(lines)
    print(body)
    if args.write_docs:
        write_section("first_reply", "## First reply after start-up (`python -m benchmarks.first_reply`)\n\n" + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
