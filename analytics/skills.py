"""Per-skill statistics from the rollups (never from the event log): whole days from the
daily tier, the other hours from the hourly rows (`analytics.tiers`); baselines from the
figures stored per set of projects and window (`analytics.window_figures`).

Every figure carries what it was computed on: the window and n. Completion rates are
proportions with a Wilson score interval, since they are rates of 0/1 outcomes.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet

from analytics.tiers import Tiers, by_skill, window_totals
from analytics.window_figures import TOTAL_FIELDS, set_figures
from lib import buckets
from lib.hours import floor_hour
from lib.stats import percentile_linear, percentiles_linear
from tracking.models import Project, SkillDurationBucketDay, SkillSessionHour

Z_95 = 1.959963984540054
# Skills with fewer decided invocations are not ranked (their rate says too little).
RANKED_MIN_DECIDED = 10
PERCENTILE_METHOD = (
    f"linear (numpy default, percentile_cont) over a log-spaced histogram, ratio {buckets.RATIO}"
    f" between edges, bucket midpoints: relative error at most {buckets.MAX_RELATIVE_ERROR:.0%}"
)
RANK_METHOD = (
    f"percentileofscore(kind='weak') of the Wilson 95% lower bound among skills with at least"
    f" {RANKED_MIN_DECIDED} decided invocations; ties share the higher rank"
)


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


def _stats_of(row: Mapping[str, Any], sessions: int, start: datetime, end: datetime) -> SkillStats:
    """SkillStats from one skill's TOTALS and its distinct sessions."""
    decided = row["ok"] + row["bad"]
    interval = wilson_interval(row["ok"], decided)
    mean, stddev = duration_moments(row["dn"], row["ds"], row["dq"])
    return SkillStats(
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
        unique_sessions=sessions,
    )


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
    totals = by_skill(window_totals(projects, Tiers.of(start, end), skills))
    sessions = SkillSessionHour.objects.filter(project__in=projects, hour__gte=start, hour__lt=end)
    if skills is not None:
        sessions = sessions.filter(skill__in=skills)
    distinct = dict(
        sessions.values("skill")
        .annotate(n=Count("session", distinct=True))
        .values_list("skill", "n")
    )
    result = [_stats_of(row, distinct.get(row["skill"], 0), start, end) for row in totals]
    result.sort(key=lambda s: (-s.invocations, s.skill))
    return result


@dataclass(frozen=True)
class SkillBaseline(SkillStats):
    """SkillStats with what a baseline adds: users, decided, the smoothed rate, duration
    percentiles, the most common phase and the effectiveness rank."""

    users: int
    rate_smoothed: float | None
    duration_p50: float | None
    duration_p90: float | None
    duration_p95: float | None
    most_common_phase: str | None
    effectiveness_percentile: float | None
    projects: int
    # The same skill over every project the reader may see (set by `skill_baselines`).
    across_projects: SkillBaseline | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def smoothed_rate(successes: int, n: int) -> float:
    """Laplace's (x + 1)/(n + 2): 0.5 without outcomes, pulled towards 0.5 for a small n."""
    return (successes + 1) / (n + 2)


def percentile_of_score(scores: list[float], score: float) -> float:
    """`scipy.stats.percentileofscore(scores, score, kind='weak')`: the percentage of `scores`
    at or below `score`, so tied skills share the higher rank and the best skill gets 100."""
    return _rank_in(sorted(scores), score)


def _rank_in(ordered: list[float], score: float) -> float:
    """`percentile_of_score` over scores already sorted: a bisection, not a scan."""
    return 100.0 * bisect_right(ordered, score) / len(ordered)


