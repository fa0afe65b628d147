"""Storing Claude Code's OTLP metrics: every point once, keyed by series, start and time.

Claude Code's eight metrics are counters (OTLP sums). Points of other metrics, of other
kinds, with temporality 0, or with a value that is not a finite non-negative number are
rejected and counted in the answer's `partialSuccess`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from integrations.models import OtlpPoint
from integrations.otlp import figures
from integrations.otlp.attributes import attributes, text
from integrations.otlp.sessions import session_id, sessions_for, user_of
from tracking import events
from tracking.models import Project

PREFIX = "claude_code."
METRICS = {
    "session.count",
    "token.usage",
    "cost.usage",
    "lines_of_code.count",
    "commit.count",
    "pull_request.count",
    "active_time.total",
    "code_edit_tool.decision",
}
TEMPORALITIES = (OtlpPoint.DELTA, OtlpPoint.CUMULATIVE)


@dataclass
class Outcome:
    """What an export did: points or records accepted, and those rejected (why)."""

    accepted: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, count: int, reason: str) -> None:
        self.rejected += count
        if reason not in self.reasons:
            self.reasons.append(reason)

    @property
    def message(self) -> str:
        return "; ".join(self.reasons)


def series_key(resource: dict, scope: str, metric: str, point: dict) -> str:
    """The idempotent identity of a series: resource attributes, scope, metric and point
    attributes, order-free."""
    text_ = json.dumps([resource, scope, metric, point], sort_keys=True, default=str)
    return hashlib.sha256(text_.encode()).hexdigest()


def _points(request) -> tuple[list[tuple[dict, Any, str, str, int]], Outcome]:
    """(attributes, point, metric name, series key, temporality) of every point of a Claude
    Code sum; the rejected ones counted. Point attributes win over the resource's."""
    outcome = Outcome()
    found = []
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope.name
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                name = metric.name.removeprefix(PREFIX)
                points = getattr(metric, kind).data_points if kind else []
                if name not in METRICS or not metric.name.startswith(PREFIX):
                    outcome.reject(len(points), f"{metric.name}: not a Claude Code metric")
                    continue
                if kind != "sum":
                    outcome.reject(len(points), f"{metric.name}: a {kind}, not a sum")
                    continue
                temporality = metric.sum.aggregation_temporality
                if temporality not in TEMPORALITIES:
                    outcome.reject(len(points), f"{metric.name}: temporality {temporality}")
                    continue
                for point in points:
                    attrs = {**resource, **attributes(point.attributes)}
                    key = series_key(resource, scope, metric.name, attributes(point.attributes))
                    found.append((attrs, point, name, key, temporality))
    return found, outcome


def _value(point) -> float | None:
    value = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def store_metrics(project: Project, request) -> Outcome:
    """Store an ExportMetricsServiceRequest's points on their sessions, once each."""
    found, outcome = _points(request)
    users: dict[str, str] = {}
    for attrs, *_ in found:
        if (sid := session_id(attrs)) is not None:
            users[sid] = users.get(sid) or user_of(attrs)
    rows = []
    with transaction.atomic():
        sessions = sessions_for(project, users)
        for attrs, point, name, key, temporality in found:
            value = _value(point)
            if value is None:
                outcome.reject(1, f"{PREFIX}{name}: value is not a finite non-negative number")
                continue
            if point.time_unix_nano <= 0:
                outcome.reject(1, f"{PREFIX}{name}: no timeUnixNano")
                continue
            sid = session_id(attrs)
            rows.append(
                OtlpPoint(
                    project=project,
                    session=sessions.get(sid) if sid else None,
                    series=key,
                    metric=name,
                    kind=text(attrs, "decision" if name == "code_edit_tool.decision" else "type"),
                    model=text(attrs, "model"),
                    temporality=temporality,
                    start_ns=point.start_time_unix_nano,
                    time_ns=point.time_unix_nano,
                    value=value,
                )
            )
        # A retried export's points are already there: the unique key drops them.
        OtlpPoint.objects.bulk_create(rows, ignore_conflicts=True)
        figures.use_metric_tokens_where_no_requests(list(sessions.values()))
        events.send_sessions_updated(sessions.values())
    outcome.accepted = len(rows)
    return outcome
