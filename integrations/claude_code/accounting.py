"""Exact token accounting for Claude Code API requests.

Claude Code writes one JSONL line per content block of an API response and repeats the usage on
each; earlier lines carry a partial `output_tokens`. One request is one (message.id, requestId)
key, and its count is the field-wise maximum over every line with that key, across all files.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Token kinds in the order they are shown, with the names Claude Code's `usage` uses.
USAGE_FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_creation": "cache_creation_input_tokens",
    "cache_creation_5m": "cache_creation_5m_input_tokens",
    "cache_creation_1h": "cache_creation_1h_input_tokens",
    "cache_read": "cache_read_input_tokens",
}


# Larger counts are not token counts (and would overflow a 64-bit column): the line is bad.
MAX_COUNT = 2**53


def _int(value: object) -> int:
    """A token count from JSON; a missing or non-numeric one counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return 0
    if value > MAX_COUNT:
        raise ValueError(f"token count {value} is not believable")
    return int(value)


@dataclass(slots=True)
class Usage:
    input: int = 0
    output: int = 0
    cache_creation: int = 0
    cache_creation_5m: int = 0
    cache_creation_1h: int = 0
    cache_read: int = 0

    @classmethod
    def from_message(cls, usage: object) -> Usage:
        """Read `message.usage`. Without the 5m/1h split all cache writes are 5-minute ones."""
        if not isinstance(usage, dict):
            return cls()
        creation = _int(usage.get("cache_creation_input_tokens"))
        split = usage.get("cache_creation")
        if isinstance(split, dict):
            five = _int(split.get("ephemeral_5m_input_tokens"))
            hour = _int(split.get("ephemeral_1h_input_tokens"))
        else:
            five, hour = creation, 0
        return cls(
            input=_int(usage.get("input_tokens")),
            output=_int(usage.get("output_tokens")),
            cache_creation=creation,
            cache_creation_5m=five,
            cache_creation_1h=hour,
            cache_read=_int(usage.get("cache_read_input_tokens")),
        )

    def max_with(self, other: Usage) -> Usage:
        """The field-wise maximum: the count of one request seen on several lines."""
        if self == other:  # the usual case: a line repeating the usage of the one before
            return self
        return Usage(*(max(a, b) for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        # Spelled out: called for every line of an import, where `dataclasses.fields` cost
        # more than the comparison it served.
        return (
            self.input,
            self.output,
            self.cache_creation,
            self.cache_creation_5m,
            self.cache_creation_1h,
            self.cache_read,
        )

    @property
    def context(self) -> int:
        """Tokens the model read for this request: its context size."""
        return self.input + self.cache_read + self.cache_creation

    @property
    def is_zero(self) -> bool:
        return not any(self.as_tuple())

    def as_usage_dict(self) -> dict[str, int]:
        """With Claude Code's field names (as `expected.json` writes them)."""
        values = zip(USAGE_FIELDS.values(), self.as_tuple(), strict=True)
        return dict(values)


@dataclass
class Request:
    """One API request (a response), possibly merged from several lines."""

    message_id: str
    request_id: str
    model: str
    usage: Usage
    timestamp: str
    session_id: str
    agent_id: str = ""
    # True when seen only nested in a `progress` record of the parent (a subagent's message).
    nested: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.message_id, self.request_id)


@dataclass
class Ledger:
    """Requests by key, max-wins. `add` keeps the first line's model, time and owner."""

    requests: dict[tuple[str, str], Request] = field(default_factory=dict)

    def add(self, request: Request) -> None:
        known = self.requests.get(request.key)
        if known is None:
            self.requests[request.key] = Request(**request.__dict__)
            return
        known.usage = known.usage.max_with(request.usage)
        if known.nested and not request.nested:
            # The subagent's own file owns the request; the nested copy was a stand-in.
            known.nested = False
            known.agent_id = request.agent_id or known.agent_id
        if not known.model:
            known.model = request.model

    def extend(self, requests: Iterable[Request]) -> None:
        for request in requests:
            self.add(request)

    def total(self) -> Usage:
        result = Usage()
        for request in self.requests.values():
            result = result + request.usage
        return result

    def by_model(self) -> dict[str, tuple[int, Usage]]:
        """{model: (requests, usage)}."""
        result: dict[str, tuple[int, Usage]] = {}
        for request in self.requests.values():
            count, usage = result.get(request.model, (0, Usage()))
            result[request.model] = (count + 1, usage + request.usage)
        return result
