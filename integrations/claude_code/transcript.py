"""Reading Claude Code's JSONL transcripts: bytes in, plain records out (no database).

The format is internal to Claude Code and changes between versions, so the reader is lenient
about what it does not use and strict about what it counts: a line that is not a JSON object
with a known `type` is counted as bad and skipped, with its line number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from integrations.claude_code.accounting import MAX_COUNT, Request, Usage
from integrations.ide.files import EditedFile, edited_file
from lib.ranges import check_not_future, check_time
from lib.text import check_text

KNOWN_TYPES = frozenset(
    {"user", "assistant", "system", "progress", "summary"}
    | {"file-history-snapshot", "queue-operation"}
)
# Longest ids stored: longer ones make the line bad rather than being cut into collisions.
MAX_SESSION_ID = 150
MAX_AGENT_ID = 40
MAX_KEY = 100


@dataclass
class ToolUse:
    id: str
    name: str
    # The name invocations are recorded under: the skill's own name for the Skill tool.
    skill: str
    timestamp: str
    session_id: str
    agent_id: str = ""
    # Relayed inside the parent's `progress` records (the subagent's own file may be missing).
    nested: bool = False
    # The kind of file an edit tool wrote (its path is not kept), for the IDE suggestions.
    edited: EditedFile | None = None


@dataclass
class ToolResult:
    tool_use_id: str
    is_error: bool
    timestamp: str
    nested: bool = False


@dataclass
class Compaction:
    uuid: str
    timestamp: str
    trigger: str
    pre_tokens: int | None
    session_id: str
    agent_id: str = ""


@dataclass
class SessionSeen:
    """What the lines of one (sessionId, agentId) said about their session."""

    first: str = ""
    last: str = ""
    cwd: str = ""
    branch: str = ""
    version: str = ""

    def see(self, record: dict[str, Any], timestamp: str) -> None:
        if timestamp:
            if not self.first or earlier(timestamp, self.first):
                self.first = timestamp
            if not self.last or earlier(self.last, timestamp):
                self.last = timestamp
        # The latest line wins: a session can change branch or be resumed by a newer CLI.
        for attr, key in (("cwd", "cwd"), ("branch", "gitBranch"), ("version", "version")):
            value = record.get(key)
            if isinstance(value, str) and value:
                setattr(self, attr, value)

    def merge(self, other: SessionSeen) -> None:
        """Add what another file's lines said about the same session (later files win)."""
        for timestamp in (other.first, other.last):
            self.see({}, timestamp)
        for attr in ("cwd", "branch", "version"):
            value = getattr(other, attr)
            if value:
                setattr(self, attr, value)


@dataclass
class Chunk:
    """Everything read from a run of complete lines of one file."""

    lines: int = 0
    blank_lines: int = 0
    bad_lines: int = 0
    types: Counter[str] = field(default_factory=Counter)
    # (line number, message) for every bad line, for warnings that name the line.
    problems: list[tuple[int, str]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    tool_uses: list[ToolUse] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)
    compactions: list[Compaction] = field(default_factory=list)
    sessions: dict[tuple[str, str], SessionSeen] = field(default_factory=dict)
    session_ids: set[str] = field(default_factory=set)
    branches: set[str] = field(default_factory=set)
    cwds: set[str] = field(default_factory=set)
    versions: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    timestamp_min: str = ""
    timestamp_max: str = ""
    # In file order (a resumed or merged file need not be sorted).
    timestamp_first: str = ""
    timestamp_last: str = ""
    # Assistant lines without a (message.id, requestId): no API request behind them.
    assistant_without_key: int = 0

    def see_time(self, timestamp: str) -> None:
        self.timestamp_first = self.timestamp_first or timestamp
        self.timestamp_last = timestamp
        if not self.timestamp_min or earlier(timestamp, self.timestamp_min):
            self.timestamp_min = timestamp
        if not self.timestamp_max or earlier(self.timestamp_max, timestamp):
            self.timestamp_max = timestamp


_times: dict[str, datetime] = {}


def parse_time(value: str) -> datetime:
    """An ISO 8601 timestamp as written by Claude Code (`...Z`), as an aware datetime.

    ValueError for one without a zone or outside `lib.ranges`' range, as at the API: a
    transcript line cannot store what an ingest request could not."""
    parsed = _times.get(value)
    if parsed is None:
        parsed = check_time(datetime.fromisoformat(value), "timestamp")
        if len(_times) > 100_000:
            _times.clear()
        _times[value] = parsed
    return parsed


def earlier(a: str, b: str) -> bool:
    """Whether timestamp `a` is before `b`. Two UTC timestamps of one shape (Claude Code
    writes `2025-06-01T12:00:00.123Z`) compare as text, without parsing: this runs several
    times for every line of an import."""
    if len(a) == len(b) and a[-1:] == b[-1:] == "Z":
        return a < b
    return parse_time(a) < parse_time(b)


