"""Importing catalogs and interaction logs (generic CSV / JSON Lines, and MovieLens).

Rules every importer follows:
- re-running an import creates no duplicates (items upsert on (source, external_id); events carry an
  idempotency key);
- a malformed row is reported with its line number and reason and skipped, unless strict mode asks for
  all-or-nothing; rows already stored are never touched by a failed row;
- every cell is checked before anything is written (JSON through the untrusted-input decoder, finite numbers,
  no lone surrogates or NUL characters, timestamps within TIMESTAMP_RANGE), so a bad row is a line-numbered
  error, never a traceback; a row the database still refuses is reported with its line too;
- strict mode writes the whole file in one transaction: any rejected row, or a failure while writing, leaves
  the database as it was;
- each batch of events is stored with the profiles it creates in one transaction, so an import that dies
  part-way leaves no profile without its events;
- an unreadable or wrong-format file raises ImportFileError with one clear message.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from common.safejson import MAX_DEPTH, MAX_INT, UnsafeJSON, loads_untrusted
from recommender.engine import titles
from recommender.models import Interaction, Item, Profile

BATCH_SIZE = 5000
MAX_ERRORS_KEPT = 1000
ITEM_FIELDS = {"external_id", "source", "domain", "title", "description", "aliases", "image_url", "attributes"}
LIST_SEPARATOR = "|"
YEAR_IN_TITLE = titles.YEAR_OR_RUN_AT_END
RATED_KINDS = {Interaction.Kind.RATING}
# Event times accepted, as epoch seconds (1970-01-01 to 2096-10-02): within every database's range, with room
# for any time zone offset.
TIMESTAMP_RANGE = (0.0, 4e9)
# A CSV cell of digits longer than this stays text (Python refuses int() past 4,300 digits; no id needs 19).
MAX_INT_DIGITS = 18
# CSV columns whose quoted cells may hold line breaks; a line break in any other cell means a broken quote.
MULTILINE_FIELDS = {"description"}
EVENT_ALIASES = {"favorite": "favourite", "rate": "rating", "buy": "purchase", "order": "purchase", "watch": "view"}



class ImportFileError(Exception):
    """The file as a whole cannot be imported (missing, unreadable, wrong format)."""


class RowError(ValueError):
    """One row is malformed; the message says why."""


@dataclass
class ImportReport:
    """What an import did: counts and the rows it rejected (line number and reason)."""

    label: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    notes: list[str] = field(default_factory=list)

    def add_error(self, line: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append((line, reason))

    def summary(self) -> str:
        text = (
            f"{self.label}: {self.rows} rows read, {self.created} created, {self.updated} updated, "
            f"{self.duplicates} already stored, {self.error_count} rejected"
        )
        return text




# ---------------------------------------------------------------------------------------------
# Reading rows
# ---------------------------------------------------------------------------------------------

def _open_text(path: Path, encoding: str = "utf-8") -> io.TextIOBase:
    if not path.exists():
        raise ImportFileError(f"{path}: no such file")
    if not path.is_file():
        raise ImportFileError(f"{path}: not a file")
    try:
        handle = open(path, encoding=encoding, newline="")
        handle.read(1)
        handle.seek(0)
        return handle
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not {encoding.upper()} text; CSV and JSON Lines files must be UTF-8") from None
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot be read ({exc})") from None


def detect_format(path: Path) -> str:
    """Return 'csv' or 'jsonl' from the extension, else from the first non-blank character."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    with _open_text(path) as handle:
        try:
            head = handle.read(4096).lstrip("\ufeff \t\r\n")
        except UnicodeDecodeError:
            raise ImportFileError(f"{path}: not UTF-8 text; CSV and JSON Lines files must be UTF-8") from None
    if not head:
        raise ImportFileError(f"{path}: the file is empty")
    return "jsonl" if head.startswith("{") else "csv"


