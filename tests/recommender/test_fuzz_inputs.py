"""Property-based fuzzing (hypothesis, a bounded number of examples): the untrusted-JSON decoder and the
catalog/interaction importers take anything and either accept it or refuse it with their own error type."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.safejson import MAX_DEPTH, UnsafeJSON, loads_untrusted
from recommender.models import Item
from recommender.services.importers import ImportFileError, RowError, import_catalog, parse_event_row, parse_item_row

EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=30)
# Text with lone surrogates too: a JSON file can carry them as "\ud800" escapes.
odd_text = st.text(alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=20)
anything = st.one_of(scalars, st.floats(), odd_text,
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3))


def depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@EXAMPLES
@given(json_values)
def test_well_formed_json_round_trips(value):
    if depth(value) > MAX_DEPTH:
        return
    assert loads_untrusted(json.dumps(value)) == value


@EXAMPLES
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200),
                 st.text(alphabet="[]{}\":,0123456789eE.-+ \\ud800nulltrueNaN", max_size=200)))
def test_any_text_is_decoded_or_refused_with_one_error_type(text):
    try:
        value = loads_untrusted(text)
    except UnsafeJSON as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    json.dumps(value).encode("utf-8")  # whatever is accepted is serialisable and valid Unicode
    assert all(math.isfinite(v) for v in _floats(value))


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)


ITEM_KEYS = st.sampled_from(["external_id", "title", "source", "domain", "description", "image_url", "aliases",
                             "attributes", "year", "genres", "price"])
EVENT_KEYS = st.sampled_from(["user", "item", "event", "value", "timestamp", "source", "key"])


@EXAMPLES
@given(st.dictionaries(ITEM_KEYS, anything, max_size=8))
def test_item_rows_are_parsed_or_refused_with_row_errors(row):
    try:
        fields = parse_item_row(row, default_source="fuzz", default_domain="product")
    except RowError:
        return
    assert fields["external_id"] and fields["title"]
    json.dumps(fields["attributes"], allow_nan=False)


@EXAMPLES
@given(st.dictionaries(EVENT_KEYS, anything, max_size=7))
def test_event_rows_are_parsed_or_refused_with_row_errors(row):
    try:
        fields = parse_event_row(row, default_source="fuzz")
    except RowError:
        return
    assert fields["value"] is None or math.isfinite(fields["value"])


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({"external_id": odd_text, "title": odd_text},
                                      optional={"attributes": json_values, "aliases": anything, "year": anything}),
                min_size=1, max_size=6),
       st.booleans())
def test_catalog_files_import_without_crashing(tmp_path_factory, rows, deep_line):
    path = tmp_path_factory.mktemp("fuzz") / "items.jsonl"
    lines = [json.dumps(row) for row in rows]
    if deep_line:
        lines.append('{"external_id": "deep", "title": "Deep", "attributes": ' + "[" * 5000 + "]" * 5000 + "}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    try:
        report = import_catalog(path, source="fuzz")
    except ImportFileError:
        return
    assert report.rows == len(rows) + deep_line
    for item in Item.objects.filter(source="fuzz"):
        item.title.encode("utf-8")
        json.dumps(item.attributes, allow_nan=False)
