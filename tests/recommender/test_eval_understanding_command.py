"""`manage.py eval_understanding` runs the dev-set evaluation from the engine (no benchmark code)."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def test_eval_understanding_prints_the_dev_set_figures_on_the_sample_films(tmp_path):
    out = StringIO()
    # No ml-100k/ in the folder: the film conversations are grounded in the sample catalog's films.
    call_command(
        "eval_understanding", "--backend", "none", "--catalog", "ml-100k", "--data-dir", str(tmp_path), stdout=out
    )
    text = out.getvalue()
    assert "dev set (`tests/data/understanding_dev.jsonl`), films from ml-100k" in text
    assert "| intent accuracy |" in text and "| slot F1 |" in text
