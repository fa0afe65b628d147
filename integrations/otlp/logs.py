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
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import DecimalField, FloatField, Value
from django.db.models.functions import Coalesce

from integrations.claude_code.accounting import Usage
from integrations.claude_code.importer.totals import refresh_totals
from integrations.claude_code.pricing import count_usage
from integrations.models import ApiRequest, OtlpEvent
from integrations.otlp.attributes import attributes, flag, moment, number, text, value_of
from integrations.otlp.figures import MICRO_DOLLAR
from integrations.otlp.metrics import Outcome
from integrations.otlp.sessions import session_id, sessions_for, user_of
from lib.ranges import DURATION_MAX_S
from lib.sql import any_of, insert_rows
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
REQUESTS = connection.ops.quote_name(ApiRequest._meta.db_table)
REQUEST_COLUMNS = (
    "message_id", "request_id", "session_id", "model", "timestamp", *TOKENS.values(), *UNSPLIT,
    "cost_usd", "duration_ms",
)  # fmt: skip
# ApiRequest.cost_usd's largest value (numeric(14, 6)); a larger report is not stored.
COST_LIMIT = Decimal("99999999.999999")


# The attributes a record is read for; the others (terminal.type, organization.id, …) are not
# converted from their AnyValues at all.
READ = frozenset(
    {"session.id", "event.name", "event.sequence", "prompt.id", "tool_use_id", "request_id",
     "user.email", "user.account_uuid", "prompt", *(a for kept in KEPT.values() for a in kept)}
)  # fmt: skip


def _text_or_none(attrs: dict[str, Any], name: str) -> str | None:
    return text(attrs, name) or None


# Per event, how each kept attribute is read: (name, reader), decided once, not per record.
READERS = {
    name: tuple(
        (a, flag if a == "success" else number if a in NUMBERS else _text_or_none) for a in kept
    )
    for name, kept in KEPT.items()
}


class Record(NamedTuple):  # a tuple: a frozen dataclass per record cost more to build
    """A log record as read: its event name, session id (None: none that can be stored),
    attributes, time in nanoseconds and as a datetime."""

    name: str
    sid: str | None
    attrs: dict[str, Any]
    time_ns: int
    at: datetime


def event_name(record, attrs: dict[str, Any]) -> str:
    """The event's name from `eventName`, `event.name` or a `claude_code.<name>` body."""
    for candidate in (record.event_name, attrs.get("event.name")):
        if isinstance(candidate, str) and candidate:
            return candidate.removeprefix(PREFIX)[:NAME_MAX]
    # The body is read only when neither names the event.
    body = value_of(record.body) if record.HasField("body") else None
    if isinstance(body, str) and body:
        return body.removeprefix(PREFIX)[:NAME_MAX]
    return ""