def iter_records(path: Path, required: set[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    """Yield (line number, row dict or RowError) from a CSV or JSON Lines file."""
    fmt = detect_format(path)
    handle = _open_text(path)
    try:
        if fmt == "jsonl":
            for number, line in enumerate(handle, start=1):
                text = line.strip().lstrip("\ufeff")
                if not text:
                    continue
                try:
                    # Bounded nesting, finite numbers, no lone surrogates (which no database column takes).
                    row = loads_untrusted(text)
                except UnsafeJSON as exc:
                    yield number, RowError(f"invalid JSON ({exc})")
                    continue
                if not isinstance(row, dict):
                    yield number, RowError("each line must be a JSON object")
                    continue
                yield number, row
            return
        reader = csv.DictReader(handle)
        try:
            header = reader.fieldnames
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ImportFileError(f"{path}: cannot read the CSV header ({exc})") from None
        if not header:
            raise ImportFileError(f"{path}: the file is empty")
        header = [h.strip().lstrip("\ufeff") for h in header]
        reader.fieldnames = header
        missing = required - set(header)
        if missing:
            raise ImportFileError(
                f"{path}: not the expected format — missing column(s) {', '.join(sorted(missing))}; "
                f"found {', '.join(header)}"
            )
        while True:
            first_line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield reader.line_num, RowError(f"unreadable CSV row ({exc})")
                continue
            if None in row:
                yield reader.line_num, RowError(f"{len(row[None]) + len(header)} fields, expected {len(header)}")
                continue
            broken = [key for key, value in row.items()
                      if key not in MULTILINE_FIELDS and isinstance(value, str) and ("\n" in value or "\r" in value)]
            if broken and reader.line_num > first_line:
                # An unterminated quote swallows the rows after it into one cell; only free text may span lines.
                yield first_line, RowError(
                    f"'{broken[0]}' runs over lines {first_line}-{reader.line_num}: an unterminated quote? "
                    "Those lines were read as this one cell, not as rows")
                continue
            yield reader.line_num, {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
    except UnicodeDecodeError:
        raise ImportFileError(f"{path}: not UTF-8 text; CSV and JSON Lines files must be UTF-8") from None
    finally:
        handle.close()


# ---------------------------------------------------------------------------------------------
# Field parsing
# ---------------------------------------------------------------------------------------------

def _text(row: dict, key: str, *, required: bool = False, max_length: int | None = None) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"missing {key}")
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise RowError(f"{key} must be text")
    text = str(value).strip()
    if max_length and len(text) > max_length:
        raise RowError(f"{key} longer than {max_length} characters")
    if "\x00" in text:
        raise RowError(f"{key} contains a NUL character")
    return text


def check_value(value: Any, where: str) -> None:
    """Raise RowError unless value can be stored as JSON in any database: finite numbers, strings that are
    valid Unicode without NUL characters, at most MAX_DEPTH levels of lists and objects."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise RowError(f"{where} is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, float) and not math.isfinite(node):
            raise RowError(f"{where} holds a number that is not finite")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
            raise RowError(f"{where} holds an integer past 64 bits")
        elif isinstance(node, str):
            if "\x00" in node:
                raise RowError(f"{where} contains a NUL character")
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise RowError(f"{where} holds text that is not valid Unicode (a lone surrogate)") from None
        elif isinstance(node, dict):
            for key, item in node.items():
                stack += [(key, depth + 1), (item, depth + 1)]
        elif isinstance(node, list):
            stack += [(item, depth + 1) for item in node]


def _scalar(value: str) -> Any:
    """Return a CSV cell as int, float or text (numbers become numbers so ranges work)."""
    text = value.strip()
    if re.fullmatch(rf"-?\d{{1,{MAX_INT_DIGITS}}}", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*|-?\.\d+", text):
        return float(text)
    return text


def parse_item_row(row: dict, *, default_source: str, default_domain: str) -> dict[str, Any]:
    """Return validated Item fields from one catalog row (CSV or JSON)."""
    fields: dict[str, Any] = {
        "external_id": _text(row, "external_id", required=True, max_length=128),
        "source": _text(row, "source", max_length=64) or default_source,
        "domain": (_text(row, "domain", max_length=32) or default_domain).lower(),
        "title": _text(row, "title", required=True, max_length=512),
        "description": _text(row, "description"),
        "image_url": _text(row, "image_url", max_length=1024),
    }
    if fields["image_url"] and not re.match(r"^https?://", fields["image_url"]):
        raise RowError("image_url must start with http:// or https://")
    aliases = row.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [a.strip() for a in aliases.split(LIST_SEPARATOR) if a.strip()]
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise RowError("aliases must be a list of text")
    fields["aliases"] = aliases
    attributes = row.get("attributes")
    if attributes is None:
        attributes = {}
    if isinstance(attributes, str):  # a CSV may carry the attributes as a JSON object in one column
        try:
            attributes = loads_untrusted(attributes) if attributes.strip() else {}
        except UnsafeJSON as exc:
            raise RowError(f"attributes column is not a JSON object ({exc})") from None
    if not isinstance(attributes, dict):
        raise RowError("attributes must be an object")
    # Any other CSV column is an attribute; "a|b" cells are lists.
    for key, value in row.items():
        if key in ITEM_FIELDS or key is None or value in (None, ""):
            continue
        if isinstance(value, str):
            parts = [p for p in value.split(LIST_SEPARATOR)]
            attributes[key] = [_scalar(p) for p in parts if p.strip()] if len(parts) > 1 else _scalar(value)
        else:
            attributes[key] = value
    check_value(attributes, "attributes")
    check_value(aliases, "aliases")
    fields["attributes"] = attributes
    return fields


def parse_timestamp(value: Any) -> datetime | None:
    """Return an aware datetime from epoch seconds or ISO 8601 text within TIMESTAMP_RANGE; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()[:64]
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            try:
                parsed = parse_datetime(text.replace(" ", "T", 1) if "T" not in text and " " in text else text)
                if parsed is None:
                    parsed = datetime.fromisoformat(text)
                if timezone.is_naive(parsed):
                    parsed = parsed.replace(tzinfo=UTC)
                seconds = parsed.timestamp()  # year 1 or 9999 with an offset overflows here, not in the database
            except (ValueError, OverflowError):
                raise RowError(f"timestamp {text!r} is neither epoch seconds nor a valid ISO 8601 time") from None
    low, high = TIMESTAMP_RANGE
    if not math.isfinite(seconds) or not low <= seconds <= high:
        raise RowError(f"timestamp {str(value)[:64]!r} is out of range (1970 to 2096)")
    return datetime.fromtimestamp(seconds, tz=UTC)


def parse_event_row(row: dict, *, default_source: str) -> dict[str, Any]:
    """Return validated interaction fields (external keys, not yet resolved) from one row."""
    kind = _text(row, "event", required=True).lower()
    kind = EVENT_ALIASES.get(kind, kind)
    if kind not in Interaction.Kind.values:
        raise RowError(f"unknown event {kind!r}; expected one of {', '.join(Interaction.Kind.values)}")
    raw_value = row.get("value")
    value = None
    if raw_value not in (None, ""):
        try:
            value = float(raw_value)
        except (TypeError, ValueError):
            raise RowError(f"value {raw_value!r} is not a number") from None
        if not math.isfinite(value):
            raise RowError("value is not a finite number")
    if kind in RATED_KINDS and (value is None or not 0.5 <= value <= 5.0):
        raise RowError("a rating needs a value between 0.5 and 5")
    return {
        "user": _text(row, "user", required=True, max_length=128),
        "item": _text(row, "item", required=True, max_length=128),
        "source": _text(row, "source", max_length=64) or default_source,
        "kind": kind,
        "value": value,
        "occurred_at": parse_timestamp(row.get("timestamp")),
        "key": _text(row, "key", max_length=200),
    }


def event_key(source: str, user: str, item: str, kind: str, occurred_at: datetime | None, value: float | None) -> str:
    """Return a stable idempotency key, so a re-imported event is recognised."""
    when = str(int(occurred_at.timestamp())) if occurred_at else f"v{value}"
    key = f"{source}:{user}:{item}:{kind}:{when}"
    if len(key) <= 200:
        return key
    return f"{source[:40]}:sha1:{hashlib.sha1(key.encode()).hexdigest()}"


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

ITEM_UPDATE_FIELDS = ("domain", "title", "description", "aliases", "attributes", "image_url")


def upsert_items(rows: list[dict[str, Any]], report: ImportReport) -> dict[tuple[str, str], int]:
    """Create new items and update changed ones (no duplicates on re-import); return {(source, external_id): pk}."""
    if not rows:
        return {}
    unique: dict[tuple[str, str], dict] = {}
    for row in rows:
        unique[(row["source"], row["external_id"])] = row  # a later row for the same id wins
    existing = existing_items(unique.keys(), with_fields=True)
    to_create, to_update = [], []
    now = timezone.now()
    for key, row in unique.items():
        stored = existing.get(key)
        if stored is None:
            to_create.append(Item(**row))
        elif any(stored[f] != row[f] for f in ITEM_UPDATE_FIELDS):
            to_update.append(Item(pk=stored["pk"], updated_at=now, **row))
        else:
            report.duplicates += 1
    with transaction.atomic():
        Item.objects.bulk_create(to_create, batch_size=1000)
        Item.objects.bulk_update(to_update, [*ITEM_UPDATE_FIELDS, "updated_at"], batch_size=500)
    report.created += len(to_create)
    report.updated += len(to_update)
    return existing_items(unique.keys())


def existing_items(keys: Iterable[tuple[str, str]], *, with_fields: bool = False) -> dict[tuple[str, str], Any]:
    """Return {(source, external_id): pk} for stored items (or their stored fields with with_fields)."""
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found = {}
    columns = ("pk", "external_id", *ITEM_UPDATE_FIELDS) if with_fields else ("pk", "external_id")
    for source, ids in by_source.items():
        for start in range(0, len(ids), 900):  # stay under SQLite's variable limit
            chunk = ids[start:start + 900]
            for row in Item.objects.filter(source=source, external_id__in=chunk).values(*columns):
                found[(source, row["external_id"])] = row if with_fields else row["pk"]
    return found


def ensure_profiles(source: str, external_ids: Iterable[str], demographics: dict[str, dict] | None = None) -> dict[str, int]:
    """Return {external user id: profile pk} for imported users, creating missing ones."""
    wanted = sorted(set(external_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        found.update(
            Profile.objects.filter(kind=Profile.Kind.IMPORTED, source=source, external_id__in=chunk)
            .values_list("external_id", "pk")
        )
    missing = [ext for ext in wanted if ext not in found]
    if missing:
        demographics = demographics or {}
        Profile.objects.bulk_create(
            [Profile(kind=Profile.Kind.IMPORTED, source=source, external_id=ext, demographics=demographics.get(ext, {}))
             for ext in missing],
            batch_size=1000,
            ignore_conflicts=True,
        )
        for start in range(0, len(missing), 900):
            chunk = missing[start:start + 900]
            found.update(
                Profile.objects.filter(kind=Profile.Kind.IMPORTED, source=source, external_id__in=chunk)
                .values_list("external_id", "pk")
            )
    if demographics:
        changed = [Profile(pk=found[ext], demographics=demo) for ext, demo in demographics.items() if ext in found]
        Profile.objects.bulk_update(changed, ["demographics"], batch_size=500)
    return found


def store_events(events: list[dict[str, Any]], report: ImportReport, *, user_source: str) -> None:
    """Store resolved events (profile_id, item_id...) once each, keyed by idempotency key."""
    if not events:
        return
    keys = [e["idempotency_key"] for e in events]
    seen: set[str] = set()
    for start in range(0, len(keys), 900):
        seen.update(Interaction.objects.filter(idempotency_key__in=keys[start:start + 900])
                    .values_list("idempotency_key", flat=True))
    fresh, batch_keys = [], set()
    for event in events:
        key = event["idempotency_key"]
        if key in seen or key in batch_keys:
            report.duplicates += 1
            continue
        batch_keys.add(key)
        fresh.append(event)
    with transaction.atomic():
        _insert_events(fresh)
    report.created += len(fresh)


EVENT_COLUMNS = ("profile_id", "item_id", "kind", "value", "occurred_at", "origin", "idempotency_key", "context",
                 "created_at")


def _insert_events(events: list[dict[str, Any]]) -> None:
    """Insert import events in bulk, skipping keys stored meanwhile (the ORM's per-value work is the
    bottleneck for 100k-row logs, so this writes plain rows)."""
    if not events:
        return
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    rows = [
        (e["profile_id"], e["item_id"], e["kind"], e["value"], adapt(e["occurred_at"]), Interaction.Origin.IMPORT,
         e["idempotency_key"], "{}", now)
        for e in events
    ]
    table = connection.ops.quote_name(Interaction._meta.db_table)
    columns = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg2.extras import execute_values

            execute_values(cursor.cursor, f"INSERT INTO {table} ({columns}) VALUES %s ON CONFLICT DO NOTHING",
                           rows, page_size=2000)
        else:
            marks = ", ".join(["%s"] * len(EVENT_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING", rows)


class _StrictRollback(Exception):
    """Raised inside a strict import's transaction to undo everything it wrote."""


def _write_rows(rows: list[tuple[int, Any]], write: Callable[[list[Any]], object], report: ImportReport, *,
                strict: bool) -> None:
    """Write (line, row) pairs in batches of BATCH_SIZE, each batch in a transaction of its own.

    A batch the database refuses is written again row by row, so the row at fault is reported with its line and
    the others are kept. In strict mode the whole file is one transaction: after any rejected row nothing stays.
    """
    def counts() -> tuple[int, int, int]:
        return report.created, report.updated, report.duplicates

    def write_batch(batch: list[tuple[int, Any]]) -> None:
        before = counts()
        try:
            with transaction.atomic():
                write([row for _, row in batch])
            return
        except DatabaseError as exc:
            report.created, report.updated, report.duplicates = before
            if len(batch) == 1:
                report.add_error(batch[0][0], f"not stored: the database refused it ({exc.__class__.__name__})")
                return
        for line, row in batch:
            write_batch([(line, row)])

    def write_all() -> None:
        for start in range(0, len(rows), BATCH_SIZE):
            write_batch(rows[start:start + BATCH_SIZE])
            if strict and report.error_count:
                raise _StrictRollback

    if not strict:
        write_all()
        return
    before = counts()
    try:
        with transaction.atomic():
            write_all()
    except _StrictRollback:
        report.created, report.updated, report.duplicates = before
        report.notes.append("strict mode: nothing imported because a row was refused while writing")


def _note_repeated_ids(keys: list[tuple[int, Any]], report: ImportReport, what: str) -> None:
    """Note rows that repeat an id seen earlier in the same file (the last one is kept)."""
    first: dict[Any, int] = {}
    repeats = []
    for line, key in keys:
        if key in first:
            repeats.append((line, first[key]))
        else:
            first[key] = line
    if repeats:
        shown = ", ".join(f"line {line} repeats line {earlier}" for line, earlier in repeats[:5])
        report.notes.append(f"{len(repeats)} rows repeat {what} given earlier in the file; the last one is kept "
                            f"({shown}{', ...' if len(repeats) > 5 else ''})")


def import_catalog(
    path: Path,
    *,
    source: str = "catalog",
    domain: str = "product",
    strict: bool = False,
    progress: bool = False,
) -> ImportReport:
    """Import catalog items from CSV or JSON Lines (schema in docs/import_formats.md)."""
    path = Path(path)
    report = ImportReport(label=f"catalog {path.name}")
    parsed = _parse_rows(path, {"external_id", "title"}, report, progress, "items",
                         lambda row: parse_item_row(row, default_source=source, default_domain=domain))
    if strict and report.error_count:
        report.notes.append("strict mode: nothing imported because some rows were rejected")
        return report
    _note_repeated_ids([(line, (f["source"], f["external_id"])) for line, f in parsed], report, "an item id")
    _write_rows(parsed, lambda rows: upsert_items(rows, report), report, strict=strict)
    return report


# Anything a row's parser raises that is not a RowError is still that row's fault (a value no check foresaw);
# it is reported with the line instead of ending the import with a traceback.
ROW_FAILURES = (RowError, ValueError, TypeError, OverflowError, RecursionError, UnicodeError)


def _parse_rows(path: Path, required: set[str], report: ImportReport, progress: bool, desc: str,
                parse: Callable[[dict], dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Return (line, parsed fields) for every good row; bad rows go into the report with their line."""
    parsed = []
    for line, row in tqdm(iter_records(path, required), desc=desc, unit=" rows", disable=not progress,
                          mininterval=0.5):
        report.rows += 1
        if isinstance(row, RowError):
            report.add_error(line, str(row))
            continue
        try:
            parsed.append((line, parse(row)))
        except RowError as exc:
            report.add_error(line, str(exc))
        except ROW_FAILURES as exc:
            report.add_error(line, f"unreadable row ({exc.__class__.__name__})")
    if report.rows == 0:
        raise ImportFileError(f"{path}: no rows found")
    return parsed


def import_interactions(
    path: Path,
    *,
    source: str = "catalog",
    user_source: str | None = None,
    strict: bool = False,
    progress: bool = False,
) -> ImportReport:
    """Import interaction events from CSV or JSON Lines; unknown items are rejected row by row."""
    path = Path(path)
    report = ImportReport(label=f"interactions {path.name}")
    parsed = _parse_rows(path, {"user", "item", "event"}, report, progress, "events",
                         lambda row: parse_event_row(row, default_source=source))
    items = existing_items({(e["source"], e["item"]) for _, e in parsed})
    resolved = []
    for line, event in parsed:
        item_pk = items.get((event["source"], event["item"]))
        if item_pk is None:
            report.add_error(line, f"unknown item {event['item']!r} in source {event['source']!r}")
            continue
        resolved.append((line, event | {"item_pk": item_pk}))
    if strict and report.error_count:
        report.notes.append("strict mode: nothing imported because some rows were rejected")
        return report
    users_from = user_source or source

    def write(chunk: list[dict[str, Any]]) -> None:
        # One transaction with the events (the caller's): a failure stores neither the profiles nor the events.
        profiles = ensure_profiles(users_from, (e["user"] for e in chunk))
        events = [
            {
                "profile_id": profiles[e["user"]],
                "item_id": e["item_pk"],
                "kind": e["kind"],
                "value": e["value"],
                "occurred_at": e["occurred_at"] or timezone.now(),
                "idempotency_key": e["key"] or event_key(users_from, e["user"], e["item"], e["kind"],
                                                         e["occurred_at"], e["value"]),
            }
            for e in chunk
        ]
        store_events(events, report, user_source=users_from)

    _write_rows(resolved, write, report, strict=strict)
    return report
