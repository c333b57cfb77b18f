"""LLM backend speed: load time and generation throughput of the configured backend.

    python -m benchmarks.llm [--backend llamacpp] [--model-path PATH] [--runs 3] [--write-docs]

Load time is measured in a fresh process (what a server start pays after the first run has assembled the
model); throughput is generated tokens per second over a fixed prompt, best and median of the runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from benchmarks.common import write_section

PROMPT = (
    "Translate the shopping request into English keywords.\n"
    "Request: 我想找一些适合夏天穿的连衣裙\nKeywords: summer, dress\n"
    "Request: 适合冬天的羊毛围巾\nKeywords:"
)
LOAD_SNIPPET = (
    "import json, sys, time; t = time.perf_counter();"
    "from recommender.engine.llm import get_backend;"
    "b = get_backend(json.loads(sys.argv[1])); b.load() if hasattr(b, 'load') else None;"
    "print(json.dumps({'load_s': time.perf_counter() - t}))"
)


def measure_load(config: dict) -> float:
    """Return seconds to import and load the backend in a fresh process."""
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET, json.dumps(config)], capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])["load_s"]


def measure_throughput(config: dict, runs: int, max_tokens: int) -> list[dict]:
    """Return per run: new tokens, prompt time (to first chunk) and decode tokens/s after the first chunk."""
    from recommender.engine.llm import get_backend

    backend = get_backend(config)
    if hasattr(backend, "load"):
        backend.load()
    results = []
    for _ in range(runs + 1):  # the first run warms caches and is not counted
        started = time.perf_counter()
        first = None
        chunks = []
        for chunk in backend.generate(PROMPT, max_tokens=max_tokens, temperature=0.0, stop=[]):
            if first is None:
                first = time.perf_counter()
            chunks.append(chunk)
        ended = time.perf_counter()
        text = "".join(chunks)
        tokens = backend.count_tokens(text) if hasattr(backend, "count_tokens") else max(1, len(text) // 4)
        decode_s = ended - (first or ended)
        results.append({
            "tokens": tokens,
            "first_chunk_s": (first or ended) - started,
            "decode_tokens_per_s": (tokens - 1) / decode_s if decode_s > 0 and tokens > 1 else 0.0,
            "overall_tokens_per_s": tokens / (ended - started),
        })
    return results[1:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="llamacpp")
    parser.add_argument("--model-path", default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    config = {"backend": args.backend, "model_path": args.model_path, "n_threads": 2}
    measure_load(config)  # the first run may assemble the packaged model; not counted
    loads = [measure_load(config) for _ in range(2)]
    runs = measure_throughput(config, args.runs, args.max_tokens)
    rates = [r["decode_tokens_per_s"] for r in runs]
    first = [r["first_chunk_s"] for r in runs]
    result = {"backend": args.backend, "load_s": loads, "runs": runs}
    print(json.dumps(result))
    if args.write_docs:
        write_section("llm", "\n".join([
            "## LLM backend speed",
            "",
            f"`python -m benchmarks.llm --backend {args.backend} --write-docs` — load time in a fresh",
            "process after the first run, and generation speed (up to 64 new tokens, greedy, 2 threads): decode",
            "tokens/s after the first chunk, and the time to the first chunk (prompt processing).",
            "",
            "| backend | load (s), runs | decode tokens/s median | best | first chunk (s) median | target |",
            "|---|---|---|---|---|---|",
            f"| {args.backend} | {', '.join(f'{x:.2f}' for x in loads)} | {statistics.median(rates):.1f} | "
            f"{max(rates):.1f} | {statistics.median(first):.2f} | load < 10 s, ≥ 30 tokens/s |",
        ]))


if __name__ == "__main__":
    main()