def effectiveness_percentiles(decided: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Rank of each skill's Wilson lower bound among the skills with at least
    RANKED_MIN_DECIDED decided invocations; `decided` maps skill → (completed, decided).
    The lower bound, not the raw rate, so 2/2 does not outrank 95/100."""
    bounds = {}
    for skill, (ok, n) in decided.items():
        interval = wilson_interval(ok, n)
        if n >= RANKED_MIN_DECIDED and interval is not None:
            bounds[skill] = interval[0]
    ordered = sorted(bounds.values())
    return {skill: _rank_in(ordered, bound) for skill, bound in bounds.items()}


def skill_baselines(
    projects: QuerySet[Project] | list[Project],
    since: datetime,
    until: datetime | None = None,
    *,
    skills: list[str] | None = None,
    across: QuerySet[Project] | list[Project] | None = None,
) -> list[SkillBaseline]:
    """`skill_stats` plus the baseline figures, all from rollups: totals, sessions, users,
    duration percentiles and phases of the set of projects from the stored window figures
    completed with the current hour, or counted from the rollups
    (`analytics.window_figures.set_figures`).

    The effectiveness rank is among every skill of `projects` in the window, whatever
    `skills` selects. With `across` (every project the reader may see), each skill also
    carries its baseline over those projects.
    """
    start = floor_hour(since)
    end = until or datetime.now(UTC)
    # Every skill of the window: the rank is among all of them.
    found = set_figures(projects, start, end, skills)
    ranks = effectiveness_percentiles({s: (f.ok, f.ok + f.bad) for s, f in found.items()})
    result = []
    for skill, seen in found.items():
        if skills is not None and skill not in skills:
            continue
        counted = [(buckets.midpoint(b), n) for b, n in seen.durations.items()]
        p50, p90, p95 = percentiles_linear(counted, (50, 90, 95))
        phases = seen.phases.items()
        row = {"skill": skill, **{name: getattr(seen, name) for name in TOTAL_FIELDS}}
        stats = _stats_of(row, seen.sessions, start, end)
        result.append(
            SkillBaseline(
                **{f.name: getattr(stats, f.name) for f in fields(SkillStats)},
                users=len(seen.users),
                rate_smoothed=smoothed_rate(stats.completed, stats.decided),
                duration_p50=p50,
                duration_p90=p90,
                duration_p95=p95,
                # Most invocations; a tie goes to the phase first in alphabetical order.
                most_common_phase=min(phases, key=lambda p: (-p[1], p[0]))[0] if phases else None,
                effectiveness_percentile=ranks.get(skill),
                projects=len(seen.projects),
            )
        )
    result.sort(key=lambda b: (-b.invocations, b.skill))
    if across is None or not result:
        return result
    if {p.pk for p in across} == {p.pk for p in projects}:
        # The reader sees only these projects: the baseline is the figures themselves.
        return [_with_across(b, b) for b in result]
    wide = {
        b.skill: b for b in skill_baselines(across, since, until, skills=[r.skill for r in result])
    }
    return [_with_across(b, wide.get(b.skill)) for b in result]


def _with_across(baseline: SkillBaseline, wide: SkillBaseline | None) -> SkillBaseline:
    values = {f.name: getattr(baseline, f.name) for f in fields(SkillBaseline)}
    return SkillBaseline(**{**values, "across_projects": wide})


def last_hours(hours: int, now: datetime | None = None) -> datetime:
    """The start of a window of `hours` whole hours ending with the current (partial) hour."""
    now = now or datetime.now(UTC)
    return floor_hour(now) - timedelta(hours=hours - 1)


@dataclass(frozen=True)
class PercentilePeriod:
    """Duration percentiles of one period (a UTC day, or a block of days) from the histogram."""

    start: date
    end: date  # the period's last day (inclusive)
    n: int  # durations recorded
    p50: float | None
    p90: float | None
    p95: float | None


def duration_percentiles_over_time(
    project: Project, skill: str, start: datetime, end: datetime, period_days: int = 1
) -> list[PercentilePeriod]:
    """p50/p90/p95 of a skill's durations per period of `period_days` UTC days from `start`
    (a day-aligned window [start, end)), from the daily tier of the duration histogram
    (`SkillDurationBucketDay`), with the bucket error of `PERCENTILE_METHOD`. Every period is
    listed; one without a duration has n = 0 and no percentiles. The last period may be
    shorter than `period_days`."""
    rows = SkillDurationBucketDay.objects.filter(
        project=project, skill=skill, day__gte=start.date(), day__lt=end.date()
    ).values_list("day", "bucket", "count")
    first, days = start.date(), (end - start).days
    counted: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for day, bucket, n in rows:
        counted[(day - first).days // period_days].append((buckets.midpoint(bucket), n))
    periods = []
    for index in range(math.ceil(days / period_days)):
        found = counted.get(index, [])
        periods.append(
            PercentilePeriod(
                start=first + timedelta(days=index * period_days),
                end=first + timedelta(days=min(days, (index + 1) * period_days) - 1),
                n=sum(n for _, n in found),
                p50=percentile_linear(found, 50),
                p90=percentile_linear(found, 90),
                p95=percentile_linear(found, 95),
            )
        )
    return periods
