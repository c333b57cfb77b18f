"""Fuzz the served REST API with schemathesis: every operation in /api/schema/, with inputs generated from
the schema (valid ones and ones that break it), against a real Daphne server.

It counts answers by status, server errors (5xx), error bodies outside the documented shape
({"error": {"code", "message"}}) and response times, prints them, and with --write-docs rewrites the marked
section of docs/reliability.md.

    .venv/bin/python -m benchmarks.fuzz_api --serve --examples 200 --write-docs   # own server, sample catalog
    .venv/bin/python -m benchmarks.fuzz_api --url http://127.0.0.1:8000            # a running server
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import percentile

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- BEGIN fuzz_api -->", "<!-- END fuzz_api -->"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(token_user: str = "fuzzer"):
    """Start Daphne on a fresh database holding the sample catalog; yield (base URL, API token)."""
    with tempfile.TemporaryDirectory(prefix="chatrec-fuzz-") as var:
        env = dict(os.environ, CHATREC_VAR_DIR=var, CHATREC_LLM_BACKEND="none", DEBUG="false",
                   CHATREC_API_ANON_RATE="1000000/min", CHATREC_API_USER_RATE="1000000/min",
                   CHATREC_ARTIFACTS_DIR=str(Path(var) / "models"))
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        python = sys.executable

        def manage(*args: str) -> str:
            return subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env, check=True,
                                  capture_output=True, text=True).stdout

        manage("migrate", "--noinput", "-v0")
        manage("load_demo", "--sample-only", "--no-progress")
        manage("shell", "-c", f"from django.contrib.auth import get_user_model; "
                              f"get_user_model().objects.create_user({token_user!r})")
        token = manage("drf_create_token", token_user).strip().split()[2]
        port = free_port()
        log = open(Path(var) / "daphne.log", "w")
        server = subprocess.Popen([python, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                   "chatrec_site.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    time.sleep(0.3)
            yield base, token
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()


def fuzz_operation(operation, mode, stats: dict, failures: list[str], base: str, headers: dict, examples: int) -> None:
    """Send one operation's generated cases (valid or invalid inputs) and count what came back."""
    from hypothesis import HealthCheck, Phase, given, settings

    label = operation.label

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        started = time.perf_counter()
        response = case.call(base_url=base, headers=headers, timeout=30)
        stats["times"].append(time.perf_counter() - started)
        stats["requests"] += 1
        stats["statuses"][response.status_code] += 1
        if response.status_code >= 500:
            stats["server_errors"] += 1
            failures.append(f"{label}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400 and not error_shape_ok(response):
            stats["bad_error_shape"] += 1
            failures.append(f"{label}: {response.status_code} body {response.text[:200]}")

    run()


def error_shape_ok(response) -> bool:
    """Return whether a non-2xx answer has exactly the documented error body."""
    try:
        body = response.json()
    except ValueError:
        return False
    return (isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"], dict)
            and set(body["error"]) == {"code", "message"}
            and all(isinstance(body["error"][k], str) and body["error"][k] for k in ("code", "message")))


def fuzz(base: str, token: str | None, examples: int) -> dict:
    """Run every operation `examples` times per generation mode; return the figures."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_url(f"{base}/api/schema/")
    headers = {"Authorization": f"Token {token}"} if token else {}
    per_op: dict[str, dict] = defaultdict(lambda: {"requests": 0, "statuses": Counter(), "server_errors": 0,
                                                   "bad_error_shape": 0, "times": []})
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"schema: an operation could not be read: {result.err()}")
            continue
        operation = result.ok()
        if not operation.path.startswith("/api/v1/"):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(operation, mode, per_op[operation.label], failures, base, headers, examples)
    figures = {}
    for label, stats in sorted(per_op.items()):
        times = sorted(stats["times"]) or [0.0]
        figures[label] = {
            "requests": stats["requests"], "server_errors": stats["server_errors"],
            "bad_error_shape": stats["bad_error_shape"],
            "statuses": dict(sorted(stats["statuses"].items())),
            "p50_ms": round((percentile(times, 50) or 0.0) * 1000, 1),
            "p99_ms": round((percentile(times, 99) or 0.0) * 1000, 1),
        }
    return {"operations": figures, "failures": failures[:20]}


def docs_section(result: dict, args) -> str:
    """Return the markdown written between the markers."""
    lines = [BEGIN, "",
             f"`.venv/bin/python -m benchmarks.fuzz_api --serve --examples {args.examples} --write-docs` "
             f"({time.strftime('%Y-%m-%d')}, schemathesis, {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores; the sample catalog, no LLM; each operation gets up to {args.examples} "
             "schema-valid and up to as many schema-breaking inputs):", "",
             "| operation | requests | 5xx | error bodies off the shape | statuses | p50 ms | p99 ms |",
             "|---|---|---|---|---|---|---|"]
    for label, f in result["operations"].items():
        statuses = ", ".join(f"{code}×{count}" for code, count in f["statuses"].items())
        lines.append(f"| `{label}` | {f['requests']} | {f['server_errors']} | {f['bad_error_shape']} | {statuses} "
                     f"| {f['p50_ms']} | {f['p99_ms']} |")
    if result["failures"]:
        lines += ["", "First failures:", ""] + [f"- `{line}`" for line in result["failures"]]
    lines += ["", END]
    return "\n".join(lines)


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace the marked section of the reliability page (or append it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Reliability\n"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="base URL of a running server (default: start one with --serve)")
    parser.add_argument("--serve", action="store_true", help="start Daphne on a fresh database with the sample catalog")
    parser.add_argument("--token", help="API token for --url (feedback needs one)")
    parser.add_argument("--examples", type=int, default=100, help="examples per operation and generation mode")
    parser.add_argument("--write-docs", action="store_true", help=f"rewrite the fuzz section of {DOCS.name}")
    args = parser.parse_args(argv)
    if not args.url and not args.serve:
        parser.error("give --url of a running server, or --serve")
    started = time.perf_counter()
    if args.serve:
        with served() as (base, token):
            result = fuzz(base, token, args.examples)
    else:
        result = fuzz(args.url.rstrip("/"), args.token, args.examples)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    if args.write_docs:
        write_docs(docs_section(result, args))
    bad = sum(f["server_errors"] + f["bad_error_shape"] for f in result["operations"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
