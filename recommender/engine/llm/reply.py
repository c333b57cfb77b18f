"""Reply text an LLM writes, streamed chunk by chunk as the backend produces it, and checked once it is whole.

Used for small talk and for the answer to a factual question about one item. The template reply is kept as
the fallback: when the backend fails mid-stream, or the finished text fails the explanation checker (a title,
year or attribute the facts do not back, markup, a link, the wrong language, an unfinished sentence), the
caller replaces what was streamed with the fallback.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import rules
from ..explain.checker import check_explanation
from ..types import ItemRecord

log = logging.getLogger(__name__)

REPLY_MAX_TOKENS = 80
REPLY_BUDGET_S = 8.0  # a reply still being written after this is cut (and then fails the check)
# Small talk is checked as a text about no item at all: it may name no title, year or attribute value.
NO_ITEM = ItemRecord(item_id="", title="", domain="")
LANGUAGES = {"en": "English", "zh": "Chinese"}

CHITCHAT_PROMPT = """You are ChatRec, a friendly assistant that recommends things to people.
Reply to the person in one or two short sentences in {language}. Do not name any title, year or genre.
End by offering to recommend something.

Person: {text}
ChatRec:"""

ANSWER_PROMPT = """You are ChatRec, a friendly assistant that recommends things to people.
Answer the person's question in one or two sentences in {language}, using only these facts about {title}:
{facts}

Person: {text}
ChatRec:"""


@dataclass
class WrittenReply:
    """A reply to be written by the backend: `stream()` yields its chunks, `replacement()` says whether it stands."""

    backend: Any
    prompt: str
    fallback: str  # the template reply: sent instead when the written one fails
    subject: ItemRecord  # the item the reply may state facts about (NO_ITEM for small talk)
    catalog: Mapping[str, ItemRecord]
    language: str
    budget_s: float = REPLY_BUDGET_S
    text: str = ""
    problems: list[str] = field(default_factory=list)

    def stream(self) -> Iterator[str]:
        """Yield the reply's chunks as the backend produces them; a failure ends the stream and is recorded."""
        deadline = time.monotonic() + self.budget_s
        chunks = self.backend.generate(self.prompt, max_tokens=REPLY_MAX_TOKENS, stop=["\n\n", "\nPerson:"])
        try:
            for chunk in chunks:
                self.text += chunk
                yield chunk
                if time.monotonic() > deadline:
                    self.problems.append("not finished within the budget")
                    return
        except Exception as exc:  # noqa: BLE001 - any backend failure: the template reply replaces the text
            log.warning("LLM reply failed mid-stream: %s", exc)
            self.problems.append(f"backend failed: {exc}")
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def replacement(self) -> str | None:
        """Return the text that must replace what was streamed (the fallback), or None when the reply stands."""
        if not self.problems:
            self.problems = check_explanation(self.text.strip(), self.subject, [], self.catalog,
                                              language=self.language)
        return self.fallback if self.problems else None


def chitchat_written(backend: Any, text: str, fallback: str, catalog: Mapping[str, ItemRecord],
                     language: str) -> WrittenReply:
    """Return the small-talk reply to be written by the LLM (it may state no facts about items)."""
    prompt = CHITCHAT_PROMPT.format(language=LANGUAGES.get(language, "English"), text=text[:500])
    return WrittenReply(backend, prompt, fallback, NO_ITEM, catalog, language)


def answer_written(backend: Any, text: str, record: ItemRecord, fallback: str,
                   catalog: Mapping[str, ItemRecord], language: str) -> WrittenReply:
    """Return the answer about one item to be written by the LLM from the catalog's facts about it."""
    facts = [f"- title: {rules.display_title(record, language)}"]
    facts += [f"- {name}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
              for name, value in (record.attributes or {}).items() if value not in (None, "", [])]
    if record.description:
        facts.append(f"- description: {record.description[:400]}")
    prompt = ANSWER_PROMPT.format(language=LANGUAGES.get(language, "English"),
                                  title=rules.display_title(record, language), facts="\n".join(facts),
                                  text=text[:500])
    return WrittenReply(backend, prompt, fallback, record, catalog, language)
