"""Where a window of hours is read from: the daily tier for its whole UTC days, the hourly
rollups for the hours around them. Both tiers hold the same additive counts (ingest upserts
both in one transaction), so a window's sums are those of its hours alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet, Sum

from lib.hours import floor_hour
from tracking.models import Project, SkillDaily, SkillHourly

# The sums over a window's SkillHourly rows that SkillStats is made of.
TOTALS = {
    "n": Sum("invocations"),
    "ok": Sum("completed"),
    "bad": Sum("failed"),
    "dn": Sum("duration_count"),
    "ds": Sum("duration_sum"),
    "dq": Sum("duration_sumsq"),
}


DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Tiers:
    """Where a window of hours is read: its whole UTC days [first, last) from the daily tier,
    the hours before the first and from the last whole day on from the hourly rows. Both
    tiers hold the same additive counts, so the sums are those of the hours alone."""

    hour_ranges: tuple[tuple[datetime, datetime], ...]
    day_range: tuple[date, date] | None

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Tiers:
        """The tiers of the hours h with start ≤ h < end (`start` on an hour)."""
        first = datetime.combine(start.date(), time(), tzinfo=UTC)
        if first < start:
            first += DAY
        # The last hour counted is the one `end` falls in (or the one before, on the hour).
        last_hour = floor_hour(end) if floor_hour(end) < end else floor_hour(end) - HOUR
        last = datetime.combine((last_hour + HOUR).date(), time(), tzinfo=UTC)
        if last <= first:
            return cls(((start, end),), None)
        return cls(((start, first), (last, end)), (first.date(), last.date()))

    @property
    def hours(self) -> Q:
        """The filter of the hourly rows."""
        found = Q()
        for low, high in self.hour_ranges:
            found |= Q(hour__gte=low, hour__lt=high)
        return found

    @property
    def days(self) -> Q | None:
        """The filter of the daily rows, None when the window has no whole day."""
        if self.day_range is None:
            return None
        return Q(day__gte=self.day_range[0], day__lt=self.day_range[1])


def window_totals(
    projects: QuerySet[Project] | list[Project] | list[int],
    tiers: Tiers,
    skills: list[str] | None = None,
) -> dict[tuple[str, int], dict[str, Any]]:
    """TOTALS per (skill, project id) over the window, from both tiers (`projects` may be
    given by their ids)."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    reads = [(SkillHourly, tiers.hours)] + ([(SkillDaily, tiers.days)] if tiers.days else [])
    for model, where in reads:
        rows = model.objects.filter(where, project__in=projects)
        if skills is not None:
            rows = rows.filter(skill__in=skills)
        for values in rows.values("skill", "project_id").annotate(**TOTALS).order_by():
            row: dict[str, Any] = dict(values)
            key = (row["skill"], row["project_id"])
            if key in found:
                for name in TOTALS:
                    found[key][name] += row[name]
            else:
                found[key] = {name: row[name] for name in TOTALS}
    return found


def by_skill(totals: dict[tuple[str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-project TOTALS summed per skill, with the number of projects."""
    skills: dict[str, dict[str, Any]] = {}
    for (skill, _), row in sorted(totals.items()):
        if skill in skills:
            for name in TOTALS:
                skills[skill][name] += row[name]
            skills[skill]["projects"] += 1
        else:
            skills[skill] = {"skill": skill, **row, "projects": 1}
    return list(skills.values())
