"""Cue phrases found in text: Latin ones on word boundaries (with regular inflections), CJK ones as substrings."""

from __future__ import annotations

import functools
import re

from .text import is_cjk

_INFLECTIONS = r"(?:s|es|d|ed|ing|ion|ions|ation|ations)?"


@functools.lru_cache(maxsize=256)
def phrase_patterns(phrases: tuple[str, ...]) -> list[tuple[str, re.Pattern | None]]:
    """Return (phrase, compiled word-boundary pattern or None for plain substring search), longest first."""
    out = []
    for p in sorted(phrases, key=len, reverse=True):
        if is_cjk(p[0]) or not p[0].isalnum():
            out.append((p, None))
        else:
            # A cue whose last word is a long enough English word also matches its regular inflections
            # ("suggest" -> "suggestions", "recommend" -> "recommendations"); short words stay exact ("hi" != "his").
            last = p.split()[-1] if p.split() else ""
            suffix = _INFLECTIONS if len(last) >= 4 and last.isalpha() and p[-1].isalpha() else ""
            out.append((p, re.compile(r"(?<![a-z0-9])" + re.escape(p) + suffix + r"(?![a-z0-9])")))
    return out


def has_phrase(text: str, phrases) -> str | None:
    """Return the first phrase found (Latin ones on word boundaries), or None."""
    for p, pattern in phrase_patterns(tuple(phrases)):
        if pattern.search(text) if pattern else p in text:
            return p
    return None


def earliest(text: str, table) -> str | None:
    """Return the label whose cue appears first in the text."""
    best, best_pos = None, len(text) + 1
    for label, cues in table:
        for cue, pattern in phrase_patterns(tuple(cues)):
            if pattern is None:
                pos = text.find(cue)
            else:
                m = pattern.search(text)
                pos = m.start() if m else -1
            if 0 <= pos < best_pos:
                best, best_pos = label, pos
    return best
