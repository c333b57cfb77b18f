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
import os
import platform
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

from benchmarks.acklog import AckLog
from benchmarks.common import BENCHMARKS_MD, write_section
from benchmarks.common import percentile as nearest_rank

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
    started: float = 0.0  # time.monotonic() when the message was sent (a fault run's timeline)
    conversation: int | None = None
    first_item: int | None = None
    done: dict | None = None
    who: int = -1  # which conversation of the run


@dataclass
class Results:
    turns: list[TurnTiming] = field(default_factory=list)
    connect_errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    acks: AckLog = field(default_factory=AckLog)
    feedback_errors: list[str] = field(default_factory=list)
    reconnects: int = 0


@dataclass
class Plan:
    """How conversations behave: how long they go on, how often people press like, whether they reconnect."""

    turns: int = 10
    think: float = 0.0
    deadline: float | None = None  # time.monotonic() after which no conversation starts another turn
    feedback: float = 0.0  # chance of a like on the first listed item after a turn with a list
    reconnect: bool = False  # after a dropped connection, connect again and go on with the same conversation

    def more(self, done: int) -> bool:
        return time.monotonic() < self.deadline if self.deadline is not None else done < self.turns


async def guest_cookie(client: httpx.AsyncClient, base: str) -> str:
    """Return the Cookie header of a fresh guest: the chat page's signed guest cookie (or a session)."""
    response = await client.get(base + "/")
    response.raise_for_status()
    cookies = {name: response.cookies[name] for name in ("chatrec_guest", "sessionid") if name in response.cookies}
    if not cookies:
        raise KeyError("the chat page set no guest cookie")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def one_turn(ws, text: str, timeout: float, conversation: int | None = None) -> TurnTiming:
    timing = TurnTiming(started=time.monotonic())
    started = time.perf_counter()
    frame_out: dict = {"type": "message", "text": text}
    if conversation is not None:
        frame_out["conversation"] = conversation
    await ws.send(json.dumps(frame_out))
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=timeout)
        frame = json.loads(raw)
        now = time.perf_counter() - started
        kind = frame.get("type")
        if kind == "chat.start":
            timing.conversation = frame.get("conversation")
        elif kind == "chat.token" and timing.first_token is None:
            timing.first_token = now
        elif kind == "chat.items" and timing.items is None:
            timing.items = now
            listed = frame.get("items") or []
            timing.first_item = listed[0]["id"] if listed else None
        elif kind == "chat.error":
            timing.error = frame.get("code", "error")
            timing.total = now
            return timing
        elif kind == "chat.done":
            timing.total = now
            timing.rerank = frame.get("rerank")
            timing.done = frame
            return timing


async def press_like(ws, item: int, key: str, timeout: float, results: Results) -> None:
    """Send a like on an item and wait for its acknowledgement (recorded) or its error."""
    await ws.send(json.dumps({"type": "feedback", "item": item, "kind": "like", "key": key}))
    while True:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=timeout))
        except (TimeoutError, websockets.ConnectionClosed) as exc:
            results.feedback_errors.append(type(exc).__name__)
            raise
        if frame.get("type") == "feedback.saved":
            results.acks.feedback_saved(frame)
            return
        if frame.get("type") == "chat.error":
            results.feedback_errors.append(frame.get("code", "error"))
            return


async def conversation(n: int, base: str, turns: int, timeout: float, results: Results, start: asyncio.Event,
                       think: float = 0.0, delay: float = 0.0, plan: Plan | None = None):
    plan = plan or Plan(turns=turns, think=think)
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
    done, current = 0, None
    while plan.more(done):
        try:
            async with websockets.connect(ws_url, additional_headers={"Cookie": cookie, "Origin": base},
                                          max_size=2**22, open_timeout=timeout) as ws:
                while plan.more(done):
                    if plan.think and done:
                        # A person reads the reply before typing the next message: uniform in [0.5, 1.5] × think.
                        await asyncio.sleep(plan.think * rng.uniform(0.5, 1.5))
                        if not plan.more(done):
                            break
                    try:
                        timing = await one_turn(ws, script[done % len(script)], timeout, current)
                    except (TimeoutError, websockets.ConnectionClosed) as exc:
                        results.turns.append(TurnTiming(error=type(exc).__name__, started=time.monotonic(), who=n))
                        raise
                    timing.who = n
                    results.turns.append(timing)
                    done += 1
                    if timing.error is None:
                        current = timing.conversation or current
                        results.acks.turn_done(timing.done or {}, current)
                        if timing.first_item is not None and rng.random() < plan.feedback:
                            await press_like(ws, timing.first_item, f"load-{n}-{done}", timeout, results)
                return
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            if not isinstance(exc, (TimeoutError, websockets.ConnectionClosed)):
                results.connect_errors.append(f"websocket: {type(exc).__name__}")
            if not plan.reconnect:
                return
            results.reconnects += 1
            await asyncio.sleep(0.5 + rng.random())


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
              ramp: float = 0.0, duration: float | None = None, feedback: float = 0.0,
              reconnect: bool = False, warm: bool = True, results: Results | None = None) -> Results:
    if warm:
        await warm_up(base, timeout)
    results = results or Results()
    start = asyncio.Event()
    plan = Plan(turns=turns, think=think, feedback=feedback, reconnect=reconnect)
    # Conversation n opens at n/N of the ramp, as people arrive over a few seconds rather than in one instant.
    tasks = [asyncio.create_task(conversation(n, base, turns, timeout, results, start, think,
                                              ramp * n / max(conversations, 1), plan))
             for n in range(conversations)]
    await asyncio.sleep(0.5)  # sessions first, so every conversation starts talking at once
    began = time.perf_counter()
    if duration is not None:
        plan.deadline = time.monotonic() + duration
    start.set()
    await asyncio.gather(*tasks)
    results.wall = time.perf_counter() - began
    return results


