"""The hostile-load benchmark's table: one row per attack, before and now, other rows kept."""
from __future__ import annotations

from benchmarks import hostile


def flood(frames: int, growth: float) -> dict:
    return {"attack": "ws-broken-frames", "description": "a flood", "seconds": 20.0, "frames_sent": frames,
            "connects": 3, "answers": {"bad_json": 60, "rate_limited": 5}, "closes": {"4400": 3},
            "stopped_at_memory_ceiling": False, "rss_start_mib": 150.0, "rss_peak_mib": 150.0 + growth,
            "rss_end_mib": 151.0, "rss_growth_mib": growth, "server_cpu_s": 1.0, "load_average_1m": 2.5}


def test_rows_show_before_and_now_and_keep_the_other_attacks(tmp_path, monkeypatch):
    docs = tmp_path / "reliability.md"
    docs.write_text("# Reliability\n\n<!-- BEGIN hostile -->\n| attack | x |\n|---|---|\n"
                    "| `guest-farm`: old | kept |\n<!-- END hostile -->\n", encoding="utf-8")
    monkeypatch.setattr(hostile, "RELIABILITY_MD", docs)
    hostile.write_docs({"ws-broken-frames": flood(400, 3.5)}, {"ws-broken-frames": flood(48000, 694.0)})
    text = docs.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split(" | ")[0] for row in rows] == ["| `ws-broken-frames`: a flood", "| `guest-farm`: old"]
    flood_row = rows[0]
    assert "48000 frames sent" in flood_row and "(+694)" in flood_row  # before
    assert "400 frames sent" in flood_row and "(+3.5)" in flood_row and "bad_json ×60, rate_limited ×5" in flood_row
    assert "`python -m benchmarks.hostile ws-broken-frames`" in flood_row


def test_an_attack_not_measured_before_says_so():
    assert hostile.observed(None) == "not measured"
