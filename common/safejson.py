"""JSON decoding for untrusted input: bounded nesting, finite numbers, well-formed strings, 64-bit integers.

`json.loads` recurses once per nesting level (a body of 5,000 "[" raises RecursionError), turns `1e400` into
infinity and accepts `NaN`, and decodes "\\ud800" into a lone surrogate that no database or UTF-8 encoder
takes. Everything that reaches the services goes through `loads_untrusted`, which refuses all of these with
one error type whose message is safe to show.

The parsing is orjson's: it refuses NaN and Infinity, numbers that overflow a double, text that is not UTF-8
and lone surrogates, and stops at 1,024 levels. What it leaves to us is one walk over the decoded value
(nodes, not characters): nesting past MAX_DEPTH, and integers past 64 bits. orjson turns an integer literal
outside [-2**63, 2**64) into a float, so a whole float that large is re-read with the standard parser, which
tells an integer literal from a float one (rare: no field here takes such numbers). On a 280 KB chat body this
took well under a millisecond where the character-by-character depth scan in Python took about 8-20 ms.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

MAX_DEPTH = 32
# Integers past a signed 64-bit column overflow every database backend.
MAX_INT = 2**63 - 1


class UnsafeJSON(ValueError):
    """The text is not JSON the server accepts; the message is meant for the client."""


def _reason(error: orjson.JSONDecodeError) -> str:
    """Return the client-facing message for orjson's refusal."""
    text = str(error)
    if "not valid UTF-8" in text:
        return "The body is not UTF-8."
    if "surrogate" in text:
        return "Strings must be valid Unicode (no lone surrogates)."
    if "infinity" in text:
        return "Numbers must be finite."
    if "depth" in text or "recursion" in text:
        return f"JSON nested deeper than {MAX_DEPTH} levels is not accepted."
    return "The text is not valid JSON."


def _walk(value: Any, max_depth: int) -> bool:
    """Raise UnsafeJSON past max_depth or for an integer past 64 bits; return whether a float may hide one."""
    suspicious = False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth >= max_depth:
                raise UnsafeJSON(f"JSON nested deeper than {max_depth} levels is not accepted.")
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            if depth >= max_depth:
                raise UnsafeJSON(f"JSON nested deeper than {max_depth} levels is not accepted.")
            stack.extend((child, depth + 1) for child in node)
        elif type(node) is int:
            if abs(node) > MAX_INT:
                raise UnsafeJSON("Integers must fit in 64 bits.")
        elif type(node) is float and abs(node) > MAX_INT and node.is_integer():
            suspicious = True
    return suspicious


def _bounded_int(raw: str) -> int:
    value = int(raw)
    if abs(value) > MAX_INT:
        raise UnsafeJSON("Integers must fit in 64 bits.")
    return value


def loads_untrusted(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Return the decoded JSON value, or raise UnsafeJSON (bad syntax, too deep, non-finite, bad strings)."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UnsafeJSON(_reason(exc)) from None
    if _walk(value, max_depth):
        # A whole float past 64 bits: an integer literal orjson widened, or a float written as one?
        json.loads(text, parse_int=_bounded_int)
    return value
