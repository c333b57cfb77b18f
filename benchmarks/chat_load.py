"""Load test for the chat websocket: many concurrent conversations over real websockets against a running server.

    python -m benchmarks.chat_load --base http://127.0.0.1:8000 --conversations 50 --turns 10 [--write-docs]

Each conversation gets its own guest session (a GET of the chat page), opens /ws/chat/ and sends its turns
one after another, waiting for `chat.done` each time. Reported per turn: time to the item list (send ->
`chat.items`), time to the first token (send -> first `chat.token`), whole turn time, and errors
(error frames, timeouts, dropped connections).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

from benchmarks.common import BENCHMARKS_MD, write_section

# A mix of what people type: requests, refinements, follow-ups, facts, feedback, small talk; both languages.
SCRIPTS = [
    ["recommend me a comedy", "only from the 90s", "no romance", "why the second one?", "I liked the first one",
     "something with more action", "what year did Fargo come out?", "thanks!", "some sci-fi films", "why this one?"],
    ["推荐几部动画片", "要九十年代的", "为什么推荐第一个？", "不要音乐片", "来点科幻片", "第二个是哪一年的？",
     "我喜欢第一个", "谢谢", "有没有犯罪片", "为什么推荐第三个"],
    ["a summer dress under $50", "something in blue", "why the first one?", "a warm winter coat", "cheaper please",
     "hello", "some thriller movies", "no horror", "I didn't like the second one", "more like the first one"],
]
MARKERS = ("<!-- BEGIN chat -->", "<!-- END chat -->")  # the section write_section("chat", ...) owns


@dataclass
class TurnTiming:
    first_token: float | None = None
    items: float | None = None
    total: float | None = None
    error: str | None = None
    rerank: dict | None = None


@dataclass
class Results:
    turns: list[TurnTiming] = field(default_factory=list)
    connect_errors: list[str] = field(default_factory=list)
    wall: float = 0.0


async def guest_cookie(client: httpx.AsyncClient, base: str) -> str:
    """Return a fresh guest session cookie from the chat page."""
    response = await client.get(base + "/")
    response.raise_for_status()
    return f"sessionid={response.cookies['sessionid']}"


async def one_turn(ws, text: str, timeout: float) -> TurnTiming:
    timing = TurnTiming()
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "message", "text": text}))
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=timeout)
        frame = json.loads(raw)
        now = time.perf_counter() - started
        kind = frame.get("type")
        if kind == "chat.token" and timing.first_token is None:
            timing.first_token = now
        elif kind == "chat.items" and timing.items is None:
            timing.items = now
        elif kind == "chat.error":
            timing.error = frame.get("code", "error")
            timing.total = now
            return timing
        elif kind == "chat.done":
            timing.total = now
            timing.rerank = frame.get("rerank")
            return timing


async def conversation(n: int, base: str, turns: int, timeout: float, results: Results, start: asyncio.Event,
                       think: float = 0.0, delay: float = 0.0):
    script = SCRIPTS[n % len(SCRIPTS)]
    rng = random.Random(n)
    ws_url = base.replace("http://", "ws://").replace("https://", "wss://") + "/ws/chat/"
    async with httpx.AsyncClient(timeout=timeout) as client:
        try:
            cookie = await guest_cookie(client, base)
        except (httpx.HTTPError, KeyError) as exc:
            results.connect_errors.append(f"session: {exc!r}")
            return
    await start.wait()
    await asyncio.sleep(delay)
    try:
        async with websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": base},
                                      max_size=2**22, open_timeout=timeout) as ws:
            for i in range(turns):
                if think and i:
                    # A person reads the reply before typing the next message: uniform in [0.5, 1.5] × think.
                    await asyncio.sleep(think * rng.uniform(0.5, 1.5))
                try:
                    results.turns.append(await one_turn(ws, script[i % len(script)], timeout))
                except (TimeoutError, websockets.ConnectionClosed) as exc:
                    results.turns.append(TurnTiming(error=type(exc).__name__))
                    return
    except (OSError, websockets.WebSocketException) as exc:
        results.connect_errors.append(f"websocket: {exc!r}")


async def warm_up(base: str, timeout: float) -> None:
    """Run one short uncounted conversation so model loading is not measured as latency."""
    ready = asyncio.Event()
    ready.set()
    scratch = Results()
    for n in range(len(SCRIPTS)):
        await conversation(n, base, 2, timeout * 5, scratch, ready)
    if scratch.connect_errors:
        raise SystemExit(f"cannot reach the server: {scratch.connect_errors[0]}")


async def run(base: str, conversations: int, turns: int, timeout: float, think: float = 0.0,
              ramp: float = 0.0) -> Results:
    await warm_up(base, timeout)
    results = Results()
    start = asyncio.Event()
    # Conversation n opens at n/N of the ramp, as people arrive over a few seconds rather than in one instant.
    tasks = [asyncio.create_task(conversation(n, base, turns, timeout, results, start, think,
                                              ramp * n / max(conversations, 1)))
             for n in range(conversations)]
    await asyncio.sleep(0.5)  # sessions first, so every conversation starts talking at once
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    results.wall = time.perf_counter() - began
    return results


def percentile(values: list[float], q: float) -> float | None:
    """Return the q-th percentile (nearest rank) in milliseconds, or None without data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1] * 1000