def _key(name: str, sid: str | None, attrs: dict[str, Any], time_ns: int) -> str:
    parts = [name, sid or "", time_ns]
    parts += [
        attrs.get(a, "") for a in ("event.sequence", "prompt.id", "tool_use_id", "request_id")
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _detail(name: str, attrs: dict[str, Any], store_prompts: bool) -> dict[str, Any]:
    """The event's kept attributes that were sent and readable (a missing one is left out)."""
    detail: dict[str, Any] = {}
    for attr, read in READERS.get(name, ()):
        if attr in attrs and (value := read(attrs, attr)) is not None:
            detail[attr] = value
    if name == "user_prompt" and store_prompts and text(attrs, "prompt"):
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


def _known_requests(ids: list[str]) -> set[str]:
    """Those of `ids` already stored: by the import (with a message id) or an earlier export."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One index probe per id (LATERAL … LIMIT 1). For `request_id = ANY(<250 ids>)`
            # the planner priced the index like a full scan and took the scan on a table of
            # 40,000 requests: 10 ms, against 0.4 ms, and growing with the table.
            cursor.execute(
                "SELECT want.id FROM unnest(%s::text[]) AS want(id) CROSS JOIN LATERAL "  # noqa: S608
                f"(SELECT 1 FROM {REQUESTS} r WHERE r.request_id = want.id LIMIT 1) AS found",
                [ids],
            )
        else:
            condition, params = any_of(ids)
            cursor.execute(
                f"SELECT request_id FROM {REQUESTS} WHERE request_id {condition}",  # noqa: S608
                params,
            )
        return {request_id for (request_id,) in cursor.fetchall()}


def request_cost(attrs: dict[str, Any]) -> Decimal | None:
    """An `api_request`'s reported `cost_usd` to the micro-dollar; None when absent or beyond
    what the column holds."""
    cost = number(attrs, "cost_usd")
    if cost is None:
        return None
    exact = Decimal(repr(cost)).quantize(MICRO_DOLLAR)
    return exact if exact <= COST_LIMIT else None


def _store_requests(found: list[tuple[Session, dict[str, Any], datetime]]) -> set[int]:
    """Store `api_request` events as ApiRequest rows, leaving out request ids already stored
    (by the import or an earlier export), whose reported cost and duration fill in where the
    row has none (a transcript has neither); the sessions that gained requests."""
    known = _known_requests(sorted({text(attrs, "request_id")[:100] for _, attrs, _ in found}))
    adapt = connection.ops.adapt_datetimefield_value
    rows: dict[str, list[object]] = {}
    for session, attrs, at in found:
        request_id = text(attrs, "request_id")[:100]
        cost, duration = request_cost(attrs), number(attrs, "duration_ms")
        if request_id in known:
            _fill_in(request_id, cost, duration)
            continue
        if request_id in rows:
            continue
        rows[request_id] = [
            "", request_id, session.pk, text(attrs, "model")[:100], adapt(at),
            *(round(number(attrs, attr) or 0) for attr in TOKENS), 0, 0, False, cost, duration,
        ]  # fmt: skip
    suffix = (
        "ON CONFLICT (message_id, request_id) DO NOTHING "
        "RETURNING model, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens"
    )
    stored = insert_rows(ApiRequest, REQUEST_COLUMNS, list(rows.values()), suffix=suffix)
    # Counted as the import counts its own (which adds only what it raises on a row it takes
    # over from here): each request's tokens once, priced by the same table. OTLP gives no
    # split of cache writes by lifetime: all are 5-minute ones, as for a transcript line.
    added: dict[str, Usage] = {}
    for model, given, output, read, creation in stored:
        usage = Usage(
            input=given,
            output=output,
            cache_creation=creation,
            cache_creation_5m=creation,
            cache_read=read,
        )
        added[model] = added.get(model, Usage()) + usage
    count_usage(added)
    return {row[2] for row in rows.values()}  # type: ignore[misc]


def _fill_in(request_id: str, cost: Decimal | None, duration: float | None) -> None:
    """Give a stored request the reported cost and duration it lacks (never overwritten:
    a retried export reports the same)."""
    given: dict[str, Any] = {}
    if cost is not None:
        given["cost_usd"] = Coalesce("cost_usd", Value(cost, output_field=DecimalField()))
    if duration is not None:
        given["duration_ms"] = Coalesce("duration_ms", Value(duration, output_field=FloatField()))
    if given:
        ApiRequest.objects.filter(request_id=request_id).update(**given)


def read_records(request, outcome: Outcome) -> list[Record]:
    """The export's records that have a time and an event name; the others rejected in
    `outcome` with the reason. Only the attributes in READ are converted."""
    records = []
    # Session ids repeat on every record: each distinct one is checked once.
    sids: dict[str, str | None] = {}
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes, READ)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                attrs = attributes(record.attributes, READ)
                if resource:
                    attrs = {**resource, **attrs}
                time_ns = record.time_unix_nano or record.observed_time_unix_nano
                try:
                    at = moment(time_ns, "timeUnixNano")
                except ValueError as exc:
                    outcome.reject(1, str(exc))
                    continue
                name = event_name(record, attrs)
                if not name:
                    outcome.reject(1, "a record with no event name")
                    continue
                raw = attrs.get("session.id")
                if not isinstance(raw, str):
                    sid = None
                elif raw in sids:
                    sid = sids[raw]
                else:
                    sid = sids[raw] = session_id(attrs)
                records.append(Record(name, sid, attrs, time_ns, at))
    return records


def store_logs(project: Project, request) -> Outcome:
    """Store an ExportLogsServiceRequest's events on their sessions, once each."""
    outcome = Outcome()
    records = read_records(request, outcome)
    users: dict[str, str] = {}
    for r in records:
        if r.sid is not None and not users.get(r.sid):
            users[r.sid] = user_of(r.attrs)
    adapt = connection.ops.adapt_datetimefield_value
    store_prompts = settings.OTLP_STORE_PROMPTS
    with transaction.atomic():
        sessions = sessions_for(project, users)
        rows: list[list[object]] = []
        calls, requests = [], []
        for r in records:
            session = sessions.get(r.sid) if r.sid else None
            key = _key(r.name, r.sid, r.attrs, r.time_ns)
            # orjson: json.dumps took ten times as long for these small objects.
            detail = orjson.dumps(_detail(r.name, r.attrs, store_prompts)).decode()
            rows.append(
                [project.pk, session.pk if session else None, key, r.name, adapt(r.at), detail]
            )
            if session is None or r.sid is None:
                continue
            if r.name == "tool_result" and (call := _tool_call(r.sid, r.attrs, r.at)) is not None:
                calls.append(call)
            elif r.name == "api_request" and text(r.attrs, "request_id"):
                requests.append((session, r.attrs, r.at))
        # Plain SQL (lib/sql.py): the ORM's per-row work cost more than Postgres took to store
        # them. A retried export's events are already there: the unique key drops them.
        insert_rows(OtlpEvent, EVENT_COLUMNS, rows, suffix=ON_CONFLICT)
        # The requests before the tool calls: the calls' rollup rows (one per skill and hour,
        # shared by every export of the project) stay locked until the commit, so the less
        # comes after them the less concurrent exports wait. The transcript import stores its
        # requests first too; the session totals stay last, after the rollups, as there.
        grown = _store_requests(requests) if requests else set()
        if calls:
            record_invocations(project, calls, source="otlp", sessions=sessions)
        # The refreshed sessions replace the ones read above, so that the live frames carry
        # the totals with this export's requests in them.
        for session in refresh_totals(grown):
            session.project = project
            sessions[session.external_id] = session
        events.send_sessions_updated(sessions.values())
    outcome.accepted = len(rows)
    return outcome
