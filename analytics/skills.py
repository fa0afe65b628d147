"""Per-skill statistics from the hourly rollups (never from the event log).

Every figure carries what it was computed on: the window and n. Completion rates are
proportions with a Wilson score interval, since they are rates of 0/1 outcomes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, QuerySet, Sum

from lib.hours import floor_hour
from tracking.models import Project, SkillHourly, SkillSessionHour

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class SkillStats:
    skill: str
    window_start: datetime
    window_end: datetime
    invocations: int
    completed: int
    failed: int
    undecided: int
    completion_rate: float | None
    completion_rate_low: float | None
    completion_rate_high: float | None
    duration_n: int
    avg_duration_s: float | None
    stddev_duration_s: float | None
    unique_sessions: int

    @property
    def decided(self) -> int:
        """Invocations whose outcome is known: the n of the completion rate."""
        return self.completed + self.failed

    def as_dict(self) -> dict:
        return asdict(self)


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion; None without observations."""
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def duration_moments(count: int, total: float, squares: float) -> tuple[float | None, float | None]:
    """Mean and sample standard deviation from a count, sum and sum of squares."""
    if count == 0:
        return None, None
    mean = total / count
    if count == 1:
        return mean, None
    variance = max(0.0, (squares - count * mean * mean) / (count - 1))
    return mean, math.sqrt(variance)


def skill_stats(
    projects: QuerySet[Project] | list[Project],
    since: datetime,
    until: datetime | None = None,
    *,
    skills: list[str] | None = None,
) -> list[SkillStats]:
    """Statistics per skill over the hours from `since` (floored to the hour) up to `until`.

    Sorted by invocations, most first. `projects` limits what is counted (visibility).
    """
    start = floor_hour(since)
    end = until or datetime.now(UTC)
    rows = SkillHourly.objects.filter(project__in=projects, hour__gte=start, hour__lt=end)
    sessions = SkillSessionHour.objects.filter(project__in=projects, hour__gte=start, hour__lt=end)
    if skills is not None:
        rows = rows.filter(skill__in=skills)
        sessions = sessions.filter(skill__in=skills)
    totals = rows.values("skill").annotate(
        n=Sum("invocations"),
        ok=Sum("completed"),
        bad=Sum("failed"),
        dn=Sum("duration_count"),
        ds=Sum("duration_sum"),
        dq=Sum("duration_sumsq"),
    )
    distinct = dict(
        sessions.values("skill")
        .annotate(n=Count("session", distinct=True))
        .values_list("skill", "n")
    )
    result = []
    for row in totals:
        decided = row["ok"] + row["bad"]
        interval = wilson_interval(row["ok"], decided)
        mean, stddev = duration_moments(row["dn"], row["ds"], row["dq"])
        result.append(
            SkillStats(
                skill=row["skill"],
                window_start=start,
                window_end=end,
                invocations=row["n"],
                completed=row["ok"],
                failed=row["bad"],
                undecided=row["n"] - decided,
                completion_rate=row["ok"] / decided if decided else None,
                completion_rate_low=interval[0] if interval else None,
                completion_rate_high=interval[1] if interval else None,
                duration_n=row["dn"],
                avg_duration_s=mean,
                stddev_duration_s=stddev,
                unique_sessions=distinct.get(row["skill"], 0),
            )
        )
    result.sort(key=lambda s: (-s.invocations, s.skill))
    return result


def last_hours(hours: int, now: datetime | None = None) -> datetime:
    """The start of a window of `hours` whole hours ending with the current (partial) hour."""
    now = now or datetime.now(UTC)
    return floor_hour(now) - timedelta(hours=hours - 1)
