"""Hostile load: one anonymous client trying to exhaust or multiply a running server's resources.

    python -m benchmarks.hostile ATTACK [--json-out FILE] [--before FILE] [--write-docs]    ATTACK: see ATTACKS, or `all`

The companion of `benchmarks/faults.py` (which breaks the services around the web process): each attack starts
one web process of its own (`bin/serve-multi --workers 1`, default limits unless the attack says otherwise)
on a fresh database holding the demo catalog plus 10,000 generated items, measures the process's resident
memory and CPU time before, during and after the attack, and counts what the client was answered.
`--before FILE` reads the same attack's JSON from a run against an earlier checkout (copy this file into it
and run it there with `--json-out`), so the docs table shows both. `--write-docs` rewrites the `hostile`
section of docs/reliability.md.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import websockets

from benchmarks.common import REPO, write_section
from benchmarks.servers import WebServers, cpu_seconds, rss_mib

RELIABILITY_MD = REPO / "docs" / "reliability.md"
RUNS_DIR = REPO / "var" / "hostile"
PORT = int(os.environ.get("CHATREC_BENCH_PORT", "8150"))
GENERATED_ITEMS = 10_000
BROKEN_FRAME = '{"type": "message", "text": "' + "x" * 12_000  # an unterminated 12 KB string
# The attack client stops a flood once the server passes this much memory (the code before the bounds grew
# by gigabytes; the machine is shared).
RSS_CEILING_MIB = 2000


# ---------------------------------------------------------------- a server of the attack's own


def environment(name: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
           and not k.startswith("CHATREC_")}
    folder = RUNS_DIR / name
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "data").mkdir(parents=True)
    env.update(CHATREC_VAR_DIR=str(folder / "var"), CHATREC_DATA_DIR=str(folder / "data"),
               CHATREC_LLM_BACKEND="none", CHATREC_SERVING_THREADS="1", DJANGO_SETTINGS_MODULE="chatrec_site.settings",
               PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def generated_catalog(path: Path, n: int = GENERATED_ITEMS) -> Path:
    """Write n made-up products with numeric and list attributes (a catalog of realistic size)."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["external_id", "title", "category", "color", "season", "price", "year"])
        for i in range(n):
            writer.writerow([f"g{i}", f"Generated product {i}", ["dress", "coat", "shoe", "bag"][i % 4],
                             ["red", "blue", "black"][i % 3], "spring|summer" if i % 2 else "winter",
                             10 + i % 190, 1990 + i % 35])
    return path


def prepare(env: dict[str, str]) -> None:
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo")
    folder = Path(env["CHATREC_VAR_DIR"]).parent
    manage(env, "import_catalog", str(generated_catalog(folder / "generated.csv")), "--source", "generated",
           "--no-progress")


def serve(env: dict[str, str], name: str) -> WebServers:
    web = WebServers(1, env, RUNS_DIR / name / "logs")
    web.port, web.base = PORT, f"http://127.0.0.1:{PORT}"
    return web


class Meter:
    """Samples one process's resident memory every `step` seconds while an attack runs."""

    def __init__(self, pid: int, step: float = 0.25):
        self.pid, self.step = pid, step
        self.samples: list[float] = []
        self.cpu_start = cpu_seconds(pid) or 0.0
        self.start = self.rss()
        self._task: asyncio.Task | None = None

    def rss(self) -> float:
        now = rss_mib(self.pid)
        return now["rss"] if now else 0.0

    async def _run(self) -> None:
        while True:
            self.samples.append(self.rss())
            await asyncio.sleep(self.step)

    def begin(self) -> None:
        self._task = asyncio.create_task(self._run())

    @property
    def over_ceiling(self) -> bool:
        return bool(self.samples) and self.samples[-1] > RSS_CEILING_MIB

    async def end(self, settle: float = 2.0) -> dict:
        if self._task is not None:
            self._task.cancel()
        await asyncio.sleep(settle)
        end = self.rss()
        peak = max([self.start, end, *self.samples])
        return {"rss_start_mib": self.start, "rss_peak_mib": peak, "rss_end_mib": end,
                "rss_growth_mib": round(peak - self.start, 1),
                "server_cpu_s": round((cpu_seconds(self.pid) or 0.0) - self.cpu_start, 2)}


