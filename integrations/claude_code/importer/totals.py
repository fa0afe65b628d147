"""Each session's totals (tokens, models, cost, last context, end), recomputed from its
requests; the figures an import reports per session; the news for live pages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from integrations.claude_code.accounting import Usage
from integrations.claude_code.importer.requests import USAGE_ATTRS
from integrations.claude_code.pricing import cost_of
from integrations.models import TOKEN_FIELDS, ApiRequest
from lib.sql import any_of, update_rows
from tracking import events, instruments
from tracking.models import Session, SkillInvocation

MICRO_DOLLAR = Decimal("0.000001")
# The Session fields `refresh_totals` computes.
TOTAL_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_tokens",
    "cache_read_tokens",
    "models_used",
    "cost_usd",
    "context_tokens_last",
    "status",
    "ended_at",
)


def _request_totals(ids: list[int]) -> tuple[dict[int, dict[str, Usage]], dict[int, int]]:
    """Per session: tokens by model, and the context of its last turn (by time, then id).

    Plain SQL, one grouped statement per 500 sessions: this runs for every file and every
    OTLP export, and the ORM's query building cost more than Postgres took to answer."""
    table = connection.ops.quote_name(ApiRequest._meta.db_table)
    sums: dict[int, dict[str, Usage]] = defaultdict(dict)
    last_context: dict[int, int] = {}
    columns = ", ".join(f"SUM(r.{name})" for name in TOKEN_FIELDS)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            condition, params = any_of(ids[start : start + 500])
            # Each group's session's latest request through the (session, timestamp) index,
            # beside its sums: a join over all requests was planned as a full scan on a fresh
            # table. A session without requests has no group, so no last context either.
            cursor.execute(
                f"SELECT r.session_id, r.model, {columns}, "  # noqa: S608 - names only
                "(SELECT l.input_tokens + l.cache_read_tokens + l.cache_creation_tokens "
                f"FROM {table} l WHERE l.session_id = r.session_id "
                "ORDER BY l.timestamp DESC, l.id DESC LIMIT 1) "
                f"FROM {table} r WHERE r.session_id {condition} GROUP BY r.session_id, r.model",
                params,
            )
            for session_id, model, *values, context in cursor.fetchall():
                counts = [int(v or 0) for v in values]  # Postgres sums bigints as numeric
                usage = dict(zip(USAGE_ATTRS.values(), counts, strict=True))
                sums[session_id][model] = Usage(**usage)
                if context is not None:
                    last_context[session_id] = context
    return sums, last_context


def refresh_totals(session_ids: Iterable[int], loaded: Iterable[Session] = ()) -> list[Session]:
    """Recompute each session's tokens, models, cost and last context from its requests, so
    the figures are exact however the requests arrived; returns the sessions, as saved.
    `loaded`: sessions (with their `claude` facts) the caller read in this transaction, not
    read again."""
    ids = sorted(set(session_ids))
    if not ids:
        return []
    sums, last_context = _request_totals(ids)
    idle = timedelta(minutes=settings.CAIRN_SESSION_IDLE_MINUTES)
    now = timezone.now()
    changed = []
    sessions = _sessions_to_refresh(ids, loaded)
    for session in sessions:
        before = _totals_of(session)
        _set_request_totals(session, sums.get(session.pk, {}), last_context.get(session.pk))
        _end_if_idle(session, now, idle)
        if _totals_of(session) != before:
            session.updated_at = now
            changed.append(session)
    update_rows(Session, changed, (*TOTAL_FIELDS, "updated_at"))
    return sessions


def _sessions_to_refresh(ids: list[int], loaded: Iterable[Session]) -> list[Session]:
    """The sessions of `ids`, with their `claude` facts: those of `loaded` as they are, the
    others read."""
    wanted = set(ids)
    sessions = list({s.pk: s for s in loaded if s.pk in wanted}.values())
    missing = wanted - {s.pk for s in sessions}
    if missing:
        sessions += Session.objects.filter(pk__in=missing).select_related("claude")
    return sessions


