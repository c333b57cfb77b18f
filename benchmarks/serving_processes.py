"""Several web processes on one address: `bin/serve-multi` (Daphne) against gunicorn with uvicorn workers.

For each layout it starts N workers on a free port (the same Django ASGI application and environment), then
1. throughput: C client threads, each on a kept-alive connection, call GET /livez (the whole ASGI and Django
   path with no database work) for S seconds; requests per second and the p50/p95 latency;
2. a hung worker: one worker is stopped (SIGSTOP: it holds its accepted connections and answers nothing)
   while clients go on with a fresh connection per request (2 s timeout each); the seconds until the stopped
   worker is killed, and the requests that failed meanwhile.

serve-multi runs with `--hang-timeout T` and gunicorn with `--timeout T` (its heartbeat limit), so both have
the same allowance. gunicorn, uvicorn and uvicorn-worker are not project requirements: put them on
PYTHONPATH (`pip install --target DIR gunicorn uvicorn uvicorn-worker httptools uvloop`) or the gunicorn
layout is skipped. More than one worker needs REDIS_URL (both layouts get the same one).

    REDIS_URL=redis://127.0.0.1:6379/14 PYTHONPATH=/tmp/gu-libs python -m benchmarks.serving_processes --write-docs
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.common import REPO, percentile
from benchmarks.servers import free_port

RELIABILITY_MD = REPO / "docs" / "reliability.md"


def children(pid: int) -> list[int]:
    """Return the child pids of a process (from /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Return whether pid is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def command(layout: str, port: int, workers: int, timeout: float) -> list[str]:
    if layout == "serve-multi":
        return [sys.executable, "-m", "chatrec_site.servemulti", "--workers", str(workers), "--port", str(port),
                "--hang-timeout", str(timeout), "--grace", "5"]
    return [sys.executable, "-m", "gunicorn", "chatrec_site.asgi:application", "-k",
            "uvicorn_worker.UvicornWorker", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--timeout", str(int(timeout)), "--graceful-timeout", "5"]


def throughput(base: str, clients: int, seconds: float) -> dict:
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def run():
        local: list[float] = []
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < end:
                started = time.perf_counter()
                try:
                    client.get(base + "/livez").raise_for_status()
                    local.append(time.perf_counter() - started)
                except httpx.HTTPError:
                    with lock:
                        errors[0] += 1
        with lock:
            times.extend(local)

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"rps": len(times) / seconds, "p50_ms": (percentile(times, 50) or 0) * 1000,
            "p95_ms": (percentile(times, 95) or 0) * 1000, "errors": errors[0]}


def hang(base: str, pid: int, clients: int, window: float) -> dict:
    """Stop one worker; return seconds until it is gone and the requests that failed meanwhile."""
    failures: list[float] = []
    ok = [0]
    lock = threading.Lock()
    stopped = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    gone: list[float] = []
    end = stopped + window

    def watch():
        while time.monotonic() < end and alive(pid):
            time.sleep(0.05)
        if not alive(pid):
            gone.append(time.monotonic() - stopped)

    def run():
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                httpx.get(base + "/livez", timeout=2).raise_for_status()
                with lock:
                    ok[0] += 1
            except httpx.HTTPError:
                with lock:
                    failures.append(started - stopped)

    threads = [threading.Thread(target=watch)] + [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"killed_after_s": gone[0] if gone else None, "failed": len(failures), "ok": ok[0],
            "last_failure_s": max(failures) if failures else None}


def measure(layout: str, workers: int, clients: int, seconds: float, timeout: float, env: dict) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(command(layout, port, workers, timeout), cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True).start()
    try:
        deadline = time.monotonic() + 120
        pids: set[int] = set()
        while time.monotonic() < deadline and len(pids) < workers:
            try:
                pids.add(httpx.get(base + "/livez", timeout=2).json()["pid"])
            except httpx.HTTPError:
                time.sleep(0.5)
        if len(pids) < workers:
            raise RuntimeError(f"{layout} did not come up:\n" + "".join(lines[-30:]))
        time.sleep(2)
        result = {"throughput": throughput(base, clients, seconds)}
        victim = sorted(children(proc.pid))[0]
        result["hang"] = hang(base, victim, clients, window=timeout * 3)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def report(results: dict, args) -> str:
    lines = [
        "## Several processes: serve-multi against gunicorn + uvicorn workers",
        "",
        f"`python -m benchmarks.serving_processes --workers {args.workers} --clients {args.clients} --seconds "
        f"{args.seconds:g} --timeout {args.timeout:g}` on {platform.machine()} with {os.cpu_count()} cores "
        "(shared with other work), Redis channel layer. Throughput: kept-alive clients calling `GET /livez`. "
        "Hung worker: one worker SIGSTOPped while clients open a fresh connection per request (2 s timeout); "
        f"serve-multi `--hang-timeout {args.timeout:g}`, gunicorn `--timeout {args.timeout:g}`.",
        "",
        "| layout | requests/s | p50 / p95 ms | hung worker killed after | requests failed meanwhile |",
        "|---|---|---|---|---|",
    ]
    for layout, r in results.items():
        t, h = r["throughput"], r["hang"]
        killed = f"{h['killed_after_s']:.1f} s" if h["killed_after_s"] is not None else "not killed"
        lines.append(f"| {layout} | {t['rps']:.0f} | {t['p50_ms']:.1f} / {t['p95_ms']:.1f} | {killed} | "
                     f"{h['failed']} of {h['failed'] + h['ok']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="hang allowance for both layouts")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the section in docs/reliability.md")
    args = parser.parse_args(argv)
    env = {**os.environ, "CHATREC_LLM_BACKEND": "none", "CHATREC_VAR_DIR": tempfile.mkdtemp(prefix="chatrec-sp-")}
    layouts = ["serve-multi"]
    if importlib.util.find_spec("gunicorn") and importlib.util.find_spec("uvicorn_worker"):
        layouts.append("gunicorn + uvicorn-worker")
    else:
        print("gunicorn / uvicorn-worker not importable: measuring serve-multi only", file=sys.stderr)
    results = {}
    for layout in layouts:
        results[layout] = measure(layout, args.workers, args.clients, args.seconds, args.timeout, env)
        print(layout, results[layout], flush=True)
    text = report(results, args)
    print(text)
    if args.write_docs:
        begin, end = "<!-- BEGIN serving_processes -->", "<!-- END serving_processes -->"
        doc = RELIABILITY_MD.read_text(encoding="utf-8")
        block = f"{begin}\n{text}{end}"
        doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, doc, flags=re.S) \
            if begin in doc else doc.rstrip() + "\n\n" + block + "\n"
        RELIABILITY_MD.write_text(doc, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
