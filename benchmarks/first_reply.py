"""How long a person waits for the first reply after the server starts: `python -m benchmarks.first_reply`.

Starts Daphne on the database and trained model of the environment (run `make demo`'s data and models steps
first; CHATREC_VAR_DIR picks another var/), waits until the chat page answers, then opens one websocket per
run as a new guest and sends one request, timing it from sending to `chat.done` (every item and explanation
sent). The first run is the one a person meets; later runs show the warm figure. `--write-docs` rewrites the
"first_reply" section of docs/benchmarks.md.
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


async def measure(base: str, requests: tuple[str, ...], wait_after_start: float) -> tuple[float, list[tuple]]:
    """Return (seconds until the page answered, [(request, seconds to chat.done, items listed)] in order)."""
    started = time.perf_counter()
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(base + "/", timeout=2)).status_code == 200:
                    break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        page_after = time.perf_counter() - started
        await asyncio.sleep(wait_after_start)
        rows = []
        for text in requests:
            async with httpx.AsyncClient() as fresh:  # a new guest: no cookie from the earlier request
                cookie = await guest_cookie(fresh, base)
            ws_url = base.replace("http", "ws") + "/ws/chat/"
            async with websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": base}) as ws:
                rows.append(await one_turn(ws, text))
    return page_after, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8139)
    parser.add_argument("--wait", type=float, default=5.0,
                        help="seconds between the page answering and the first request (a person reading and typing)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    base = f"http://127.0.0.1:{args.port}"
    log = Path(os.environ.get("CHATREC_VAR_DIR", ROOT / "var")) / "first-reply-daphne.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = start_server(args.port, log)
    try:
        page_after, rows = asyncio.run(measure(base, REQUESTS, args.wait))
    finally:
        server.terminate()
        server.wait(timeout=20)
    warmed = next((line.split("warmed up in ")[1].strip() for line in log.read_text().splitlines()
                   if "warmed up in " in line), "not finished")
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores; page answered {page_after:.2f} s after start; "
             f"first request {args.wait:.1f} s later; background warm-up took {warmed}. Times from sending to the list shown (`chat.items`) and to "
             "`chat.done`; each request from a new guest.", "",
             "| # | request | list shown (s) | done (s) | items |", "|---|---|---|---|---|"]
    for n, (text, items, total, listed, error) in enumerate(rows, start=1):
        shown = f"{items:.3f}" if items is not None else "-"
        lines.append(f"| {n} | {text} | {shown} | {total:.3f} | {error or listed} |")
    body = "\n".join(lines)
    print(body)
    if args.write_docs:
        write_section("first_reply", "## First reply after start-up (`python -m benchmarks.first_reply`)\n\n" + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