def _totals_of(session: Session) -> tuple[object, ...]:
    """The session's TOTAL_FIELDS values, to tell whether a refresh changed any."""
    return tuple(getattr(session, name) for name in TOTAL_FIELDS)


def _set_request_totals(session: Session, by_model: dict[str, Usage], context: int | None) -> None:
    """The session's tokens, models and cost from its requests' sums by model, and the
    context of its last turn."""
    total = Usage()
    for usage in by_model.values():
        total = total + usage
    session.input_tokens = total.input
    session.output_tokens = total.output
    session.cache_creation_tokens = total.cache_creation
    session.cache_read_tokens = total.cache_read
    session.models_used = sorted(m for m, u in by_model.items() if m and not u.is_zero)
    cost = cost_of(by_model) if by_model else None
    # Rounded here, to the micro-dollar the column keeps, so every database rounds alike.
    session.cost_usd = cost.quantize(MICRO_DOLLAR, ROUND_HALF_UP) if cost is not None else None
    session.context_tokens_last = context


def _end_if_idle(session: Session, now: datetime, idle: timedelta) -> None:
    """A transcript has no end marker: a session quiet for longer than `idle` ended with its
    last line (the SessionEnd hook ends it at once); an ended one ends no earlier than its
    last activity."""
    facts = getattr(session, "claude", None)
    activity = facts.last_activity_at if facts else None
    if activity and session.status == Session.ACTIVE and now - activity > idle:
        session.status = Session.ENDED
        session.ended_at = activity
        instruments.sessions_ended.labels(instruments.agent_label(session.agent)).inc()
    elif activity and session.status == Session.ENDED and session.ended_at:
        session.ended_at = max(session.ended_at, activity)


def announce(session_ids: Iterable[int]) -> None:
    """Tell live pages that sessions still at work changed (sent once the transaction commits).
    Ended sessions, such as old transcripts, are not live news."""
    active = Session.objects.filter(pk__in=set(session_ids), status=Session.ACTIVE)
    events.send_sessions_updated(active.select_related("project"))


def session_figures(session_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Each session's own figures, as `import_transcripts --json` prints them, by start time.

    A few queries for all sessions together: a run can touch thousands."""
    ids = sorted(set(session_ids))
    sessions = list(
        Session.objects.filter(pk__in=ids)
        .select_related("parent", "claude")
        .order_by("started_at", "external_id")
    )
    requests = dict(
        ApiRequest.objects.filter(session_id__in=ids)
        .order_by()
        .values_list("session_id")
        .annotate(n=Count("pk"))
    )
    tools: dict[int, dict[str, int]] = defaultdict(dict)
    errors: dict[int, int] = defaultdict(int)
    calls = (
        SkillInvocation.objects.filter(session_id__in=ids)
        .order_by()
        .values_list("session_id", "skill", "completed")
        .annotate(n=Count("pk"))
    )
    for session_id, skill, completed, n in calls:
        tools[session_id][skill] = tools[session_id].get(skill, 0) + n
        errors[session_id] += n if completed is False else 0
    result = []
    for session in sessions:
        facts = getattr(session, "claude", None)
        ended = session.ended_at or (facts.last_activity_at if facts else None)
        parent = session.parent
        result.append(
            {
                "id": session.external_id,
                "parent": parent.external_id if parent is not None else None,
                "requests": requests.get(session.pk, 0),
                "tokens": {
                    "input": session.input_tokens,
                    "output": session.output_tokens,
                    "cache_creation": session.cache_creation_tokens,
                    "cache_read": session.cache_read_tokens,
                },
                "tool_calls": dict(sorted(tools[session.pk].items())),
                "tool_errors": errors[session.pk],
                "cost_usd": float(session.cost_usd) if session.cost_usd is not None else None,
                "started_at": _iso(session.started_at),
                "ended_at": _iso(ended),
            }
        )
    return result


def _iso(value: datetime | None) -> str | None:
    """A time as the figures show it: UTC, to the millisecond, with a `Z`."""
    if value is None:
        return None
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
