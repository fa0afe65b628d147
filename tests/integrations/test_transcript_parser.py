"""The pure reader against every figure of expected.json (no database)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from integrations.claude_code.accounting import Ledger, Usage
from integrations.claude_code.pricing import cost_of
from integrations.claude_code.transcript import (
    agent_id_from_path,
    earlier,
    read_chunk,
    split_lines,
    tool_skill,
)

from .conftest import EXPECTED, MAIN, data_path

FILES = sorted(EXPECTED["files"])


def _read(relative: str):
    lines, consumed = split_lines(data_path(relative).read_bytes())
    return read_chunk(lines, agent_id=agent_id_from_path(relative)), consumed


def _top_level(chunk) -> Ledger:
    ledger = Ledger()
    ledger.extend(r for r in chunk.requests if not r.nested)
    return ledger


@pytest.mark.parametrize("relative", FILES)
def test_it_reads_every_figure_of_each_file(relative):
    expected = EXPECTED["files"][relative]
    chunk, consumed = _read(relative)
    assert consumed == data_path(relative).stat().st_size
    assert chunk.lines == expected["lines"]
    assert dict(chunk.types) == expected["types"]
    assert chunk.bad_lines == expected["bad_lines"]
    assert chunk.blank_lines == expected["blank_lines"]
    ledger = _top_level(chunk)
    assert len(ledger.requests) == expected["unique_keys"]
    assert ledger.total().as_usage_dict() == expected["tokens_max_wins"]
    by_model = {
        model: {"unique_keys": n, "max_wins": usage.as_usage_dict()}
        for model, (n, usage) in ledger.by_model().items()
    }
    assert by_model == {
        m: {"unique_keys": v["unique_keys"], "max_wins": v["max_wins"]}
        for m, v in expected["by_model"].items()
    }
    top_uses = [u for u in chunk.tool_uses if not u.nested]
    assert dict(Counter(u.name for u in top_uses)) == expected["tool_use_by_name"]
    top_results = [r for r in chunk.tool_results if not r.nested]
    assert len(top_results) == expected["tool_result_blocks"]
    assert sum(r.is_error for r in top_results) == expected["tool_result_is_error"]
    assert len(top_uses) == expected["tool_use_blocks"]
    assert len({u.id for u in top_uses}) == expected["tool_use_unique_ids"]
    assert len({r.tool_use_id for r in top_results}) == expected["tool_result_unique_ids"]
    errors = {r.tool_use_id for r in top_results if r.is_error}
    assert len(errors) == expected["tool_result_is_error_unique_ids"]
    assert chunk.types["assistant"] == expected["assistant_lines"]
    assert chunk.assistant_without_key == expected["assistant_lines_without_key"]
    own = [r for r in chunk.requests if not r.nested]
    assert min(r.timestamp for r in own) == expected["assistant_timestamp_min"]
    assert max(r.timestamp for r in own) == expected["assistant_timestamp_max"]
    assert chunk.timestamp_first == expected["timestamp_first"]
    assert chunk.timestamp_last == expected["timestamp_last"]
    kind = "subagent" if agent_id_from_path(relative) else "main"
    assert kind == expected["kind"]
    first, last = _first_and_last_wins(own)
    assert first.as_usage_dict() == expected["tokens_first_wins"]
    assert last.as_usage_dict() == expected["tokens_last_wins"]
    first_by_model = _first_and_last_wins(own, by_model=True)
    assert first_by_model == {m: v["first_wins"] for m, v in expected["by_model"].items()}
    assert chunk.timestamp_min == expected["timestamp_min"]
    assert chunk.timestamp_max == expected["timestamp_max"]
    assert sorted(chunk.session_ids) == expected["session_ids"]
    assert sorted(chunk.branches) == expected["git_branches"]
    assert sorted(chunk.cwds) == expected["cwds"]
    assert sorted(chunk.versions) == expected["versions"]
    assert sorted(chunk.models) == expected["models"]
    nested = [r for r in chunk.requests if r.nested]
    assert len(nested) == expected["nested_agent_progress_assistant_lines"]


def _first_and_last_wins(requests, *, by_model: bool = False):
    """What readers that keep the first (or last) line of each request count."""
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for request in requests:
        first.setdefault(request.key, request)
        last[request.key] = request
    if by_model:
        totals: dict[str, Usage] = {}
        for request in first.values():
            totals[request.model] = totals.get(request.model, Usage()) + request.usage
        return {model: usage.as_usage_dict() for model, usage in totals.items()}
    total_first, total_last = Usage(), Usage()
    for request in first.values():
        total_first = total_first + request.usage
    for request in last.values():
        total_last = total_last + request.usage
    return total_first, total_last


def test_it_attributes_every_key_to_one_file():
    """No request appears in two files of the data set: each file keeps all its keys."""
    owners: dict = {}
    for relative in FILES:
        chunk, _ = _read(relative)
        for key in _top_level(chunk).requests:
            owners.setdefault(key, set()).add(relative)
    for relative, expected in EXPECTED["files"].items():
        mine = [k for k, files in owners.items() if relative in files]
        shared = [k for k in mine if len(owners[k]) > 1]
        assert len(shared) == expected["keys_also_in_other_files"]
        assert len(mine) == expected["unique_keys_attributed"]
        attributed = Ledger()
        attributed.extend(_top_level(_read(relative)[0]).requests.values())
        assert attributed.total().as_usage_dict() == expected["tokens_attributed_max_wins"]


@pytest.mark.parametrize("main", sorted(EXPECTED["sessions_main_plus_subagents"]))
def test_it_counts_a_session_with_its_subagents_once(main):
    expected = EXPECTED["sessions_main_plus_subagents"][main]
    ledger = Ledger()
    for relative in [main, *expected["subagent_files"]]:
        ledger.extend(_read(relative)[0].requests)
    assert len(ledger.requests) == expected["unique_keys"]
    assert ledger.total().as_usage_dict() == expected["tokens_max_wins"]
    assert {m: u.as_usage_dict() for m, (_, u) in ledger.by_model().items()} == {
        m: v["max_wins"] for m, v in expected["by_model"].items()
    }


def test_it_counts_nested_subagent_messages_once_with_the_subagents_file():
    expected = EXPECTED["sessions_main_plus_subagents"][MAIN]
    main_only = Ledger()
    main_only.extend(_read(MAIN)[0].requests)
    subagent = MAIN.removesuffix(".jsonl") + "/subagents/agent-a2898e3.jsonl"
    # Without the subagent's file its relayed messages still count, attributed to the agent.
    nested_keys = {k for k, r in main_only.requests.items() if r.nested}
    assert nested_keys <= set(_top_level(_read(subagent)[0]).requests)
    assert {r.agent_id for r in main_only.requests.values() if r.nested} == {"a2898e3"}
    both = Ledger()
    both.extend(_read(subagent)[0].requests)
    both.extend(main_only.requests.values())
    assert len(both.requests) == expected["unique_keys"] - 1  # all but the compaction agent's


def test_it_takes_the_largest_value_of_each_field_not_the_first():
    expected = EXPECTED["files"][MAIN]
    chunk, _ = _read(MAIN)
    first: dict[str, Usage] = {}
    for request in chunk.requests:
        if not request.nested:
            first.setdefault(request.key, request.usage)
    total = Usage()
    for usage in first.values():
        total = total + usage
    assert total.output == expected["tokens_first_wins"]["output_tokens"] == 7933
    assert _top_level(chunk).total().output == 28755


def test_it_prices_the_session_with_its_subagents():
    ledger = Ledger()
    expected = EXPECTED["sessions_main_plus_subagents"][MAIN]
    for relative in [MAIN, *expected["subagent_files"]]:
        ledger.extend(_read(relative)[0].requests)
    by_model = {m: u for m, (_, u) in ledger.by_model().items()}
    cost = cost_of(by_model)
    assert cost is not None and round(cost, 4) == Decimal("10.1137")


def test_it_says_cost_not_known_for_a_model_without_a_price():
    usage = Usage(input=10, output=5)
    assert cost_of({"claude-opus-4-6": usage, "gpt-9": usage}) is None
    assert cost_of({"claude-opus-4-6": usage, "gpt-9": Usage()}) == Decimal("0.000175")


def test_it_prices_one_hour_cache_writes_at_their_own_rate():
    usage = Usage(cache_creation=1_000_000, cache_creation_1h=1_000_000)
    assert cost_of({"claude-opus-4-6-20260101": usage}) == Decimal(10)


def test_it_leaves_a_partial_last_line_for_later():
    data = b'{"type":"user"}\n{"type":"assis'
    lines, consumed = split_lines(data)
    assert lines == [b'{"type":"user"}'] and consumed == 16
    lines, consumed = split_lines(b'{"type":"user"}\n{"type":"user"}')
    assert len(lines) == 2 and consumed == 31


def test_it_counts_and_names_bad_lines():
    chunk = read_chunk(
        [b'{"type":"user"}', b"garbage{", b"[1]", b'{"type":"wat"}', b"", b'{"type":"user"}'],
        first_line=10,
    )
    assert (chunk.lines, chunk.bad_lines, chunk.blank_lines) == (6, 3, 1)
    assert [n for n, _ in chunk.problems] == [11, 12, 13]
    assert "unknown type 'wat'" in chunk.problems[2][1]


def test_it_names_skills_and_mcp_tools():
    assert tool_skill("Skill", {"skill": "pdf"}) == "pdf"
    assert tool_skill("Skill", {}) == "Skill"
    assert tool_skill("mcp__github__create_issue", {}) == "mcp__github__create_issue"


def test_it_counts_ids_too_long_to_store_as_bad_lines():
    long_session = b'{"type":"user","sessionId":"' + b"s" * 151 + b'"}'
    long_key = (
        b'{"type":"assistant","sessionId":"s","requestId":"' + b"r" * 101 + b'",'
        b'"message":{"id":"msg_1","usage":{"output_tokens":5}}}'
    )
    chunk = read_chunk([long_session, long_key])
    assert chunk.bad_lines == 2 and not chunk.requests
    assert "too long" in chunk.problems[0][1] and "longer than 100" in chunk.problems[1][1]


def test_it_counts_unbelievable_token_counts_as_bad_lines():
    line = (
        b'{"type":"assistant","sessionId":"s","requestId":"req_1",'
        b'"message":{"id":"msg_1","usage":{"output_tokens":99999999999999999999}}}'
    )
    chunk = read_chunk([line])
    assert chunk.bad_lines == 1 and not chunk.requests
    assert "not believable" in chunk.problems[0][1]


def test_it_orders_timestamps_of_different_shapes_by_time_not_text():
    # Same shape: text order is time order. Different shapes: text order would be wrong.
    assert earlier("2025-06-01T12:00:00.123Z", "2025-06-01T12:00:00.124Z")
    assert not earlier("2025-06-01T12:00:00.124Z", "2025-06-01T12:00:00.123Z")
    assert earlier("2025-06-01T12:00:00.5Z", "2025-06-01T12:00:00.123456Z") is False
    assert earlier("2025-06-01T13:30:00+02:00", "2025-06-01T12:00:00.000Z")
    chunk = read_chunk(
        [
            b'{"type":"user","sessionId":"s","timestamp":"2025-06-01T12:00:00.5Z"}',
            b'{"type":"user","sessionId":"s","timestamp":"2025-06-01T12:00:00.123456Z"}',
        ]
    )
    assert (chunk.timestamp_min, chunk.timestamp_max) == (
        "2025-06-01T12:00:00.123456Z",
        "2025-06-01T12:00:00.5Z",
    )
    assert chunk.sessions[("s", "")].first == "2025-06-01T12:00:00.123456Z"