def percentile(values: list[float], q: float) -> float | None:
    """Return the q-th percentile of seconds (benchmarks.common's definition) in milliseconds, or None."""
    found = nearest_rank(values, q)
    return None if found is None else found * 1000


def summarize(results: Results) -> dict:
    """Return the figures: p50/p95 per latency, counts, errors, throughput."""
    ok = [t for t in results.turns if t.error is None]
    items = [t.items for t in ok if t.items is not None]
    tokens = [t.first_token for t in ok if t.first_token is not None]
    totals = [t.total for t in ok if t.total is not None]
    errors = [t.error for t in results.turns if t.error] + results.connect_errors + results.feedback_errors
    reranked = [t.rerank for t in ok if t.rerank]
    rerank_ms = [r["ms"] / 1000 for r in reranked if r.get("ms") is not None]
    return {
        "rerank": {"turns": len(reranked), "applied": sum(1 for r in reranked if r.get("applied")),
                   "ms": {"p50": percentile(rerank_ms, 50), "p95": percentile(rerank_ms, 95)}},
        "turns": len(results.turns),
        "turns_with_items": len(items),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
        "time_to_items_ms": {q: percentile(items, n) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))},
        "time_to_first_token_ms": {q: percentile(tokens, n) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))},
        "turn_ms": {q: percentile(totals, n) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))},
        "feedback_acked": len(results.acks.feedback),
        "reconnects": results.reconnects,
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
    """Return what else a run showed: CPU cost per turn when the benchmark ran the servers, the LLM re-rank's use."""
    rerank = summary.get("rerank") or {}
    parts = []
    if summary.get("cpu_ms_per_turn"):
        cpu = summary["cpu_ms_per_turn"]
        processes = f"{summary['processes']} web process{'es' if summary['processes'] != 1 else ''}"
        parts.append(f"{processes} ({summary['stack']}); CPU per turn: servers "
                     f"{cpu['servers']:.1f} ms, load generator {cpu['load_generator']:.1f} ms, so at most "
                     f"{summary['turns_per_second_cpu_bound']} turns/s on this machine's cores")
    if rerank.get("turns"):
        parts.append(f"LLM re-rank on: applied in {rerank['applied']} of {rerank['turns']} turns (skipped while "
                     f"the LLM was busy or its answer unusable), re-rank p50 {fmt(rerank['ms']['p50'])} / p95 "
                     f"{fmt(rerank['ms']['p95'])} ms")
    return "; ".join(parts)


