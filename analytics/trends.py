"""A skill's trend over daily points: Mann–Kendall for whether, Theil–Sen for how much.

Daily points are UTC calendar days read from the daily tier of the rollups (`SkillDaily`, the
hourly counts summed per day at ingest), never from the event log. The window is the `days`
full days ending with the last full day before `at`.
Mann–Kendall is `scipy.stats.kendalltau(day_index, value)` with scipy's default method (exact
null distribution without ties for small n, else asymptotic with tie correction); Theil–Sen is
`scipy.stats.theilslopes(value, day_index, alpha=0.95)`; OLS (`linregress`) is an extra column,
since one outlier day can hide a real change from it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from scipy import stats

from tracking.models import Project, SkillDaily

METRICS = ("completion_rate", "duration", "volume")
MIN_DECIDED = 5
MIN_POINTS = 7
ALPHA = 0.05
METHOD = "mann_kendall_theil_sen_v1"


@dataclass(frozen=True)
class Day:
    """One UTC day's rollup totals for a skill."""

    day: date
    invocations: int = 0
    completed: int = 0
    failed: int = 0
    duration_count: int = 0
    duration_sum: float = 0.0

    @property
    def decided(self) -> int:
        return self.completed + self.failed


@dataclass(frozen=True)
class Point:
    day: date
    day_index: int
    n: int
    value: float


@dataclass
class Trend:
    """A trend and what it was computed on. Statistics are None under the minimum data, and
    where they are undefined (e.g. Kendall's tau of a constant series)."""

    metric: str
    window_start: datetime
    window_end: datetime
    window_days: int
    points: list[Point] = field(default_factory=list)
    points_excluded: int = 0
    mk_tau: float | None = None
    mk_p: float | None = None
    mk_s: int | None = None
    sen_slope: float | None = None
    sen_intercept: float | None = None
    sen_ci_low: float | None = None
    sen_ci_high: float | None = None
    ols_slope: float | None = None
    ols_p: float | None = None
    start_value: float | None = None
    end_value: float | None = None
    direction: str = "insufficient_data"
    method: str = METHOD

    @property
    def n_points(self) -> int:
        return len(self.points)

    def as_dict(self) -> dict:
        return {**asdict(self), "n_points": self.n_points}


def window(at: datetime, days: int) -> tuple[datetime, datetime]:
    """[start, end) of the `days` UTC days ending with the last full day before `at`."""
    end = datetime.combine(at.astimezone(UTC).date(), time(), tzinfo=UTC)
    return end - timedelta(days=days), end


def points_of(days: list[Day], metric: str) -> tuple[list[Point], int]:
    """The metric's daily points (day_index = offset from the window's first day) and how many
    days were left out. Completion rate and duration need ≥ MIN_DECIDED decided invocations in
    the day (duration also a measured duration); volume keeps every day, zeros included."""
    points = []
    for index, day in enumerate(days):
        if metric == "volume":
            points.append(Point(day.day, index, day.invocations, float(day.invocations)))
        elif day.decided < MIN_DECIDED:
            continue
        elif metric == "completion_rate":
            points.append(Point(day.day, index, day.decided, day.completed / day.decided))
        elif day.duration_count:
            mean = day.duration_sum / day.duration_count
            points.append(Point(day.day, index, day.invocations, mean))
    return points, len(days) - len(points)


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def mann_kendall_s(values: list[float]) -> int:
    """S = Σ_{i<j} sign(y_j − y_i), the Mann–Kendall statistic of a series in time order."""
    return sum((b > a) - (b < a) for i, a in enumerate(values) for b in values[i + 1 :])


def trend_of(points: list[Point], trend: Trend) -> Trend:
    """Fill `trend`'s statistics from its points (at least MIN_POINTS, else left None)."""
    trend.points = points
    if len(points) < MIN_POINTS:
        trend.direction = "insufficient_data"
        return trend
    x = [p.day_index for p in points]
    y = [p.value for p in points]
    trend.mk_s = mann_kendall_s(y)
    if len(set(y)) > 1:
        tau = stats.kendalltau(x, y)
        trend.mk_tau, trend.mk_p = _finite(tau.statistic), _finite(tau.pvalue)
        ols = stats.linregress(x, y)
        trend.ols_slope, trend.ols_p = _finite(ols.slope), _finite(ols.pvalue)
    else:
        # A constant series: no ordering to test, a flat line (scipy gives NaN and a warning).
        trend.ols_slope = 0.0
    sen = stats.theilslopes(y, x, alpha=0.95)
    trend.sen_slope, trend.sen_intercept = _finite(sen.slope), _finite(sen.intercept)
    trend.sen_ci_low, trend.sen_ci_high = _finite(sen.low_slope), _finite(sen.high_slope)
    if trend.sen_slope is not None and trend.sen_intercept is not None:
        # From the Theil–Sen line, not the raw endpoints: one odd first or last day moves it less.
        trend.start_value = trend.sen_intercept + trend.sen_slope * x[0]
        trend.end_value = trend.sen_intercept + trend.sen_slope * x[-1]
    if trend.mk_p is not None and trend.mk_tau is not None and trend.mk_p < ALPHA:
        trend.direction = "increasing" if trend.mk_tau > 0 else "decreasing"
    else:
        trend.direction = "no_trend"
    return trend


def daily_totals(project: Project, skill: str, start: datetime, end: datetime) -> list[Day]:
    """Every UTC day of [start, end) with the skill's rollup totals (zeros for days without)."""
    rows = SkillDaily.objects.filter(
        project=project, skill=skill, day__gte=start.date(), day__lt=end.date()
    ).values_list("day", "invocations", "completed", "failed", "duration_count", "duration_sum")
    by_day = {row[0]: Day(*row) for row in rows}
    days = (end - start).days
    return [by_day.get(d, Day(d)) for d in (start.date() + timedelta(days=i) for i in range(days))]


def skill_trend(project: Project, skill: str, metric: str, days: int, at: datetime) -> Trend:
    """The trend of one skill's metric over the `days` full UTC days before `at`."""
    return skill_trends(project, skill, days, at, (metric,))[0]


def skill_trends(
    project: Project, skill: str, days: int, at: datetime, metrics: tuple[str, ...] = METRICS
) -> list[Trend]:
    """`skill_trend` of each of `metrics`, from one read of the daily totals (the skill page)."""
    start, end = window(at, days)
    totals = daily_totals(project, skill, start, end)
    trends = []
    for metric in metrics:
        points, excluded = points_of(totals, metric)
        trends.append(trend_of(points, Trend(metric, start, end, days, points_excluded=excluded)))
    return trends
