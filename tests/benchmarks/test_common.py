"""What the benchmarks share: the data-folder rule, the docs section writer, the understanding catalogs."""
from __future__ import annotations

from pathlib import Path

from benchmarks import understanding
from benchmarks.common import REPO, data_root, write_section

from .test_gpu import write_ml100k


def test_data_root_prefers_the_argument_then_the_environment_then_shared_data(monkeypatch, tmp_path):
    monkeypatch.delenv("CHATREC_DATA_DIR", raising=False)
    assert data_root() == REPO.parent / "shared" / "data"
    monkeypatch.setenv("CHATREC_DATA_DIR", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("/elsewhere") == Path("/elsewhere")


def test_write_section_replaces_only_its_own_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    write_section("engine", "first engine text", docs)
    write_section("chat", "chat text\n", docs)
    write_section("engine", "second engine text", docs)
    text = docs.read_text(encoding="utf-8")
    assert text.count("<!-- BEGIN engine -->") == 1 and "first engine text" not in text
    assert "<!-- BEGIN engine -->\nsecond engine text\n<!-- END engine -->" in text
    assert "<!-- BEGIN chat -->\nchat text\n<!-- END chat -->" in text
    assert text.index("BEGIN engine") < text.index("BEGIN chat")  # a rewrite keeps the section's place


def test_understanding_catalogs_read_ml100k_or_fall_back_to_the_sample(tmp_path):
    write_ml100k(tmp_path / "ml-100k")
    (tmp_path / "ml-100k" / "u.genre").write_text(
        "".join(f"G{k}|{k}\n" for k in range(19)), encoding="latin-1")
    catalogs, source = understanding.build_catalogs(tmp_path)  # the folder that holds ml-100k/
    assert source == "MovieLens 100K u.item (60 films)"
    assert set(catalogs) == {"movies", "products", "all"}
    items, counts = understanding.load_ml100k_movies(tmp_path / "ml-100k")
    assert items[0].item_id == "ml-1" and items[0].attributes["year"] == 1961
    assert sum(counts.values()) == len((tmp_path / "ml-100k" / "u.data").read_text().splitlines())
    _, fallback = understanding.movie_catalog(tmp_path / "missing")
    assert fallback.startswith("sample catalog films (")


def test_percentile_is_the_nearest_observed_rank():
    from benchmarks.common import percentile

    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0 and percentile(values, 95) == 19.0
    assert percentile(values, 100) == 20.0 and percentile(values, 0) == 1.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0  # order does not matter
    assert percentile([7.5], 95) == 7.5 and percentile([], 50) is None
    # numpy's default interpolates (19.05 here): a value no request took
    assert percentile(values, 95) in values


def test_every_benchmark_takes_percentiles_from_the_one_definition():
    import re

    own = re.compile(r"np\.(percentile|quantile)|statistics\.quantiles|\* 0\.9[59]\)\]|len\(\w+\) // 2\]")
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ("p50" in line or "p95" in line or "p99" in line or "percentile" in line or "quantile" in line):
                assert not own.search(line), f"{path.name}:{number} computes its own percentile: {line.strip()}"
    from recommender.engine.understanding import evaluate

    assert not hasattr(evaluate, "_pct")


def test_without_damping_serves_words_with_no_hubness_taken_off():
    from types import SimpleNamespace

    import numpy as np

    from benchmarks.common import without_damping
    from recommender.engine.embedding import HashingEmbedder
    from recommender.engine.rankers import make_ranker

    content = make_ranker("content", embedder_obj=HashingEmbedder(dim=64), damping="auto")
    content.hubness = np.ones(3, dtype=np.float32)
    other = SimpleNamespace(name="popularity")
    bundle = SimpleNamespace(hybrid=SimpleNamespace(components={"content": content, "popularity": other}))
    without_damping(bundle)
    assert content.hubness is None and not hasattr(other, "hubness")
