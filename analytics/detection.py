"""One anomaly evaluation run: the rollups read, the tests applied, the stored lifecycle kept.

`evaluate(at)` is what `manage.py analytics_worker` runs. It depends only on `at` and the
database, so `--at` reproduces the run made at that moment. Windows, with `at` floored to the
hour: the anomaly window is [at − 1 h, at), the baseline [at − 169 h, at − 1 h). Only the
hourly rollups (`SkillHourly`) are read, never the event log.

Per project and run, each metric's tests form one Benjamini–Hochberg family. A flagged test
opens an anomaly or updates the open one of its (skill, metric, direction); an open anomaly
resolves after RESOLVE_AFTER consecutive evaluations whose p in its own direction exceeds
RESOLVE_P. A project's lifecycle is applied under a row lock on the project, so two workers
never open the same anomaly twice, and an anomaly already evaluated at `at` is left as it is.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction

from analytics import anomalies, broadcast
from analytics.anomalies import RESOLVE_AFTER, RESOLVE_P, TestResult
from analytics.models import SkillAnomaly
from lib.hours import floor_hour
from tracking import instruments
from tracking.models import Project, SkillHourly

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)
BASELINE = timedelta(hours=168)


class Hour(NamedTuple):
    """The fields of a SkillHourly row the tests read."""

    skill: str
    hour: datetime
    invocations: int
    completed: int
    failed: int
    duration_count: int
    duration_sum: float


@dataclass
class RunSummary:
    """What one run did, for the worker's log line and the tests."""

    at: datetime
    projects: int = 0
    tests: int = 0
    opened: int = 0
    updated: int = 0
    resolved: int = 0
    errors: list[str] = field(default_factory=list)


def windows(at: datetime) -> tuple[datetime, datetime, datetime]:
    """(baseline start, window start, window end) for an evaluation at `at`."""
    end = floor_hour(at)
    return end - WINDOW - BASELINE, end - WINDOW, end


def project_tests(project: Project, at: datetime) -> list[TestResult]:
    """Every test of one project at `at`, with q-values set per metric family."""
    base_start, start, end = windows(at)
    rows = SkillHourly.objects.filter(project=project, hour__gte=base_start, hour__lt=end)
    by_skill: dict[str, list[Hour]] = defaultdict(list)
    # Plain tuples, not model instances: a busy project has tens of thousands of rows here.
    for row in rows.values_list(*Hour._fields).order_by():
        by_skill[row[0]].append(Hour(*row))
    same_hours = [start - timedelta(days=d) for d in range(1, anomalies.VOLUME_DAYS + 1)]
    families: dict[str, list[TestResult]] = defaultdict(list)
    for skill in sorted(by_skill):
        window = [r for r in by_skill[skill] if r.hour == start]
        baseline = [r for r in by_skill[skill] if r.hour < start]
        for test in _skill_tests(skill, window, baseline, same_hours):
            families[test.metric].append(test)
    found = []
    for family in families.values():
        anomalies.correct(family)
        found += family
    return found


def _skill_tests(
    skill: str, window: list[Hour], baseline: list[Hour], same_hours: list[datetime]
) -> list[TestResult]:
    ok_c = sum(r.completed for r in window)
    n_c = ok_c + sum(r.failed for r in window)
    ok_b = sum(r.completed for r in baseline)
    n_b = ok_b + sum(r.failed for r in baseline)
    count = sum(r.invocations for r in window)
    invocations = {r.hour: r.invocations for r in baseline}
    # The window's mean from its sums; the baseline's scale from its hours' means (the rollup
    # has no per-hour median: see docs/analytics.md).
    dn = sum(r.duration_count for r in window)
    mean = sum(r.duration_sum for r in window) / dn if dn else None
    hourly = [r.duration_sum / r.duration_count for r in baseline if r.duration_count]
    tests = [
        anomalies.completion_rate_test(skill, ok_c, n_c, ok_b, n_b),
        anomalies.volume_test(skill, count, [invocations.get(h, 0) for h in same_hours]),
        anomalies.duration_test(skill, mean, dn, hourly),
    ]
    return [t for t in tests if t is not None]


