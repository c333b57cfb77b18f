"""The first-reply benchmark reads the web process's own "ready" line."""
import logging

from benchmarks.first_reply import warm_up_seconds
from chatrec_site import warmup


def test_the_ready_line_the_warm_up_logs_is_the_one_the_benchmark_reads(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(warmup, "warm", lambda: 12.34)
    with caplog.at_level(logging.INFO, logger="chatrec_site.warmup"):
        warmup.start().join(timeout=10)
    log = tmp_path / "daphne.log"
    log.write_text("INFO daphne.server: Listening\n" + "".join(f"INFO {r.name}: {r.getMessage()}\n"
                                                              for r in caplog.records))
    assert warm_up_seconds(log) == 12.3
    log.write_text("INFO daphne.server: Listening\n")
    assert warm_up_seconds(log) is None
