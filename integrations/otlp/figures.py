"""A session's figures from Claude Code's OTLP metrics and events, and its sources.

A metric's total is the sum of its delta points plus, for each cumulative (series, start),
the value at the latest time: a retried or reordered export changes nothing, and a new start
(a restarted CLI) is a reset that adds its own total.

Token totals come from one source, never summed across sources: per-request figures
(`ApiRequest` rows, from the transcript import or OTLP `api_request` events, sharing their
request keys) when the session has any; otherwise OTLP `token.usage`; otherwise not measured.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from integrations.models import ApiRequest, OtlpEvent, OtlpPoint, TranscriptFile
from tracking.models import Session

MICRO_DOLLAR = Decimal("0.000001")
# OTLP `token.usage` types, as the Session's token fields.
TOKEN_TYPES = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cacheCreation": "cache_creation_tokens",
    "cacheRead": "cache_read_tokens",
}
REQUESTS, OTLP_METRICS = "requests", "otlp_metrics"


def metric_totals(
    session_ids: list[int], until: datetime | None = None
) -> dict[int, dict[tuple[str, str], float]]:
    """Per session: each (metric, kind)'s total, from its stored points (only those whose time
    is at or before `until`, when given: the total as it stood then)."""
    delta: dict[int, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    latest: dict[tuple[int, str, int], tuple[int, float, str, str]] = {}
    points = OtlpPoint.objects.filter(session_id__in=session_ids)
    if until is not None:
        points = points.filter(time_ns__lte=int(until.timestamp() * 1_000_000_000))
    rows = points.values_list(
        "session_id", "series", "metric", "kind", "temporality", "start_ns", "time_ns", "value"
    )
    for session_id, series, metric, kind, temporality, start, time, value in rows:
        if temporality == OtlpPoint.DELTA:
            delta[session_id][(metric, kind)] += value
            continue
        key = (session_id, series, start)
        if key not in latest or time > latest[key][0]:
            latest[key] = (time, value, metric, kind)
    for (session_id, _, _), (_, value, metric, kind) in latest.items():
        delta[session_id][(metric, kind)] += value
    return {pk: dict(totals) for pk, totals in delta.items()}


def cost_until(session_ids: list[int], until: datetime) -> Decimal | None:
    """The USD cost OTLP `cost.usage` had reported for these sessions by `until` (None when it
    reported none). Exact to the export interval: a point counts at its end time."""
    found = [
        value
        for totals in metric_totals(session_ids, until).values()
        if (value := _sum(totals, "cost.usage")) is not None
    ]
    return Decimal(str(sum(found))).quantize(MICRO_DOLLAR, ROUND_HALF_UP) if found else None


def reports_cost(session_ids: list[int]) -> bool:
    """Whether OTLP sent any `cost.usage` point for these sessions."""
    return OtlpPoint.objects.filter(session_id__in=session_ids, metric="cost.usage").exists()


def _sum(
    totals: dict[tuple[str, str], float], metric: str, kind: str | None = None
) -> float | None:
    found = [v for (m, k), v in totals.items() if m == metric and (kind is None or k == kind)]
    return sum(found) if found else None


def otlp_figures(session: Session) -> dict[str, Any] | None:
    """The OTLP-only figures of a session (null where no point was sent), or None when OTLP
    sent nothing for it."""
    return figures_of(metric_totals([session.pk]).get(session.pk))


def live_fields(sessions: list[Session]) -> dict[int, dict[str, Any]]:
    """`otlp` (the OTLP-only figures) of each session for its live `session_updated` frame,
    read in one query for the whole batch (tracking.panels.register_live_session_fields)."""
    totals = metric_totals([s.pk for s in sessions])
    return {s.pk: {"otlp": figures_of(totals.get(s.pk))} for s in sessions}


def figures_of(totals: dict[tuple[str, str], float] | None) -> dict[str, Any] | None:
    """The OTLP-only figures from a session's metric totals; None without any."""
    if totals is None:
        return None

    def whole(value: float | None) -> int | None:
        return None if value is None else round(value)

    return {
        "active_time_s": {
            "user": _sum(totals, "active_time.total", "user"),
            "cli": _sum(totals, "active_time.total", "cli"),
        },
        "lines_added": whole(_sum(totals, "lines_of_code.count", "added")),
        "lines_removed": whole(_sum(totals, "lines_of_code.count", "removed")),
        "edit_decisions": {
            "accept": whole(_sum(totals, "code_edit_tool.decision", "accept")),
            "reject": whole(_sum(totals, "code_edit_tool.decision", "reject")),
        },
        "commits": whole(_sum(totals, "commit.count")),
        "pull_requests": whole(_sum(totals, "pull_request.count")),
    }