def evaluate(at: datetime) -> RunSummary:
    """One run over every project with rollups in the baseline or window at `at`.

    A project whose evaluation fails is logged and counted; the others still run.
    """
    at = floor_hour(at)
    summary = RunSummary(at)
    base_start, _, end = windows(at)
    ids = (
        SkillHourly.objects.filter(hour__gte=base_start, hour__lt=end)
        .values_list("project_id", flat=True)
        .distinct()
    )
    for project in Project.objects.filter(pk__in=list(ids)).order_by("pk"):
        summary.projects += 1
        try:
            tests = project_tests(project, at)
            summary.tests += len(tests)
            apply(project, at, tests, summary)
        except Exception as error:
            instruments.analytics_worker_errors.inc()
            summary.errors.append(f"{project.slug}: {error}")
            log.exception("anomaly evaluation of project %s at %s failed", project.slug, at)
    return summary


@transaction.atomic
def apply(project: Project, at: datetime, tests: list[TestResult], summary: RunSummary) -> None:
    """Open, update and resolve the project's anomalies from one evaluation's tests."""
    # The row lock serialises concurrent workers on this project: the second one reads the
    # anomalies the first has committed, so it neither opens them again nor re-counts them.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    _, start, end = windows(at)
    by_key = {(t.skill, t.metric): t for t in tests}
    stored = SkillAnomaly.objects.filter(project=project).select_related("project")
    open_rows = {(a.skill, a.metric, a.anomaly_type): a for a in stored.filter(status="open")}
    opened, resolved = [], []
    for key, anomaly in open_rows.items():
        test = by_key.get(key[:2])
        if anomaly.last_evaluated_at >= at or test is None:
            # Already evaluated at `at`, or insufficient data: no data is not a recovery.
            continue
        anomaly.last_evaluated_at = at
        if test.flagged and test.direction == anomaly.anomaly_type:
            _record(anomaly, test, at, start, end)
            anomaly.evaluations += 1
            anomaly.clear_streak = 0
            summary.updated += 1
        elif test.p_by_direction[anomaly.anomaly_type] > RESOLVE_P:
            anomaly.clear_streak += 1
            if anomaly.clear_streak >= RESOLVE_AFTER:
                anomaly.status, anomaly.resolved_at = SkillAnomaly.RESOLVED, at
                resolved.append(anomaly)
                summary.resolved += 1
        else:
            anomaly.clear_streak = 0
        anomaly.save()
    evaluated = set(
        stored.filter(last_evaluated_at__gte=at).values_list("skill", "metric", "anomaly_type")
    )
    for test in tests:
        key = (test.skill, test.metric, test.direction)
        # A backfill at an `at` the history already covers opens nothing.
        if not test.flagged or key in open_rows or key in evaluated:
            continue
        anomaly = SkillAnomaly(
            project=project,
            skill=test.skill,
            metric=test.metric,
            anomaly_type=test.direction,
            opened_at=at,
            last_evaluated_at=at,
        )
        _record(anomaly, test, at, start, end)
        anomaly.save()
        opened.append(anomaly)
        instruments.anomalies_detected.labels(test.metric, test.direction).inc()
        summary.opened += 1
    broadcast.anomalies_changed(opened, resolved)


def _record(
    anomaly: SkillAnomaly, test: TestResult, at: datetime, start: datetime, end: datetime
) -> None:
    """Copy a flagged test's figures onto the anomaly."""
    anomaly.last_seen_at = at
    anomaly.window_start, anomaly.window_end = start, end
    anomaly.baseline_value, anomaly.baseline_n = test.baseline_value, test.baseline_n
    anomaly.observed_value, anomaly.observed_n = test.observed_value, test.observed_n
    anomaly.p_value, anomaly.q_value = test.p_value, test.q_value or 0.0
    anomaly.deviation_score = test.deviation_score
    peak = anomaly.peak_deviation_score if anomaly.pk else 0.0
    anomaly.peak_deviation_score = max(peak, test.deviation_score, key=abs)
    anomaly.method = test.method
    anomaly.params = {
        "alpha_q": anomalies.Q_MAX,
        "alpha_p": anomalies.P_MAX,
        "min_rate_delta": anomalies.MIN_RATE_DELTA,
        "resolve_p": RESOLVE_P,
        "resolve_after": RESOLVE_AFTER,
        "baseline_window": {"start": (start - BASELINE).isoformat(), "end": start.isoformat()},
        **test.details,
    }
