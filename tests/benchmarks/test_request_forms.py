"""The request-forms benchmark: its catalogs without a data folder and its table."""

from __future__ import annotations

from benchmarks.request_forms import catalogs, markdown


def test_without_a_data_folder_the_sample_and_its_bare_products_are_measured(tmp_path):
    found = dict(catalogs(tmp_path))
    assert list(found) == ["sample catalog", "sample products, title and attributes only"]
    bare = found["sample products, title and attributes only"]
    assert bare and all(r.domain == "product" and not r.description and not r.aliases for r in bare)
    assert len(found["sample catalog"]) > len(bare)


def test_the_table_shows_both_recalls_and_a_dash_where_too_few_values_were_measured():
    text = markdown([
        {"catalog": "films", "domain": "movie", "form": "described", "values": 40, "whole_r10": 0.04,
         "described_r10": 0.05, "damped_r10": 0.08, "damped": True, "seconds": 1.0},
        {"catalog": "films", "domain": "book", "form": "whole", "values": 3, "seconds": 1.0},
    ], "python -m benchmarks.request_forms")
    assert "| films | movie | 40 | 0.040 | 0.050 | described | 0.080 | yes |" in text
    assert "| films | book | 3 | – | – | whole | – | no |" in text
