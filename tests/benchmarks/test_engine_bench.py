"""The repeated-seed comparison of the engine benchmark, on small synthetic data."""
from __future__ import annotations

from benchmarks.engine import render_markdown, seeds_section

from .conftest import make_data


def test_seeds_section_compares_hybrid_and_ease_per_seed_and_renders(embedder):
    data = make_data()
    logged: list[str] = []
    section = seeds_section(data, "a", [0, 1], embedder, logged.append)
    assert [row["seed"] for row in section["per_seed"]] == [0, 1]
    for row in section["per_seed"]:
        for name in ("EASE", "EASE (λ=300)", "ours: hybrid"):
            assert 0.0 <= row[name]["P@5"] <= 1.0 and 0.0 <= row[name]["NDCG@5"] <= 1.0
    hybrid = section["summary"]["ours: hybrid"]["P@5"]
    values = [row["ours: hybrid"]["P@5"] for row in section["per_seed"]]
    assert abs(hybrid["mean"] - sum(values) / 2) < 1e-12
    assert 0 <= section["hybrid_wins"]["P@5"] <= 2 and len(logged) == 2

    result = {"finished_at": "now", "machine": "test", "json": "x.json", "topk": {}, "seeds": {"a": section}}
    text = render_markdown(result, "python -m benchmarks.engine")
    assert "### Protocol (a) over test seeds 0, 1" in text
    assert "| mean ± std |" in text
    assert f"P@5 in {section['hybrid_wins']['P@5']} of 2 seeds" in text
