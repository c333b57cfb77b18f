"""Recorded recommendation dialogues: importing them (ReDial or the generic JSON-lines format) and reading
them back as fitting pairs for the co-mention model.

Re-importing a file stores nothing twice (one DialogueLog per (source, conversation id)); a malformed line is
reported with its line number and reason and skipped.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.db import transaction
from django.db.models import Count
from tqdm import tqdm

from common.safejson import UnsafeJSON, loads_untrusted
from recommender.engine.dialogues import (
    PARSERS,
    Dialogue,
    DialogueFormatError,
    DialogueTurn,
    MovieAnswer,
    TitleLinker,
    is_development,
    suggestion_turns,
)
from recommender.models import DialogueLog, DialogueMention, Item
from recommender.services.importers import ImportFileError, ImportReport, RowError, check_value

BATCH = 200
FORMATS = tuple(PARSERS)


def catalog_linker(*, domain: str | None = "movie") -> TitleLinker:
    """Return a title linker over the stored catalog (popular items win between equal titles)."""
    items = Item.objects.all() if domain is None else Item.objects.filter(domain=domain)
    rows = items.annotate(n=Count("interactions")).values_list("pk", "title", "attributes", "n")
    popularity = {str(pk): float(n) for pk, _, _, n in rows}
    return TitleLinker([(str(pk), title, _year((attrs or {}).get("year"))) for pk, title, attrs, _ in rows],
                       popularity)


def _year(raw: object) -> int | None:
    try:
        return int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _mentions(dialogue: Dialogue, log: DialogueLog, links: dict[str, str | None]) -> list[DialogueMention]:
    first: dict[str, tuple[int, str]] = {}
    for index, turn in enumerate(dialogue.turns):
        for key in turn.mentions:
            first.setdefault(key, (index, turn.role))
    out = []
    for key, (index, role) in first.items():
        answer = dialogue.seeker_answers.get(key) or dialogue.recommender_answers.get(key) or MovieAnswer()
        item = links.get(key)
        out.append(DialogueMention(dialogue=log, item_id=int(item) if item else None, source_key=key[:128],
                                   name=dialogue.movies.get(key, key)[:512], role=role, turn_index=index,
                                   suggested=answer.suggested, seen=answer.seen, liked=answer.liked))
    return out


def _store(batch: list[Dialogue], source: str, linker: TitleLinker, report: ImportReport) -> None:
    with transaction.atomic():
        for dialogue in batch:
            log, created = DialogueLog.objects.get_or_create(
                source=source, conversation_id=dialogue.conversation_id,
                defaults={"turns": [{"role": t.role, "text": t.text, "mentions": t.mentions} for t in dialogue.turns],
                          "is_development": is_development(dialogue.conversation_id)})
            if not created:
                report.duplicates += 1
                continue
            links = {key: linker.link(name) for key, name in dialogue.movies.items()}
            DialogueMention.objects.bulk_create(_mentions(dialogue, log, links))
            report.created += 1


def read_dialogue_lines(path: Path, fmt: str) -> Iterator[tuple[int, Dialogue | DialogueFormatError]]:
    """Yield (line number, dialogue or the error that line raised): each line through the untrusted-input
    decoder (bounded nesting, finite numbers, no lone surrogates), then the format's parser."""
    parse = PARSERS[fmt]
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                decoded = loads_untrusted(line)
                check_value(decoded, "the line")  # NUL characters: no PostgreSQL text column takes them
                yield line_no, parse(decoded)
            except UnsafeJSON as exc:
                yield line_no, DialogueFormatError(f"invalid JSON: {exc}")
            except RowError as exc:
                yield line_no, DialogueFormatError(str(exc))
            except DialogueFormatError as exc:
                yield line_no, exc
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:  # a shape no check foresaw
                yield line_no, DialogueFormatError(f"unreadable dialogue ({exc.__class__.__name__})")


