"""Storing Claude Code's OTLP events (log records), each once.

- Every event is an `OtlpEvent`, keyed by what identifies it, so a retried export adds
  nothing. Its detail keeps figures, never prompt text (unless OTLP_STORE_PROMPTS) and never
  `user.*` (the session's user is the one place those go).
- `tool_result` with a `tool_use_id` is a tool call through `tracking.ingest`, keyed by the
  tool_use id as the hooks and the transcript import key it: the same call from several
  sources is one invocation.
- `api_request` with a `request_id` is an `ApiRequest`, the transcript import's per-request
  row: one that the import already has is not stored again, and the import adopts one stored
  here (integrations/claude_code/importer/requests.py). The session's tokens are then
  recomputed from its requests, as the import does.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from integrations.claude_code.importer.totals import refresh_totals
from integrations.models import ApiRequest, OtlpEvent
from integrations.otlp.attributes import attributes, flag, moment, number, text, value_of
from integrations.otlp.metrics import Outcome
from integrations.otlp.sessions import session_id, sessions_for, user_of
from lib.ranges import DURATION_MAX_S
from lib.sql import insert_rows
from tracking import events
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session

PREFIX = "claude_code."
NAME_MAX = 50
EVENT_COLUMNS = ("project_id", "session_id", "key", "name", "time", "detail")
ON_CONFLICT = "ON CONFLICT (project_id, key) DO NOTHING"
# The attributes kept in an event's detail, by event; numbers are read by name.
KEPT = {
    "user_prompt": ("prompt_length", "command_name"),
    "tool_result": ("tool_name", "success", "duration_ms", "error", "decision_source"),
    "api_request": (
        "model", "cost_usd", "duration_ms", "input_tokens", "output_tokens",
        "cache_read_tokens", "cache_creation_tokens", "request_id",
    ),
    "api_error": ("model", "error", "status_code", "duration_ms", "attempt", "request_id"),
    "tool_decision": ("tool_name", "decision", "source"),
}  # fmt: skip
NUMBERS = {
    "prompt_length", "duration_ms", "cost_usd", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_creation_tokens", "status_code", "attempt",
}  # fmt: skip
# The api_request attributes of an ApiRequest's token fields, in REQUEST_COLUMNS' order.
TOKENS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_creation_tokens": "cache_creation_tokens",
}
# OTLP gives no split of cache writes by lifetime: those columns are 0, as for a transcript line
# without one.
UNSPLIT = ("cache_creation_5m_tokens", "cache_creation_1h_tokens", "nested")
REQUEST_COLUMNS = (
    "message_id", "request_id", "session_id", "model", "timestamp", *TOKENS.values(), *UNSPLIT,
)  # fmt: skip


def event_name(record, attrs: dict[str, Any]) -> str:
    """The event's name from `eventName`, `event.name` or a `claude_code.<name>` body."""
    body = value_of(record.body) if record.HasField("body") else None
    for candidate in (record.event_name, attrs.get("event.name"), body):
        if isinstance(candidate, str) and candidate:
            return candidate.removeprefix(PREFIX)[:NAME_MAX]
    return ""


def _time_ns(record) -> int:
    return record.time_unix_nano or record.observed_time_unix_nano


