"""JSON decoding for untrusted input: bounded nesting, finite numbers, well-formed strings.

`json.loads` recurses once per nesting level (a body of 5,000 "[" raises RecursionError), turns `1e400` into
infinity and accepts `NaN`, and decodes "\\ud800" into a lone surrogate that no database or UTF-8 encoder
takes. Everything that reaches the services goes through `loads_untrusted`, which refuses all of these with
one error type whose message is safe to show.
"""
from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
# Integers past a signed 64-bit column overflow every database backend.
MAX_INT = 2**63 - 1


class UnsafeJSON(ValueError):
    """The text is not JSON the server accepts; the message is meant for the client."""


def nesting_depth(text: str, limit: int) -> int:
    """Return the deepest bracket nesting outside strings, stopping early once it passes limit."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise UnsafeJSON("Numbers must be finite.")
    return value


def _bounded_int(raw: str) -> int:
    value = int(raw)
    if abs(value) > MAX_INT:
        raise UnsafeJSON("Integers must fit in 64 bits.")
    return value


def _no_constants(name: str) -> float:
    raise UnsafeJSON("NaN and Infinity are not accepted.")


def _check_strings(value: Any) -> None:
    """Raise UnsafeJSON when any key or string holds a lone surrogate (not encodable as UTF-8)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise UnsafeJSON("Strings must be valid Unicode (no lone surrogates).") from None
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def loads_untrusted(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Return the decoded JSON value, or raise UnsafeJSON (bad syntax, too deep, non-finite, bad strings)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise UnsafeJSON("The body is not UTF-8.") from None
    if nesting_depth(text, max_depth) > max_depth:
        raise UnsafeJSON(f"JSON nested deeper than {max_depth} levels is not accepted.")
    try:
        value = json.loads(text, parse_float=_finite, parse_int=_bounded_int, parse_constant=_no_constants)
    except UnsafeJSON:
        raise
    except (ValueError, RecursionError):
        raise UnsafeJSON("The text is not valid JSON.") from None
    _check_strings(value)
    return value