def report_markdown(rows: list[str], note: str) -> str:
    """Return the benchmarks section for the chat, with one table row per labelled run."""
    return "\n".join([
        "## Chat: websocket load",
        "",
        "Concurrent conversations over real websockets against one Daphne process unless the notes say otherwise (scripted English, Chinese "
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
        "# several processes (the benchmark starts bin/serve-multi itself; PostgreSQL + Redis):",
        "DATABASE_URL=postgres://... REDIS_URL=redis://... CHATREC_WS_IP_RATE=100000/min \\",
        "  python -m benchmarks.chat_load --serve 2 --conversations 50 --turns 10 --label 'saturation, 2 processes' --write-docs",
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


RELIABILITY_MD = BENCHMARKS_MD.parent / "reliability.md"
SUSTAINED_HEADER = ("| run | web processes | database, channel layer | conversations × minutes | turns | errors "
                    "| items p50 / p95 / p99 ms | first token p50 / p95 / p99 ms | likes acked | lost "
                    "| RSS per process, MiB: start → end (peak; growth over the second half) | CPU ms per turn: servers / load generator "
                    "| load avg start → end |")


def triple(values: dict) -> str:
    return " / ".join(fmt(values.get(q)) for q in ("p50", "p95", "p99"))


def sustained_row(label: str, summary: dict) -> str:
    """Return one row of the sustained-load table in docs/reliability.md."""
    def growth(r: dict) -> str:
        return "" if r.get("second_half_growth") is None else f"; {r['second_half_growth']:+.0f}"

    rss = ", ".join(f"{r['start']['rss']:.0f} → {r['end']['rss']:.0f} ({r['end']['peak']:.0f}{growth(r)})"
                    if r.get("end") else f"{r['start']['rss']:.0f} → gone" for r in summary.get("rss_mib", []))
    cpu = summary.get("cpu_ms_per_turn")
    cpu_text = f"{cpu['servers']:.1f} / {cpu['load_generator']:.1f}" if cpu else "–"
    lost = summary.get("nothing_lost")
    lost_text = "not checked" if lost is None else (
        f"{lost['lost']} of {lost['messages_acked']} messages + {lost['feedback_acked']} likes")
    minutes = summary["duration_s"] / 60 if summary.get("duration_s") else None
    return (f"| {label} | {summary.get('processes', '–')} | {summary.get('stack', '–')} "
            f"| {summary['conversations']} × {minutes:g} | {summary['turns']} | {summary['errors']} "
            f"| {triple(summary['time_to_items_ms'])} | {triple(summary['time_to_first_token_ms'])} "
            f"| {summary['feedback_acked']} | {lost_text} | {rss or '–'} | {cpu_text} "
            f"| {summary.get('load_average_start', '–')} → {summary['load_average_1m']} |")


def sustained_markdown(rows: list[str]) -> str:
    return "\n".join([
        "Sustained load: 200 conversations at once for 5 minutes over real websockets (the scripted English, "
        "Chinese and shopping conversations above; a person pauses 4–12 s before each message, and likes the "
        "first listed item after 30 % of turns with a list). The benchmark starts the web processes itself "
        "(`bin/serve-multi`), runs the demo data with a trained model and no LLM, samples each process's "
        "resident memory after the warm-up and at the end, and then checks that every message and like the "
        "server acknowledged is in the database (*lost*: missing ones plus half-stored turns). Times in ms from "
        "sending a message. The load generator runs on the same 2-core machine; the last column is the machine's "
        "load average (a value well above 2 means other work shared the cores). CPU ms per turn: the web processes' "
        "CPU time (PostgreSQL and Redis not included) and the load generator's, divided by the turns.",
        "",
        SUSTAINED_HEADER,
        "|---" * (SUSTAINED_HEADER.count("|") - 1) + "|",
        *rows,
        "",
        "Reproduce (a migrated database with `load_demo` and `train` run; rate limits raised because every "
        "conversation comes from one address and one machine):",
        "",
        "```",
        "CHATREC_LLM_BACKEND=none CHATREC_WS_IP_RATE=100000/min \\",
        "  python -m benchmarks.chat_load --serve 1 --conversations 200 --duration 300 --think 8 --ramp 20 \\",
        "  --feedback 0.3 --check-db --label 'embedded default' --write-reliability",
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatrec_load REDIS_URL=redis://127.0.0.1:6390/0 \\",
        "  CHATREC_LLM_BACKEND=none CHATREC_WS_IP_RATE=100000/min python -m benchmarks.chat_load --serve 2 \\",
        "  --conversations 200 --duration 300 --think 8 --ramp 20 --feedback 0.3 --check-db \\",
        "  --label 'PostgreSQL + Redis, 2 processes' --write-reliability",
        "```",
    ])


def write_sustained(path: Path, label: str, row: str) -> None:
    """Replace the `load` section of docs/reliability.md, keeping other runs' rows (a rerun replaces its own)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = "<!-- BEGIN load -->", "<!-- END load -->"
    rows = []
    if begin in text and end in text:
        section = text.split(begin, 1)[1].split(end, 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| run ")]
    rows = [r for r in rows if not r.startswith(f"| {label} |")] + [row]
    write_section("load", sustained_markdown(rows), path)


def stack_of(env) -> str:
    database = "PostgreSQL" if str(env.get("DATABASE_URL", "")).startswith("postgres") else "SQLite"
    return f"{database}, {'Redis' if env.get('REDIS_URL') else 'in-memory'}"


def half_growth(samples: list[tuple[float, float]]) -> float | None:
    """Return how much resident memory grew over the second half of a run's samples (MiB)."""
    if len(samples) < 4:
        return None
    return round(samples[-1][1] - samples[len(samples) // 2][1], 1)


def serve_and_run(args) -> tuple[Results, dict]:
    """Start `--serve` web processes, warm up, run the load, and return the results with memory and spread."""
    from benchmarks.servers import WebServers, cpu_seconds, rss_mib

    log_dir = Path(args.log_dir) if args.log_dir else BENCHMARKS_MD.parent.parent / "var" / "load-logs" / str(
        int(time.time()))
    extra: dict = {"processes": args.serve, "stack": stack_of(os.environ)}
    with WebServers(args.serve, dict(os.environ), log_dir) as servers:
        # A process loads its models on the turns that first need them: warm up until each has served two
        # warm-up rounds' worth of conversations (the kernel, not the client, picks the process), so that
        # model loading is not measured.
        for _ in range(20 * args.serve):
            asyncio.run(warm_up(servers.base, args.timeout))
            served = [(log_dir / f"worker-{i}.log").read_text().count('"WSCONNECT ') for i in servers.pids]
            if min(served) >= 2 * len(SCRIPTS):
                break
        pids = list(servers.pids.values())
        start = {pid: rss_mib(pid) for pid in pids}
        cpu_start, client_start = {pid: cpu_seconds(pid) for pid in pids}, time.process_time()
        extra["load_average_start"] = round(os.getloadavg()[0], 2)
        samples: dict[int, list[tuple[float, float]]] = {pid: [] for pid in pids}
        stop_sampling = threading.Event()

        def sample_memory() -> None:  # every 15 s: shows whether a process's memory levels off
            began = time.monotonic()
            while not stop_sampling.wait(15.0):
                for pid in pids:
                    now = rss_mib(pid)
                    if now:
                        samples[pid].append((round(time.monotonic() - began, 1), now["rss"]))

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        results = asyncio.run(run(servers.base, args.conversations, args.turns, args.timeout, args.think, args.ramp,
                                  args.duration, args.feedback, warm=False))
        stop_sampling.set()
        client_cpu = time.process_time() - client_start
        server_cpu = sum((cpu_seconds(pid) or 0.0) - (cpu_start[pid] or 0.0) for pid in pids)
        turns = max(1, len(results.turns))
        extra["cpu_ms_per_turn"] = {"servers": round(1000 * server_cpu / turns, 1),
                                    "load_generator": round(1000 * client_cpu / turns, 1)}
        # The most turns per second the machine's cores could do at these costs, if nothing else ran.
        extra["turns_per_second_cpu_bound"] = round((os.cpu_count() or 1) * turns / (server_cpu + client_cpu), 1)
        extra["rss_mib"] = [{"pid": pid, "start": start[pid], "end": rss_mib(pid), "samples": samples[pid],
                             "second_half_growth": half_growth(samples[pid])} for pid in pids]
        extra["websockets_per_process"] = {  # from the access logs: how the kernel spread the connections
            i: (log_dir / f"worker-{i}.log").read_text().count('"WSCONNECT ') for i in servers.pids}
        extra["shutdown_s"] = round(servers.stop(), 1)
    return results, extra


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
    parser.add_argument("--duration", type=float, help="seconds every conversation goes on (instead of --turns)")
    parser.add_argument("--feedback", type=float, default=0.0,
                        help="chance of a like on the first listed item after a turn with a list")
    parser.add_argument("--serve", type=int, metavar="N",
                        help="start N web processes (bin/serve-multi) with this environment instead of using --base")
    parser.add_argument("--log-dir", help="with --serve: where the processes' access logs go")
    parser.add_argument("--check-db", action="store_true",
                        help="check that every acknowledged message and like is in the database (DATABASE_URL)")
    parser.add_argument("--ack-log", type=Path, help="write the acknowledged ids here (JSON)")
    parser.add_argument("--write-reliability", action="store_true",
                        help="rewrite this run's row of the sustained-load table in docs/reliability.md")
    args = parser.parse_args(argv)
    extra: dict = {}
    if args.serve:
        results, extra = serve_and_run(args)
    else:
        results = asyncio.run(run(args.base.rstrip("/"), args.conversations, args.turns, args.timeout, args.think,
                                  args.ramp, args.duration, args.feedback))
    summary = summarize(results)
    summary.update(extra, conversations=args.conversations, duration_s=args.duration)
    if args.ack_log:
        results.acks.write(args.ack_log)
    if args.check_db:
        from benchmarks import acklog

        summary["nothing_lost"] = acklog.check(results.acks)
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
    if args.write_reliability:
        write_sustained(RELIABILITY_MD, args.label, sustained_row(args.label, summary))
        print(f"wrote {RELIABILITY_MD}")
    lost = (summary.get("nothing_lost") or {}).get("lost", 0)
    return 0 if summary["errors"] == 0 and lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