def _key(name: str, sid: str | None, attrs: dict[str, Any], time_ns: int) -> str:
    parts = [name, sid or "", time_ns]
    parts += [
        attrs.get(a, "") for a in ("event.sequence", "prompt.id", "tool_use_id", "request_id")
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _detail(name: str, attrs: dict[str, Any]) -> dict[str, Any]:
    """The event's kept attributes that were sent and readable (a missing one is left out)."""
    detail: dict[str, Any] = {}
    for attr in KEPT.get(name, ()):
        if attr == "success":
            value: Any = flag(attrs, attr)
        elif attr in NUMBERS:
            value = number(attrs, attr)
        else:
            value = text(attrs, attr) or None
        if value is not None:
            detail[attr] = value
    if name == "user_prompt" and settings.OTLP_STORE_PROMPTS and text(attrs, "prompt"):
        detail["prompt"] = str(attrs["prompt"])
    return detail


def _tool_call(sid: str, attrs: dict[str, Any], at: datetime) -> InvocationEvent | None:
    """A tool_result as the invocation the hooks and the transcript import record."""
    tool_use_id, tool = text(attrs, "tool_use_id"), text(attrs, "tool_name")
    if not tool_use_id or not tool:
        return None
    ms = number(attrs, "duration_ms")
    duration = None if ms is None or ms / 1000 > DURATION_MAX_S else ms / 1000
    success = flag(attrs, "success")
    return InvocationEvent(
        key=tool_use_id,
        session=sid,
        skill=tool,
        invoked_at=at - timedelta(seconds=duration or 0),
        completed=success,
        duration_s=duration,
        error_type="" if success is not False else text(attrs, "error")[:200],
    )


def _store_requests(found: list[tuple[Session, dict[str, Any], datetime]]) -> set[int]:
    """Store `api_request` events as ApiRequest rows, leaving out request ids already stored
    (by the import or an earlier export); the sessions that gained requests."""
    ids = sorted({text(attrs, "request_id")[:100] for _, attrs, _ in found})
    known = set(ApiRequest.objects.filter(request_id__in=ids).values_list("request_id", flat=True))
    rows: dict[str, list[object]] = {}
    for session, attrs, at in found:
        request_id = text(attrs, "request_id")[:100]
        if request_id in known or request_id in rows:
            continue
        rows[request_id] = [
            "", request_id, session.pk, text(attrs, "model")[:100],
            connection.ops.adapt_datetimefield_value(at),
            *(round(number(attrs, attr) or 0) for attr in TOKENS), 0, 0, False,
        ]  # fmt: skip
    suffix = "ON CONFLICT (message_id, request_id) DO NOTHING"
    insert_rows(ApiRequest, REQUEST_COLUMNS, list(rows.values()), suffix=suffix)
    return {row[2] for row in rows.values()}  # type: ignore[misc]


def store_logs(project: Project, request) -> Outcome:
    """Store an ExportLogsServiceRequest's events on their sessions, once each."""
    outcome = Outcome()
    records = []
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attrs = {**resource, **attributes(record.attributes)}
                name = event_name(record, attrs)
                try:
                    at = moment(_time_ns(record), "timeUnixNano")
                except ValueError as exc:
                    outcome.reject(1, str(exc))
                    continue
                if not name:
                    outcome.reject(1, "a record with no event name")
                    continue
                records.append((record, attrs, name, at))
    users: dict[str, str] = {}
    for _, attrs, _, _ in records:
        if (sid := session_id(attrs)) is not None:
            users[sid] = users.get(sid) or user_of(attrs)
    with transaction.atomic():
        sessions = sessions_for(project, users)
        rows: list[list[object]] = []
        calls, requests = [], []
        for record, attrs, name, at in records:
            sid = session_id(attrs)
            session = sessions.get(sid) if sid else None
            key = _key(name, sid, attrs, _time_ns(record))
            rows.append(
                [project.pk, session.pk if session else None, key, name,
                 connection.ops.adapt_datetimefield_value(at), json.dumps(_detail(name, attrs))]
            )  # fmt: skip
            if session is None or sid is None:
                continue
            if name == "tool_result" and (call := _tool_call(sid, attrs, at)) is not None:
                calls.append(call)
            elif name == "api_request" and text(attrs, "request_id"):
                requests.append((session, attrs, at))
        # Plain SQL (lib/sql.py): the ORM's per-row work cost more than Postgres took to store
        # them. A retried export's events are already there: the unique key drops them.
        insert_rows(OtlpEvent, EVENT_COLUMNS, rows, suffix=ON_CONFLICT)
        if calls:
            record_invocations(project, calls, source="otlp", sessions=sessions)
        if requests:
            refresh_totals(_store_requests(requests))
        events.send_sessions_updated(sessions.values())
    outcome.accepted = len(rows)
    return outcome
