"""Where a window of hours is read from: the daily tier for its whole UTC days, the hourly
rollups for the hours around them. Both tiers hold the same additive counts (ingest upserts
both in one transaction), so a window's sums are those of its hours alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    """Where a window of hours is read: its whole UTC days from the daily tier, the hours
    before the first and after the last whole day from the hourly rows. Both tiers hold the
    same additive counts, so the sums are those of the hours alone."""

    hours: Q
    days: Q | None

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Tiers:
        """The tiers of the hours h with start ≤ h < end (`start` on an hour)."""
        first = datetime.combine(start.date(), datetime.min.time(), tzinfo=UTC)
        if first < start:
            first += DAY
        # The last hour counted is the one `end` falls in (or the one before, on the hour).
        last_hour = floor_hour(end) if floor_hour(end) < end else floor_hour(end) - HOUR
        last = datetime.combine((last_hour + HOUR).date(), datetime.min.time(), tzinfo=UTC)
        if last <= first:
            return cls(Q(hour__gte=start, hour__lt=end), None)
        edges = Q(hour__gte=start, hour__lt=first) | Q(hour__gte=last, hour__lt=end)
        return cls(edges, Q(day__gte=first.date(), day__lt=last.date()))


def window_totals(
    projects: QuerySet[Project] | list[Project], tiers: Tiers, skills: list[str] | None = None
) -> dict[tuple[str, int], dict[str, Any]]:
    """TOTALS per (skill, project id) over the window, from both tiers."""
    found: dict[tuple[str, int], dict[str, Any]] = {}
    reads = [(SkillHourly, tiers.hours)] + ([(SkillDaily, tiers.days)] if tiers.days else [])
    for model, where in reads:
        rows = model.objects.filter(where, project__in=projects)
        if skills is not None:
            rows = rows.filter(skill__in=skills)
        for row in rows.values("skill", "project_id").annotate(**TOTALS).order_by():
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