async def guest_cookie(client: httpx.AsyncClient, base: str) -> str:
    response = await client.get(base + "/")
    return f"chatrec_guest={response.cookies['chatrec_guest']}"


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws/chat/"


# ---------------------------------------------------------------- the attacks


async def broken_frames(base: str, pid: int, seconds: float = 20.0) -> dict:
    """One guest sends 12 KB broken frames as fast as the connection takes them, reconnecting when closed."""
    answers: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    sent = connects = 0
    async with httpx.AsyncClient(timeout=10) as client:
        cookie = await guest_cookie(client, base)
    meter = Meter(pid)
    meter.begin()
    deadline = time.monotonic() + seconds

    async def read(ws) -> None:
        async for message in ws:
            frame = json.loads(message)
            answers[frame.get("code") or frame["type"]] += 1

    while time.monotonic() < deadline and not meter.over_ceiling:
        try:
            async with websockets.connect(ws_url(base), additional_headers={"Cookie": cookie, "Origin": base},
                                          max_size=2**22, open_timeout=10, ping_interval=None) as ws:
                connects += 1
                reader = asyncio.create_task(read(ws))
                try:
                    while time.monotonic() < deadline and not meter.over_ceiling:
                        await asyncio.wait_for(ws.send(BROKEN_FRAME), timeout=max(deadline - time.monotonic(), 0.01))
                        sent += 1
                finally:
                    reader.cancel()
        except websockets.ConnectionClosed as exc:
            closes[str(exc.rcvd.code if exc.rcvd else "no close frame")] += 1
        except TimeoutError:
            closes["open when the run ended"] += 1
        except (OSError, websockets.WebSocketException) as exc:
            closes[type(exc).__name__] += 1
            await asyncio.sleep(0.1)
    stopped_at_ceiling = meter.over_ceiling
    return {"seconds": seconds, "frames_sent": sent, "connects": connects, "answers": dict(answers),
            "closes": dict(closes), "stopped_at_memory_ceiling": stopped_at_ceiling, **await meter.end()}


async def invented_filters(base: str, pid: int, requests: int = 8, names: int = 500) -> dict:
    """Item searches with `names` never-seen attribute filters each (`new<r>_<j>_min=1`)."""
    statuses: Counter[int] = Counter()
    meter = Meter(pid)
    meter.begin()
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=120) as client:
        for r in range(requests):
            query = "&".join(f"new{r}_{j}_min=1" for j in range(names))
            statuses[(await client.get(f"{base}/api/v1/items?{query}")).status_code] += 1
            if meter.over_ceiling:
                break
    wall = time.monotonic() - began
    report = await meter.end()
    done = sum(statuses.values())
    return {"requests": done, "names_per_request": names, "statuses": dict(statuses),
            "server_cpu_ms_per_request": round(1000 * report["server_cpu_s"] / max(done, 1), 1),
            "wall_s": round(wall, 2), **report}


async def rotating_forwarded_for(base: str, pid: int, requests: int = 200) -> dict:
    """Anonymous item searches, each claiming a new client address in X-Forwarded-For."""
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(timeout=30) as client:
        for n in range(requests):
            forwarded = f"198.51.{n // 250}.{n % 250 + 1}"
            response = await client.get(f"{base}/api/v1/items?page_size=1", headers={"X-Forwarded-For": forwarded})
            statuses[response.status_code] += 1
    return {"requests": requests, "statuses": dict(statuses)}


async def guest_farm(base: str, pid: int, guests: int = 60) -> dict:
    """Fresh guest cookies from one address, each opening a chat socket and sending a ping."""
    outcomes: Counter[str] = Counter()
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(guests):
            cookie = await guest_cookie(client, base)
            client.cookies.clear()
            try:
                async with websockets.connect(ws_url(base), additional_headers={"Cookie": cookie, "Origin": base},
                                              open_timeout=10, ping_interval=None) as ws:
                    await ws.send('{"type": "ping"}')
                    outcomes[json.loads(await asyncio.wait_for(ws.recv(), 10))["type"]] += 1
            except websockets.ConnectionClosed as exc:
                outcomes[f"closed {exc.rcvd.code if exc.rcvd else '-'}"] += 1
    return {"guests": guests, "outcomes": dict(outcomes), "seconds": round(time.monotonic() - began, 1)}