def dialogues_import(*, path: Path | str, fmt: str = "redial", source: str = "redial", progress: bool = False,
                     linker: TitleLinker | None = None) -> ImportReport:
    """Store the dialogues of one JSON-lines file; return what was created, skipped and rejected (by line)."""
    path = Path(path)
    if fmt not in PARSERS:
        raise ImportFileError(f"unknown dialogue format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    linker = linker or catalog_linker()
    report = ImportReport(label=path.name)
    existing = set(DialogueLog.objects.filter(source=source).values_list("conversation_id", flat=True))
    seen_here: set[str] = set()
    batch: list[Dialogue] = []
    with open(path, "rb") as fh:
        total = sum(1 for _ in fh)
    try:
        lines = tqdm(read_dialogue_lines(path, fmt), total=total, desc=path.name, unit="line", disable=not progress)
        for line_no, parsed in lines:
            report.rows += 1
            if isinstance(parsed, DialogueFormatError):
                report.add_error(line_no, str(parsed))
                continue
            key = parsed.conversation_id
            if key in existing or key in seen_here:
                report.duplicates += 1
                continue
            seen_here.add(key)
            batch.append(parsed)
            if len(batch) >= BATCH:
                _store(batch, source, linker, report)
                batch = []
        if batch:
            _store(batch, source, linker, report)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    linked = DialogueMention.objects.filter(dialogue__source=source)
    report.notes.append(f"{linked.exclude(item=None).count()} of {linked.count()} mentions from {source!r} "
                        "are linked to catalog items")
    return report


def stored_dialogue(log: DialogueLog, mentions: Iterable[DialogueMention]) -> tuple[Dialogue, dict[str, str | None]]:
    """Return a stored dialogue as an engine record, with its links (source key -> item id)."""
    turns = [DialogueTurn(role=t["role"], text=t["text"], mentions=list(t.get("mentions") or [])) for t in log.turns]
    movies, answers, links = {}, {}, {}
    for m in mentions:
        movies[m.source_key] = m.name
        answers[m.source_key] = MovieAnswer(suggested=m.suggested, seen=m.seen, liked=m.liked)
        links[m.source_key] = str(m.item_id) if m.item_id else None
    return Dialogue(conversation_id=log.conversation_id, turns=turns, movies=movies, seeker_answers=answers), links


def stored_dialogues(*, include_development: bool = False) -> list[tuple[Dialogue, dict[str, str | None]]]:
    """Return every stored dialogue as an engine record with its links (source key -> catalog item id as a string);
    development dialogues are left out unless asked for."""
    logs = DialogueLog.objects.all() if include_development else DialogueLog.objects.filter(is_development=False)
    return [stored_dialogue(log, log.mentions.all())
            for log in logs.prefetch_related("mentions").iterator(chunk_size=500)]


def dialogue_pairs(*, include_development: bool = False) -> list[tuple[dict[str, float], list[str]]]:
    """Return (earlier items with weights, items suggested next) for every stored dialogue's suggestion turns.

    Item ids are catalog primary keys as strings; development dialogues are left out unless asked for.
    """
    return [(t.context, t.suggested) for dialogue, links in stored_dialogues(include_development=include_development)
            for t in suggestion_turns(dialogue, links)]


Pair = tuple[dict[str, float], list[str]]
# Other apps add fitting pairs from their own records: the chat app registers the product's own conversations
# (chat.selectors.chat_pairs, in ChatConfig.ready), which this layer does not read itself.
PAIR_SOURCES: list[Callable[[], list[Pair]]] = []


def conversation_pairs() -> list[Pair]:
    """Return every fitting pair for the co-mention model: stored training dialogues, then each registered source's
    (the product's chats)."""
    return dialogue_pairs() + [pair for source in PAIR_SOURCES for pair in source()]


def dialogue_counts() -> dict[str, int]:
    """Return how many dialogues are stored per source."""
    return dict(Counter(DialogueLog.objects.values_list("source", flat=True)))
