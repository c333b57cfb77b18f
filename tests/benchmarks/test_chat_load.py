"""The load test's figures and its docs section (no server needed)."""
from __future__ import annotations

from argparse import Namespace

from benchmarks import chat_load as loadtest


def test_percentile_is_nearest_rank_in_milliseconds():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert loadtest.percentile(values, 50) == 50
    assert loadtest.percentile(values, 95) == 95
    assert loadtest.percentile([], 95) is None


def test_summary_counts_errors_and_only_times_successful_turns():
    results = loadtest.Results(turns=[
        loadtest.TurnTiming(first_token=0.01, items=0.02, total=0.05),
        loadtest.TurnTiming(first_token=0.03, items=None, total=0.04),
        loadtest.TurnTiming(error="busy"),
    ], connect_errors=["websocket: refused"], wall=2.0)
    summary = loadtest.summarize(results)
    assert summary["errors"] == 2 and summary["turns_with_items"] == 1
    assert summary["time_to_items_ms"]["p95"] == 20
    assert summary["time_to_first_token_ms"]["p50"] == 10
    assert summary["error_kinds"] == ["busy", "websocket: refused"]


def test_docs_section_keeps_other_sections_and_other_runs(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text("# Benchmarks\n\n<!-- BEGIN engine -->\nengine figures\n<!-- END engine -->\n")
    args = Namespace(conversations=50, turns=10, think=2.0, ramp=2.0)
    summary = {"time_to_items_ms": {"p50": 10, "p95": 100}, "time_to_first_token_ms": {"p50": 5, "p95": 50},
               "turn_ms": {"p50": 20, "p95": 200}, "errors": 0, "turns_per_second": 9.5, "load_average_1m": 1.0}
    loadtest.write_docs(path, "realistic", loadtest.result_row("realistic", summary, args), "")
    loadtest.write_docs(path, "saturation", loadtest.result_row("saturation", dict(summary, errors=3), args), "")
    summary["time_to_items_ms"] = {"p50": 11, "p95": 111}
    loadtest.write_docs(path, "realistic", loadtest.result_row("realistic", summary, args), "")
    text = path.read_text()
    assert "engine figures" in text and text.count("<!-- BEGIN chat -->") == 1
    rows = [line for line in text.splitlines() if line.startswith("| realistic") or line.startswith("| saturation")]
    assert len(rows) == 2
    assert "| 111 |" in rows[0] or "| 111 |" in rows[1]
    assert all("| 100 |" not in row for row in rows if row.startswith("| realistic"))


def test_cpu_seconds_reads_this_process_and_grows_with_work():
    import os

    from benchmarks.servers import cpu_seconds

    before = cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))
    after = cpu_seconds(os.getpid())
    assert before is not None and after is not None and after > before
    assert cpu_seconds(2**22 + 12345) is None  # no such process


def test_sustained_row_shows_memory_growth_over_the_second_half_and_cpu_per_turn():
    samples = [(15.0, 700.0), (30.0, 720.0), (45.0, 730.0), (60.0, 731.0), (75.0, 734.0)]
    assert loadtest.half_growth(samples) == 4.0
    assert loadtest.half_growth(samples[:3]) is None  # too few samples to say
    summary = {"processes": 2, "stack": "PostgreSQL, Redis", "conversations": 200, "duration_s": 300, "turns": 5000,
               "errors": 0, "time_to_items_ms": {"p50": 50, "p95": 200, "p99": 400},
               "time_to_first_token_ms": {"p50": 40, "p95": 150, "p99": 300}, "feedback_acked": 10,
               "load_average_start": 1.0, "load_average_1m": 2.0, "cpu_ms_per_turn": {"servers": 12.3, "load_generator": 2.1},
               "turns_per_second_cpu_bound": 138.9,
               "rss_mib": [{"start": {"rss": 700.0}, "end": {"rss": 734.0, "peak": 740.0}, "second_half_growth": 4.0}]}
    row = loadtest.sustained_row("pg", summary)
    assert "700 → 734 (740; +4)" in row and "| 12.3 / 2.1 |" in row
    assert row.count("|") == loadtest.SUSTAINED_HEADER.count("|")
    assert "at most 138.9 turns/s" in loadtest.notes(summary)