def split_lines(data: bytes, *, at_end: bool = True) -> tuple[list[bytes], int]:
    """Complete lines of `data` and how many bytes they take.

    A last piece without a newline is still being written, unless it already is a whole JSON
    object (a file whose writer left out the final newline): it is left for the next run.
    """
    lines = data.split(b"\n")
    tail = lines.pop()
    consumed = len(data) - len(tail)
    if tail.strip() and at_end:
        try:
            complete = isinstance(orjson.loads(tail), dict)
        except ValueError:
            complete = False
        if complete:
            lines.append(tail)
            consumed = len(data)
    return lines, consumed


def tool_skill(name: str, tool_input: object) -> str:
    """The name a tool call is recorded under: the Skill tool as the skill it ran."""
    if name == "Skill" and isinstance(tool_input, dict):
        skill = tool_input.get("skill") or tool_input.get("command")
        if isinstance(skill, str) and skill.strip():
            return skill.strip().lstrip("/")
    return name


def _text(record: dict[str, Any], key: str) -> str:
    """A string field of a record; "" when missing or of another type."""
    value = record.get(key)
    return value if isinstance(value, str) else ""


def read_chunk(lines: list[bytes], *, first_line: int = 1, agent_id: str = "") -> Chunk:
    """Read complete lines; `first_line` numbers them, `agent_id` marks a subagent's file."""
    chunk = Chunk()
    for number, raw in enumerate(lines, start=first_line):
        chunk.lines += 1
        if not raw.strip():
            chunk.blank_lines += 1
            continue
        try:
            # orjson: the same strict JSON as the standard library's, several times faster
            # (the parse is most of an import's CPU). It refuses NaN/Infinity and invalid
            # UTF-8, which Claude Code never writes: such a line is bad either way.
            record = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            chunk.bad_lines += 1
            reason = getattr(exc, "msg", None) or "not UTF-8"
            chunk.problems.append((number, f"not JSON ({reason})"))
            continue
        kind = record.get("type") if isinstance(record, dict) else None
        if kind not in KNOWN_TYPES:
            chunk.bad_lines += 1
            what = f"unknown type {kind!r}" if isinstance(record, dict) else "not a JSON object"
            chunk.problems.append((number, what[:80]))
            continue
        chunk.types[kind] += 1
        try:
            _read_record(chunk, record, kind, agent_id)
        except (TypeError, ValueError, AttributeError) as exc:
            chunk.bad_lines += 1
            chunk.types[kind] -= 1
            chunk.problems.append((number, f"malformed {kind} record ({exc})"[:120]))
    return chunk


def _read_record(chunk: Chunk, record: dict[str, Any], kind: str, file_agent: str) -> None:
    timestamp = _text(record, "timestamp")
    if timestamp:
        # A bad timestamp makes the line bad, before anything is kept; so does one further
        # ahead of the clock than the skew every entry point allows.
        check_not_future(parse_time(timestamp), "timestamp")
    session_id = _text(record, "sessionId")
    agent_id = _text(record, "agentId") or file_agent
    if len(session_id) > MAX_SESSION_ID or len(agent_id) > MAX_AGENT_ID:
        raise ValueError("sessionId or agentId too long to be Claude Code's")
    # Everything below is kept only once every stored text of the line has been checked.
    check_text(session_id, "sessionId")
    check_text(agent_id, "agentId")
    for key in ("gitBranch", "cwd", "version"):
        if isinstance(record.get(key), str):
            check_text(record[key], key)
    request = tool_uses = None
    if kind == "assistant":
        request = _request(record, session_id, agent_id, nested=False)
        tool_uses = _tool_uses(record, timestamp, session_id, agent_id)
    if timestamp:
        chunk.see_time(timestamp)
    for target, key in (
        (chunk.session_ids, "sessionId"),
        (chunk.branches, "gitBranch"),
        (chunk.cwds, "cwd"),
        (chunk.versions, "version"),
    ):
        value = record.get(key)
        if isinstance(value, str):
            target.add(value)
    if session_id:
        seen = chunk.sessions.setdefault((session_id, agent_id), SessionSeen())
        seen.see(record, timestamp)

    if kind == "assistant":
        if request is None:
            chunk.assistant_without_key += 1
        else:
            chunk.requests.append(request)
            if request.model:
                chunk.models.add(request.model)
        chunk.tool_uses.extend(tool_uses or ())
    elif kind == "user":
        _tool_results(chunk, record, timestamp)
    elif kind == "system" and record.get("subtype") == "compact_boundary":
        meta = record.get("compactMetadata") or {}
        pre = meta.get("preTokens")
        if isinstance(pre, bool) or not isinstance(pre, int) or not 0 <= pre <= MAX_COUNT:
            pre = None
        chunk.compactions.append(
            Compaction(
                uuid=check_text(str(record.get("uuid") or f"{session_id}@{timestamp}"), "uuid"),
                timestamp=timestamp,
                trigger=check_text(str(meta.get("trigger") or ""), "trigger"),
                pre_tokens=pre,
                session_id=session_id,
                agent_id=agent_id,
            )
        )
    elif kind == "progress":
        _nested(chunk, record, session_id)


