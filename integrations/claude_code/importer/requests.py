"""Storing a batch's API requests: new ones inserted, known ones raised field by field
(max-wins), keyed by (message id, request id) across every file."""

from __future__ import annotations

from django.db import connection

from integrations.claude_code.accounting import USAGE_FIELDS, Ledger, Request, Usage
from integrations.claude_code.importer.reading import NewLines
from integrations.claude_code.importer.results import Stored
from integrations.claude_code.importer.sessions import SessionKey
from integrations.claude_code.pricing import count_usage
from integrations.claude_code.transcript import parse_time
from integrations.models import TOKEN_FIELDS, ApiRequest
from lib.sql import any_of, insert_rows, update_rows
from tracking.models import Session

REQUEST_COLUMNS = ("message_id", "request_id", "session_id", "model", "timestamp", "nested")
# Usage attribute for each ApiRequest token field, in the same order.
USAGE_ATTRS = dict(zip(TOKEN_FIELDS, USAGE_FIELDS, strict=True))


def store_requests(
    reads: list[NewLines], sessions: dict[SessionKey, Session], result: Stored
) -> None:
    """Insert new requests and raise known ones field by field (max-wins), keyed globally."""
    ledger = Ledger()
    for read in reads:
        ledger.extend(r for r in read.chunk.requests if r.session_id)
    if not ledger.requests:
        return
    # Plain SQL for this file's requests: the ORM's per-row work (instances, field
    # preparation) cost more than Postgres took to store them.
    table = connection.ops.quote_name(ApiRequest._meta.db_table)
    message_ids = sorted({m for m, _ in ledger.requests})
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    existing: dict[tuple[str, str], ApiRequest] = {}
    for start in range(0, len(message_ids), 500):
        condition, params = any_of(message_ids[start : start + 500])
        rows = ApiRequest.objects.raw(
            f"SELECT * FROM {table} WHERE message_id {condition}{lock}",  # noqa: S608
            params,
        )
        existing.update(((row.message_id, row.request_id), row) for row in rows)
    adopted = _adoptable(set(ledger.requests) - set(existing), lock)
    existing.update(adopted)
    new, changed = [], []
    added: dict[str, Usage] = {}  # tokens this batch adds, by model, for the metrics
    for key, request in ledger.requests.items():
        row = existing.get(key)
        if row is None:
            new.append(_new_request(request, sessions[(request.session_id, request.agent_id)]))
            added[request.model] = added.get(request.model, Usage()) + request.usage
            continue
        before = Usage(*(getattr(row, name) for name in USAGE_ATTRS))
        raised = _raise_request(row, request)
        if raised or key in adopted:
            after = Usage(*(getattr(row, name) for name in USAGE_ATTRS))
            delta = Usage(
                *(a - b for a, b in zip(after.as_tuple(), before.as_tuple(), strict=True))
            )
            added[row.model] = added.get(row.model, Usage()) + delta
            changed.append(row)
            result.sessions.add(row.session_id)
    insert_rows(ApiRequest, (*REQUEST_COLUMNS, *TOKEN_FIELDS), new)
    update_rows(ApiRequest, changed, ("message_id", *TOKEN_FIELDS, "nested"))
    result.requests_new += len(new)
    count_usage(added)
    result.requests_updated += len(changed)


def _adoptable(missing: set[tuple[str, str]], lock: str) -> dict[tuple[str, str], ApiRequest]:
    """Requests stored from OTLP `api_request` events (no message id, integrations/otlp/logs.py)
    that these transcript requests are, by request id: the import takes them over (their message
    id set, counts raised) instead of storing the same request twice."""
    by_request = {request_id: message_id for message_id, request_id in missing if request_id}
    if not by_request:
        return {}
    rows = ApiRequest.objects.filter(message_id="", request_id__in=list(by_request))
    if lock:
        rows = rows.select_for_update()
    adopted = {}
    for row in rows:
        row.message_id = by_request[row.request_id][:100]
        adopted[(by_request[row.request_id], row.request_id)] = row
    return adopted


def _new_request(request: Request, session: Session) -> list[object]:
    """The values of a new ApiRequest row, in REQUEST_COLUMNS then TOKEN_FIELDS order."""
    timestamp = parse_time(request.timestamp) if request.timestamp else session.started_at
    return [
        request.message_id[:100],
        request.request_id[:100],
        session.pk,
        request.model[:100],
        connection.ops.adapt_datetimefield_value(timestamp),
        request.nested,
        *(getattr(request.usage, attr) for attr in USAGE_ATTRS.values()),
    ]


def _raise_request(row: ApiRequest, request: Request) -> bool:
    """Raise a stored request's counts to the new ones where higher, and make it no longer
    nested once a subagent's own file has it; whether anything changed."""
    changed = False
    for name, attr in USAGE_ATTRS.items():
        value = getattr(request.usage, attr)
        if value > getattr(row, name):
            setattr(row, name, value)
            changed = True
    if row.nested and not request.nested:
        row.nested = False
        changed = True
    return changed