def token_source(session: Session) -> str | None:
    """Which source the session's tokens come from: "requests", "otlp_metrics" or None."""
    if ApiRequest.objects.filter(session=session).exists():
        return REQUESTS
    if OtlpPoint.objects.filter(session=session, metric="token.usage").exists():
        return OTLP_METRICS
    return None


def use_metric_tokens_where_no_requests(sessions: list[Session]) -> None:
    """Give each session without per-request figures its tokens and cost from `token.usage`
    and `cost.usage`; a session with requests keeps theirs (the import's totals)."""
    ids = [s.pk for s in sessions]
    with_requests = set(
        ApiRequest.objects.filter(session_id__in=ids).values_list("session_id", flat=True)
    )
    all_totals = metric_totals([pk for pk in ids if pk not in with_requests])
    for session in sessions:
        totals = all_totals.get(session.pk)
        if totals is None or _sum(totals, "token.usage") is None:
            continue
        values: dict[str, Any] = {
            field: round(_sum(totals, "token.usage", kind) or 0)
            for kind, field in TOKEN_TYPES.items()
        }
        cost = _sum(totals, "cost.usage")
        values["cost_usd"] = (
            None if cost is None else Decimal(str(cost)).quantize(MICRO_DOLLAR, ROUND_HALF_UP)
        )
        Session.objects.filter(pk=session.pk).update(**values)
        for name, value in values.items():
            setattr(session, name, value)


def request_figures(session: Session) -> dict[str, Any]:
    """The session's API requests (transcript or OTLP) and what OTLP reported of them: the
    summed `cost_usd` and the median `duration_ms` over the requests that reported each,
    with how many did (None: none did)."""
    reported = ApiRequest.objects.filter(session=session).values_list("cost_usd", "duration_ms")
    costs = [cost for cost, _ in reported if cost is not None]
    durations = [duration for _, duration in reported if duration is not None]
    return {
        "count": len(reported),
        "with_cost": len(costs),
        "reported_cost_usd": sum(costs) if costs else None,
        "with_duration": len(durations),
        "median_duration_ms": statistics.median(durations) if durations else None,
    }


def otlp_facts(session: Session) -> dict[str, Any]:
    """The session REST detail's additions (tracking.panels.register_session_facts): the
    sources seen here, the token source, the OTLP-only figures (null: none sent) and the
    API requests' reported cost and duration."""
    requests = request_figures(session)
    if requests["reported_cost_usd"] is not None:
        # As the REST session's own cost_usd: a decimal string, exact.
        requests["reported_cost_usd"] = str(requests["reported_cost_usd"])
    return {
        "sources": sources(session),
        "token_source": token_source(session),
        "otlp": otlp_figures(session),
        "api_requests": requests,
    }


def sources(session: Session) -> list[str]:
    """The sources of the session that Claude Code's own files and exports are: `transcript`
    and `otlp` (tracking adds hooks and ingest from the session's invocations)."""
    found = set()
    if TranscriptFile.objects.filter(session=session).exists():
        found.add("transcript")
    if (
        OtlpPoint.objects.filter(session=session).exists()
        or OtlpEvent.objects.filter(session=session).exists()
    ):
        found.add("otlp")
    return sorted(found)