def _nested(chunk: Chunk, record: dict[str, Any], session_id: str) -> None:
    """A subagent's messages, relayed inside the parent's `progress` records."""
    data = record.get("data")
    if not isinstance(data, dict) or data.get("type") != "agent_progress":
        return
    inner = data.get("message")
    if not isinstance(inner, dict) or not session_id:
        return
    agent_id = check_text(_text(data, "agentId"), "agentId")
    timestamp = _text(inner, "timestamp")
    if timestamp:
        parse_time(timestamp)
    if inner.get("type") == "assistant":
        request = _request(inner, session_id, agent_id, nested=True, timestamp=timestamp)
        tool_uses = _tool_uses(inner, timestamp, session_id, agent_id, nested=True)
        if request is not None:
            chunk.requests.append(request)
        chunk.tool_uses.extend(tool_uses)
    elif inner.get("type") == "user":
        _tool_results(chunk, inner, timestamp, nested=True)


def _request(
    record: dict[str, Any],
    session_id: str,
    agent_id: str,
    *,
    nested: bool,
    timestamp: str | None = None,
) -> Request | None:
    message = record.get("message")
    if not isinstance(message, dict):
        raise ValueError("assistant record without a message")
    message_id, request_id = message.get("id"), record.get("requestId")
    if not isinstance(message_id, str) or not isinstance(request_id, str):
        # Synthetic messages (errors, interruptions) have no request behind them.
        return None
    if len(message_id) > MAX_KEY or len(request_id) > MAX_KEY:
        # Cut short, two different keys could become one: the line is bad instead.
        raise ValueError("message.id or requestId longer than 100 characters")
    check_text(message_id, "message.id")
    check_text(request_id, "requestId")
    model = check_text(_text(message, "model"), "model")
    return Request(
        message_id=message_id,
        request_id=request_id,
        model=model,
        usage=Usage.from_message(message.get("usage")),
        timestamp=timestamp if timestamp is not None else str(record.get("timestamp") or ""),
        session_id=session_id,
        agent_id=agent_id,
        nested=nested,
    )


def _content(record: dict[str, Any]) -> list[Any]:
    message = record.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, list) else []


def _tool_uses(
    record: dict[str, Any],
    timestamp: str,
    session_id: str,
    agent: str,
    nested: bool = False,
) -> list[ToolUse]:
    uses = []
    for block in _content(record):
        if isinstance(block, dict) and block.get("type") == "tool_use":
            tool_id, name = block.get("id"), block.get("name")
            if isinstance(tool_id, str) and isinstance(name, str) and tool_id and name:
                check_text(tool_id, "tool_use.id")
                check_text(name, "tool_use.name")
                tool_input = block.get("input")
                skill = check_text(tool_skill(name, tool_input), "tool_use.input")
                edited = edited_file(name, tool_input)
                uses.append(
                    ToolUse(tool_id, name, skill, timestamp, session_id, agent, nested, edited)
                )
    return uses


def _tool_results(
    chunk: Chunk, record: dict[str, Any], timestamp: str, nested: bool = False
) -> None:
    results = []
    for block in _content(record):
        if isinstance(block, dict) and block.get("type") == "tool_result":
            tool_id = block.get("tool_use_id")
            if isinstance(tool_id, str) and tool_id:
                is_error = block.get("is_error") is True
                check_text(tool_id, "tool_result.tool_use_id")
                results.append(ToolResult(tool_id, is_error, timestamp, nested))
    chunk.tool_results.extend(results)


def agent_id_from_path(path: str) -> str:
    """`.../<session>/subagents/agent-<id>.jsonl` → `<id>`; "" for a main transcript."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    if len(parts) >= 2 and parts[-2] == "subagents" and name.startswith("agent-"):
        return name[len("agent-") : -len(".jsonl")] if name.endswith(".jsonl") else name[6:]
    return ""


def external_id(session_id: str, agent_id: str = "") -> str:
    """The Cairn session id of a Claude Code session, or of one of its subagents."""
    return f"{session_id}:agent-{agent_id}" if agent_id else session_id