def long_message_list() -> str:
    words = "I loved Toy Story and Star Wars but not horror, something from the 90s with comedy please".split()
    text = " ".join(words[i % len(words)] for i in range(400))[:2000]
    return json.dumps({"messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": text}
                                    for i in range(49)], "k": 10})


async def long_recommend_body(base: str, pid: int, requests: int = 5) -> dict:
    """POST /api/v1/recommend with 49 messages of 2,000 characters (about 100 KB)."""
    body = long_message_list()
    statuses: Counter[int] = Counter()
    async with httpx.AsyncClient(timeout=120) as client:
        await client.post(f"{base}/api/v1/recommend", content='{"messages": [{"role": "user", "content": "hi"}]}',
                          headers={"Content-Type": "application/json"})  # warm: the serving snapshot is built once
        meter = Meter(pid)
        began = time.monotonic()
        for _ in range(requests):
            response = await client.post(f"{base}/api/v1/recommend", content=body,
                                         headers={"Content-Type": "application/json"})
            statuses[response.status_code] += 1
    wall = time.monotonic() - began
    report = await meter.end(settle=0.0)
    return {"requests": requests, "body_bytes": len(body), "statuses": dict(statuses),
            "server_cpu_s_per_request": round(report["server_cpu_s"] / requests, 2),
            "wall_s_per_request": round(wall / requests, 2)}


# The limits a test may raise, and why: the invented-filters attack measures memory over many requests, so the
# anonymous request rate is lifted for it (under the default 60/min the rate stops it, not the bound).
ATTACKS: dict[str, tuple[Callable, dict[str, str], str]] = {
    "ws-broken-frames": (broken_frames, {}, "one guest sends 12 KB broken frames (an unterminated string) as "
                         "fast as the connection takes them for 20 s, reconnecting with the same cookie when closed"),
    "items-invented-filters": (invented_filters, {"CHATREC_API_ANON_RATE": "100000/min"},
                               "8 item searches with 500 never-seen `<name>_min=1` filters each (anonymous rate "
                               "lifted to 100000/min for the run)"),
    "forwarded-for-rotation": (rotating_forwarded_for, {}, "200 anonymous item searches, each with a new "
                               "`X-Forwarded-For` address (default limit 60/min, no trusted proxy)"),
    "guest-farm": (guest_farm, {}, "60 fresh guest cookies from one address, each opening a chat socket"),
    "recommend-100kb": (long_recommend_body, {}, "5 `POST /api/v1/recommend` with 49 messages of 2,000 "
                        "characters (about 100 KB each)"),
}


