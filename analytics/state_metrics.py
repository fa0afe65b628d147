"""Analytics' figures read from the database when /metrics is scraped: open anomalies and the
worker's last success (added to tracking's scrape in `AnalyticsConfig.ready`)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from analytics.models import SkillAnomaly, WorkerHeartbeat
from tracking import instruments


def analytics_state() -> Iterator[Metric]:
    """`cairn_anomalies_open` by metric and type (every pair, 0 included) and
    `cairn_worker_last_success_timestamp_seconds` of each worker that has succeeded once."""
    open_ = GaugeMetricFamily(
        "cairn_anomalies_open", "Anomalies open now, by metric and type.", labels=["metric", "type"]
    )
    counts = dict.fromkeys(
        ((m, t) for m in instruments.ANOMALY_METRICS for t in instruments.ANOMALY_TYPES), 0
    )
    rows = (
        SkillAnomaly.objects.filter(status=SkillAnomaly.OPEN)
        .values_list("metric", "anomaly_type")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for metric, kind, n in rows:
        counts[(metric, kind)] = n
    for (metric, kind), n in counts.items():
        open_.add_metric([metric, kind], n)
    yield open_
    last = GaugeMetricFamily(
        "cairn_worker_last_success_timestamp_seconds",
        "Unix time of the worker's last run without errors.",
        labels=["worker"],
    )
    beats = WorkerHeartbeat.objects.filter(last_success_at__isnull=False)
    for beat in beats.only("worker", "last_success_at"):
        assert beat.last_success_at is not None  # filtered above
        last.add_metric([beat.worker], beat.last_success_at.timestamp())
    yield last
