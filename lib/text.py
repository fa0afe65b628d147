"""Text and JSON that clients send: what can be stored, and how deep a body may nest.

Every entry point (the ingest API, sessions start/end and the API filters, Claude Code hooks,
the transcript import, the WebSocket, uploaded tool artefacts) checks its text and parses its
JSON here, so a value that passes one passes them all and none of them can fail later in the
database or the parser with a 500.

- Text: a `str` without NUL (`\\x00`) and without lone surrogates (`\\ud800`–`\\udfff`, which
  `json.loads` makes from the escape `"\\ud800"`). Postgres cannot store NUL in `text` or
  `jsonb`, and a lone surrogate has no UTF-8 encoding, so neither can reach the database or an
  answer; both are refused naming the field rather than silently altered.
- JSON: strict (no NaN/Infinity) and nested at most `MAX_JSON_DEPTH` containers deep. The
  standard library's parser recurses, so about 1,000 levels raise RecursionError (orjson stops
  at a fixed 1,024 with a JSONDecodeError); both are refused with a clear error well before.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_JSON_DEPTH = 64

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JSONDepthError(ValueError):
    """A JSON document nested deeper than allowed."""


class NonFiniteNumber(ValueError):
    """NaN, Infinity, or a number beyond a double's range (1e400): Python's json reads them,
    JSON has no such numbers, and nothing stored may be non-finite."""


def check_text(value: object, name: str, max_length: int | None = None) -> str:
    """`value` if it is a storable string of at most `max_length` characters, else ValueError
    naming `name`. Nothing is converted: an integer is not a string."""
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string")
    bad = _UNSTORABLE.search(value)
    if bad is not None:
        char = bad.group()
        what = "a NUL character" if char == "\x00" else "a lone surrogate"
        raise ValueError(
            f"'{name}' contains {what} ({char!r} at {bad.start()}), which cannot be stored"
        )
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"'{name}' is longer than {max_length} characters")
    return value


def is_storable(value: str) -> bool:
    """Whether a string has neither NUL nor a lone surrogate."""
    return _UNSTORABLE.search(value) is None


def json_depth(value: Any, limit: int | None = None) -> int:
    """How many containers deep a parsed JSON value nests (a scalar 0, `[]` 1, `[{}]` 2).

    Iterative, so any depth is measured without recursing; with `limit` it stops as soon as
    the depth is known to be greater than `limit` (and returns `limit + 1`)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > deepest:
            deepest = depth
            if limit is not None and deepest > limit:
                return limit + 1
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def loads_bounded(
    data: bytes | str,
    *,
    max_depth: int = MAX_JSON_DEPTH,
    name: str = "body",
    allow_constants: bool = False,
    refuse_overflow: bool = False,
) -> Any:
    """Strict JSON (no NaN/Infinity) nested at most `max_depth` deep, parsed.

    `allow_constants` takes NaN/Infinity as Python's `json` writes them (tool artefacts, whose
    readers refuse such figures themselves, naming them). A number beyond a double's range
    (1e400) reads as infinity, for the field's own check to refuse with a per-field error,
    unless `refuse_overflow` refuses the whole document for it. ValueError for anything else:
    JSONDepthError naming `name` for a value nested too deep (also when the parser itself runs
    out of stack), NonFiniteNumber, json.JSONDecodeError or UnicodeDecodeError for one that is
    not JSON.
    """
    try:
        if allow_constants:
            value = json.loads(data)
        else:
            parse_float = _finite if refuse_overflow else float
            value = json.loads(data, parse_constant=_reject_constant, parse_float=parse_float)
    except RecursionError:
        raise _too_deep(name, max_depth) from None
    if json_depth(value, max_depth) > max_depth:
        raise _too_deep(name, max_depth)
    return value


def _too_deep(name: str, max_depth: int) -> JSONDepthError:
    return JSONDepthError(f"'{name}' is nested more than {max_depth} levels deep")


def _reject_constant(constant: str) -> Any:
    raise NonFiniteNumber(f"{constant} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(f"{text[:40]} is beyond the range of a JSON number")
    return value
