"""Properties of the transcript line reader: any lines give a Chunk that accounts for every line,
never an exception, and every token count and time kept is inside its range."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given
from hypothesis import strategies as st

from integrations.claude_code.accounting import MAX_COUNT
from integrations.claude_code.transcript import KNOWN_TYPES, parse_time, read_chunk
from tests.properties import PROPERTY

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["2026-11-20T10:00:00.000Z", "0001-01-01T00:00:00+14:00", "9999-12-31"])
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
USAGE = st.dictionaries(
    st.sampled_from(
        ["input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
    ),
    SCALARS,
)
CONTENT = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["tool_use", "tool_result", "text"]) | SCALARS},
        optional={"id": SCALARS, "name": SCALARS, "tool_use_id": SCALARS, "is_error": SCALARS},
    ),
    max_size=3,
)
RECORDS = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(KNOWN_TYPES)) | SCALARS},
    optional={
        "timestamp": SCALARS,
        "sessionId": SCALARS,
        "agentId": SCALARS,
        "requestId": SCALARS,
        "cwd": SCALARS,
        "subtype": st.just("compact_boundary") | SCALARS,
        "compactMetadata": VALUES,
        "data": VALUES,
        "message": st.fixed_dictionaries(
            {},
            optional={"id": SCALARS, "model": SCALARS, "usage": USAGE, "content": CONTENT},
        )
        | VALUES,
    },
)


def dumps(value: object) -> bytes:
    # The standard library writes integers of any size and escapes lone surrogates, as a
    # hostile writer could; orjson would refuse to write them.
    return json.dumps(value).encode()


LINES = st.lists(RECORDS.map(dumps) | st.binary(max_size=40) | VALUES.map(dumps), max_size=6)


@PROPERTY
@given(LINES)
def test_any_lines_give_a_chunk_that_accounts_for_each_line(lines):
    lines = [line.replace(b"\n", b" ") for line in lines]
    chunk = read_chunk(lines)
    assert chunk.lines == len(lines)
    assert chunk.blank_lines + chunk.bad_lines + sum(chunk.types.values()) == len(lines)
    assert len(chunk.problems) == chunk.bad_lines
    for request in chunk.requests:
        for count in dataclasses.astuple(request.usage):
            assert isinstance(count, int) and 0 <= count <= MAX_COUNT
    for moment in (chunk.timestamp_min, chunk.timestamp_max):
        if moment:
            parse_time(moment)
    for compaction in chunk.compactions:
        assert compaction.pre_tokens is None or 0 <= compaction.pre_tokens <= MAX_COUNT
