"""OTLP attributes as plain values, and the checks every stored value passes.

Claude Code sends some numbers as strings (`duration_ms`, `success`, `event.sequence` in
public fixtures), so values are read by attribute name, not by the AnyValue's type.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from lib.ranges import TIME_MAX, TIME_MIN, check_time
from lib.text import check_text

TEXT_MAX = 200


def value_of(any_value: Any) -> Any:
    """An AnyValue as str, int, float, bool, list or dict (None when empty)."""
    which = any_value.WhichOneof("value")
    if which == "string_value":  # nearly every attribute Claude Code sends
        return any_value.string_value
    if which is None:
        return None
    if which == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    if which == "kvlist_value":
        return attributes(any_value.kvlist_value.values)
    if which == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, which)


def attributes(key_values: Any, only: frozenset[str] | None = None) -> dict[str, Any]:
    """Key-values as a dict of plain values; with `only`, just those keys (the others are
    not read, so converting them would be wasted work)."""
    if only is None:
        return {kv.key: value_of(kv.value) for kv in key_values}
    found = {}
    for kv in key_values:
        key = kv.key  # each read of a protobuf field builds a new Python object: once
        if key in only:
            value = kv.value
            is_text = value.WhichOneof("value") == "string_value"
            found[key] = value.string_value if is_text else value_of(value)
    return found


def text(attrs: dict[str, Any], name: str) -> str:
    """A storable string attribute, cut to TEXT_MAX characters; "" when absent or not text."""
    value = attrs.get(name)
    if value is None or isinstance(value, (dict, list)):
        return ""
    value = str(value)
    try:
        check_text(value, name)
    except ValueError:
        return ""
    return value[:TEXT_MAX]


def number(attrs: dict[str, Any], name: str) -> float | None:
    """A finite, non-negative number attribute (sent as a number or a string), else None."""
    value = attrs.get(name)
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) and result >= 0 else None


def flag(attrs: dict[str, Any], name: str) -> bool | None:
    """A boolean attribute, sent as a bool or as "true"/"false"; None otherwise."""
    value = attrs.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def moment(unix_nano: int, name: str) -> datetime:
    """A nanosecond Unix time as an aware datetime inside lib.ranges' range, or ValueError."""
    if unix_nano <= 0:
        raise ValueError(f"{name}: missing")
    value = datetime.fromtimestamp(unix_nano / 1e9, UTC)
    # In UTC, check_time's test is this comparison; it runs only to word the error.
    return value if TIME_MIN <= value < TIME_MAX else check_time(value, name)
