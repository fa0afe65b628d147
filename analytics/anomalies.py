"""Anomaly detection over the hourly rollups: the current hour against the 23 before it.

A plain function of two window statistics, so it runs on every live tick without touching the
event log. Each anomaly states its test, n on both sides, the threshold and the windows.
Completion rates are proportions, so they get a two-proportion z-test (not a t-test on 0/1
values); durations get a large-sample z-test on the mean from the rollups' moments.
"""

from __future__ import annotations

import math

from analytics.frames import iso
from analytics.skills import SkillStats, duration_moments

Z_THRESHOLD = 3.0
MIN_CURRENT = 10
MIN_BASELINE = 30


def detect(
    current: SkillStats | None,
    day: SkillStats,
    *,
    threshold: float = Z_THRESHOLD,
    min_current: int = MIN_CURRENT,
    min_baseline: int = MIN_BASELINE,
) -> list[dict]:
    """Open anomalies of one skill: `current` is its 1 h window, `day` its 24 h window.

    The baseline is the 24 h window minus the current hour, exact because rollups add up.
    """
    if current is None:
        return []
    found = []
    rate = _completion_rate(current, day, threshold, min_current, min_baseline)
    if rate:
        found.append(rate)
    duration = _duration(current, day, threshold, min_current, min_baseline)
    if duration:
        found.append(duration)
    return found


def two_proportion_z(ok1: int, n1: int, ok2: int, n2: int) -> float | None:
    """z for p1 − p2 with the pooled standard error; None when it is undefined."""
    pooled = (ok1 + ok2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    return (ok1 / n1 - ok2 / n2) / se


def _describe(kind, current, day, observed, baseline, z, n1, n2, threshold) -> dict:
    return {
        "skill": current.skill,
        "kind": kind,
        "observed": round(observed, 4),
        "baseline": round(baseline, 4),
        "z": round(z, 3),
        "n_current": n1,
        "n_baseline": n2,
        "threshold": threshold,
        "current": {"start": iso(current.window_start), "end": iso(current.window_end)},
        "baseline_window": {"start": iso(day.window_start), "end": iso(current.window_start)},
    }


def _completion_rate(current, day, threshold, min_current, min_baseline) -> dict | None:
    n1 = current.completed + current.failed
    ok2 = day.completed - current.completed
    n2 = day.completed + day.failed - n1
    if n1 < min_current or n2 < min_baseline:
        return None
    z = two_proportion_z(current.completed, n1, ok2, n2)
    if z is None or abs(z) < threshold:
        return None
    kind = "completion_rate_drop" if z < 0 else "completion_rate_rise"
    return _describe(kind, current, day, current.completed / n1, ok2 / n2, z, n1, n2, threshold)


def _duration(current, day, threshold, min_current, min_baseline) -> dict | None:
    n1 = current.duration_n
    n2 = day.duration_n - n1
    if n1 < min_current or n2 < min_baseline:
        return None
    mean1, sd1 = current.avg_duration_s, current.stddev_duration_s
    # Baseline moments from the difference of the windows' sums.
    total2 = day.avg_duration_s * day.duration_n - mean1 * n1
    squares2 = _sumsq(day) - _sumsq(current)
    mean2, sd2 = duration_moments(n2, total2, squares2)
    se = math.sqrt((sd1 or 0) ** 2 / n1 + (sd2 or 0) ** 2 / n2)
    if se == 0:
        return None
    z = (mean1 - mean2) / se
    if z < threshold:
        return None
    return _describe("duration_rise", current, day, mean1, mean2, z, n1, n2, threshold)


def _sumsq(stats: SkillStats) -> float:
    """Σx² recovered from mean and sample standard deviation."""
    n, mean, sd = stats.duration_n, stats.avg_duration_s or 0.0, stats.stddev_duration_s or 0.0
    return (n - 1) * sd * sd + n * mean * mean