def summarize(results: Results) -> dict:
    """Return the figures: p50/p95 per latency, counts, errors, throughput."""
    ok = [t for t in results.turns if t.error is None]
    items = [t.items for t in ok if t.items is not None]
    tokens = [t.first_token for t in ok if t.first_token is not None]
    totals = [t.total for t in ok if t.total is not None]
    errors = [t.error for t in results.turns if t.error] + results.connect_errors
    reranked = [t.rerank for t in ok if t.rerank]
    rerank_ms = [r["ms"] / 1000 for r in reranked if r.get("ms") is not None]
    return {
        "rerank": {"turns": len(reranked), "applied": sum(1 for r in reranked if r.get("applied")),
                   "ms": {"p50": percentile(rerank_ms, 50), "p95": percentile(rerank_ms, 95)}},
        "turns": len(results.turns),
        "turns_with_items": len(items),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "time_to_items_ms": {"p50": percentile(items, 50), "p95": percentile(items, 95)},
        "time_to_first_token_ms": {"p50": percentile(tokens, 50), "p95": percentile(tokens, 95)},
        "turn_ms": {"p50": percentile(totals, 50), "p95": percentile(totals, 95)},
        "turns_per_second": round(len(results.turns) / results.wall, 1) if results.wall else None,
        "wall_s": round(results.wall, 2),
    }


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


HEADER = ("| run | conversations × turns | think / ramp (s) | items p50 | items p95 | first token p50 "
          "| first token p95 | turn p95 | errors | turns/s | load avg | notes |")


def result_row(label: str, summary: dict, args) -> str:
    """Return one table row for a run."""
    items, tokens, turn = summary["time_to_items_ms"], summary["time_to_first_token_ms"], summary["turn_ms"]
    return (f"| {label} | {args.conversations} × {args.turns} | {args.think:g} / {args.ramp:g} | {fmt(items['p50'])} "
            f"| {fmt(items['p95'])} | {fmt(tokens['p50'])} | {fmt(tokens['p95'])} | {fmt(turn['p95'])} "
            f"| {summary['errors']} | {summary['turns_per_second']} | {summary['load_average_1m']} | {notes(summary)} |")


def notes(summary: dict) -> str:
    """Return what else a run showed (the LLM re-rank's use and cost when it was on)."""
    rerank = summary.get("rerank") or {}
    if not rerank.get("turns"):
        return ""
    return (f"LLM re-rank on: applied in {rerank['applied']} of {rerank['turns']} turns (skipped while the LLM "
            f"was busy or its answer unusable), re-rank p50 {fmt(rerank['ms']['p50'])} / p95 "
            f"{fmt(rerank['ms']['p95'])} ms")


def report_markdown(rows: list[str], note: str) -> str:
    """Return the benchmarks section for the chat, with one table row per labelled run."""
    return "\n".join([
        "## Chat: websocket load",
        "",
        "Concurrent conversations over real websockets against one Daphne process (scripted English, Chinese "
        "and shopping conversations: requests, refinements, “why?” follow-ups, facts, feedback, small talk). "
        "Times in ms from sending a message: to the `chat.items` frame, to the first `chat.token`, to "
        "`chat.done`. Targets: items p95 ≤ 500, first token p95 ≤ 800, no errors. *think* is the mean pause "
        "before a person's next message (uniform 0.5–1.5 × think), *ramp* the time over which conversations "
        "open; 0 / 0 sends every message the instant the last reply ends (a saturation test). The load "
        "generator runs on the same machine; *load avg* is the machine's 1-minute load average at the end "
        "(the machine was shared with other jobs)." + (f" {note}" if note else ""),
        "",
        HEADER,
        "|---" * (HEADER.count("|") - 1) + "|",
        *rows,
        "",
        "Reproduce (the server in one shell, the load in another):",
        "",
        "```",
        "python manage.py migrate && python manage.py load_demo && python manage.py train",
        "daphne -b 127.0.0.1 -p 8000 chatrec_site.asgi:application",
        "python -m benchmarks.chat_load --conversations 50 --turns 10 --think 2 --ramp 2 --label realistic --write-docs",
        "python -m benchmarks.chat_load --conversations 50 --turns 10 --label saturation --write-docs",
        "```",
    ])


def existing_rows(text: str) -> list[str]:
    """Return the result rows already in the chat section."""
    begin, end = MARKERS
    if begin not in text or end not in text:
        return []
    section = text.split(begin, 1)[1].split(end, 1)[0]
    return [line for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| run ") and not line.startswith("|---")]


def write_docs(path: Path, label: str, row: str, note: str) -> None:
    """Replace the text between the chat markers (adding them at the end if missing), keeping other runs' rows."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    rows = existing_rows(text)
    mine = [i for i, r in enumerate(rows) if r.startswith(f"| {label} |")]
    if mine:  # a rerun keeps its row's place in the table
        rows[mine[0]] = row
        rows = [r for i, r in enumerate(rows) if i not in mine[1:]]
    else:
        rows.append(row)
    write_section("chat", report_markdown(rows, note), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000", help="the server's base URL")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for any one frame")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a person reads before the next message (0: send at once)")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="seconds over which the conversations open (0: all at once)")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--note", default="", help="a sentence about the server (model, LLM backend, database)")
    parser.add_argument("--label", default="run", help="the row this run fills in the docs table")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the chat section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.base.rstrip("/"), args.conversations, args.turns, args.timeout, args.think,
                              args.ramp))
    summary = summarize(results)
    summary["machine"] = f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}"
    summary["think_s"] = args.think
    summary["ramp_s"] = args.ramp
    summary["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    if args.write_docs:
        docs = BENCHMARKS_MD
        write_docs(docs, args.label, result_row(args.label, summary, args), args.note)
        print(f"wrote {docs}")
    return 0 if summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