def run_attack(name: str) -> dict:
    attack, extra, description = ATTACKS[name]
    env = environment(name, **extra)
    prepare(env)
    with serve(env, name) as web:
        pid = next(iter(web.pids.values()))
        httpx.get(web.base + "/api/v1/items?page_size=1", timeout=30)  # warm: catalog and masks built
        result = asyncio.run(attack(web.base, pid))
    if name == "guest-farm":
        out = manage(env, "shell", "--no-imports", "-c", "from recommender.models import Profile; "
                     "print(Profile.objects.filter(kind='guest').count())")
        result["guest_profiles_created"] = int(out.strip().splitlines()[-1])
    return {"attack": name, "description": description, **result, "load_average_1m": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------- the docs table


def counts(mapping: dict) -> str:
    return ", ".join(f"{key} ×{value}" for key, value in sorted(mapping.items(), key=lambda kv: -kv[1])) or "none"


def observed(report: dict | None) -> str:
    """Return what one run showed, in words."""
    if report is None:
        return "not measured"
    name = report["attack"]
    if name == "ws-broken-frames":
        ceiling = "; stopped at the client's 2 GB ceiling" if report["stopped_at_memory_ceiling"] else ""
        return (f"{report['frames_sent']} frames sent over {report['connects']} connection(s); answers: "
                f"{counts(report['answers'])}; closes: {counts(report['closes'])}; RSS {report['rss_start_mib']:g} → "
                f"peak {report['rss_peak_mib']:g} MiB (+{report['rss_growth_mib']:g}), {report['rss_end_mib']:g} "
                f"after{ceiling}")
    if name == "items-invented-filters":
        return (f"{report['requests']} requests: {counts(report['statuses'])}; server CPU "
                f"{report['server_cpu_ms_per_request']:g} ms a request; RSS {report['rss_start_mib']:g} → peak "
                f"{report['rss_peak_mib']:g} MiB (+{report['rss_growth_mib']:g}), {report['rss_end_mib']:g} after")
    if name == "forwarded-for-rotation":
        return f"{report['requests']} requests: {counts(report['statuses'])}"
    if name == "guest-farm":
        return (f"{report['guests']} guests in {report['seconds']:g} s: {counts(report['outcomes'])}; "
                f"{report['guest_profiles_created']} guest profiles created")
    return (f"{report['requests']} requests of {report['body_bytes']} bytes: {counts(report['statuses'])}; "
            f"server CPU {report['server_cpu_s_per_request']:g} s, wall {report['wall_s_per_request']:g} s a request")


HEADER = "| attack | before the bounds | now | load avg (now) | command |"


def write_docs(reports: dict[str, dict], before: dict[str, dict]) -> None:
    """Rewrite the `hostile` section of docs/reliability.md, keeping rows of attacks not run this time."""
    text = RELIABILITY_MD.read_text(encoding="utf-8")
    begin, end = "<!-- BEGIN hostile -->", "<!-- END hostile -->"
    rows: dict[str, str] = {}
    if begin in text and end in text:
        for line in text.split(begin, 1)[1].split(end, 1)[0].splitlines():
            named = re.match(r"^\| `([^`]+)`", line)
            if named:
                rows[named.group(1)] = line
    for name, report in reports.items():
        rows[name] = (f"| `{name}`: {report['description']} | {observed(before.get(name))} | {observed(report)} "
                      f"| {report['load_average_1m']} | `python -m benchmarks.hostile {name}` |")
    body = "\n".join([
        "Each attack runs against one web process of its own (`bin/serve-multi --workers 1`, SQLite, in-memory "
        f"layers, no LLM) holding the demo catalog and {GENERATED_ITEMS:,} generated items, with the default "
        "limits unless the attack says otherwise; the client runs on the same 2-core machine, shared with other "
        "jobs. RSS is the web process's resident memory, sampled every 0.25 s. One item search warms the server "
        "before each attack (it counts toward the anonymous limit). *Before* is the same attack against the code "
        "before these bounds (that checkout with this file copied in, run with `--json-out FILE`; this table "
        f"with `--before FILE --write-docs`). Measured {time.strftime('%Y-%m-%d')}, x86_64, 2 cores.",
        "",
        HEADER,
        "|---" * (HEADER.count("|") - 1) + "|",
        *[rows[name] for name in ATTACKS if name in rows],
    ])
    write_section("hostile", body, RELIABILITY_MD)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("attack", choices=[*ATTACKS, "all"])
    parser.add_argument("--json-out", type=Path, help="write the reports as JSON (name -> report)")
    parser.add_argument("--before", type=Path, help="JSON of the same attacks against an earlier checkout")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the hostile section of docs/reliability.md")
    args = parser.parse_args(argv)
    names = list(ATTACKS) if args.attack == "all" else [args.attack]
    reports = {}
    for name in names:
        reports[name] = run_attack(name)
        print(json.dumps(reports[name], indent=2), flush=True)
    if args.json_out:
        args.json_out.write_text(json.dumps(reports, indent=2))
    if args.write_docs:
        before = json.loads(args.before.read_text()) if args.before else {}
        write_docs(reports, before)
        print(f"wrote {RELIABILITY_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
