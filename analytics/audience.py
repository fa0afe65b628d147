"""Distinct sessions and users of each skill over a window: precomputed by the worker for the
standard windows, completed and checked at read time.

A distinct count does not add up across hours, so no rollup tier can hold it; counting it at
read time costs one row per (skill, session, hour) of the window, millions over 30 days of
20 busy projects. The worker (`recompute`) stores, per project and skill, the figures of the
closed windows [H − (L − 1) h, H) for each L in WINDOW_HOURS, H its hour: exactly the part
before the current hour of the skills endpoint's `window=<L>h` during hour H. A read
(`audience`) then

- takes a project's stored figures only if the window's invocations before `window_end` are
  still the ones they were counted with (events are append-only, so an added event shows),
  else counts that project live;
- adds the sessions and users seen from `window_end` on (the current hour: a few sessions)
  that the stored window had not seen, looked up by session id.

Sessions belong to one project, so per-project session counts add up; users do not (one name
in two projects), so the stored users are a list and a reader takes the union.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum

from analytics.models import SkillAudience
from analytics.tiers import Tiers, window_totals
from lib.hours import floor_hour
from tracking.models import Project, SkillHourly, SkillSessionHour

# 24 h, 7, 30 and 90 days: the skills endpoint's usual windows (the pages and the benchmark).
WINDOW_HOURS = (24, 7 * 24, 30 * 24, 90 * 24)
HOUR = timedelta(hours=1)


@dataclass
class Audience:
    """A skill's distinct sessions and its named users' names."""

    sessions: int = 0
    users: set[str] = field(default_factory=set)

    def add(self, other: Audience) -> None:
        """Another project's audience (sessions are disjoint across projects)."""
        self.sessions += other.sessions
        self.users |= other.users


def window_starts(hour: datetime) -> list[datetime]:
    """The start of each stored window ending at `hour`, shortest first."""
    return [hour - (length - 1) * HOUR for length in WINDOW_HOURS]


def _last_use_by_window(project: Project, starts: list[datetime], end: datetime) -> list[tuple]:
    """(skill, k, user_name, sessions): each (skill, session) pair of [starts[-1], end) counted
    once, in the shortest window k that holds its last hour (so in every window from k on)."""
    pairs = (
        SkillSessionHour.objects.filter(project=project, hour__gte=starts[-1], hour__lt=end)
        .values("skill", "session_id")
        .annotate(last=Max("hour"))
        .order_by()
    )
    inner, params = pairs.query.sql_with_params()
    adapt = connection.ops.adapt_datetimefield_value
    cases = " ".join(f"WHEN p.last >= %s THEN {k}" for k in range(len(starts)))
    query = (
        f"SELECT p.skill, CASE {cases} END AS k, s.user_name, COUNT(*) "  # noqa: S608 - no input
        f"FROM ({inner}) AS p JOIN tracking_session AS s ON s.id = p.session_id "
        "GROUP BY p.skill, k, s.user_name"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*(adapt(s) for s in starts), *params])
        return cursor.fetchall()


def recompute(at: datetime) -> int:
    """Store every project's audiences for the windows ending at `at`'s hour (replacing the
    project's older ones); returns the rows written."""
    end = floor_hour(at)
    starts = window_starts(end)
    written = 0
    ids = (
        SkillHourly.objects.filter(hour__gte=starts[-1], hour__lt=end)
        .values_list("project_id", flat=True)
        .distinct()
    )
    for project in Project.objects.filter(pk__in=list(ids)).order_by("pk"):
        counted: dict[tuple[str, int], Audience] = defaultdict(Audience)
        for skill, k, user, sessions in _last_use_by_window(project, starts, end):
            for window in range(k, len(starts)):
                found = counted[(skill, window)]
                found.sessions += sessions
                if user:
                    found.users.add(user)
        rows = []
        for k, start in enumerate(starts):
            totals = window_totals([project], Tiers.of(start, end))
            for (skill, _), row in totals.items():
                found = counted.get((skill, k), Audience())
                rows.append(
                    SkillAudience(
                        project=project,
                        skill=skill,
                        window_start=start,
                        window_end=end,
                        invocations=row["n"],
                        sessions=found.sessions,
                        users=sorted(found.users),
                        computed_at=at,
                    )
                )
        with transaction.atomic():
            SkillAudience.objects.filter(project=project).delete()
            SkillAudience.objects.bulk_create(rows, batch_size=2000)
        written += len(rows)
    return written


def live(
    projects: Iterable[Project] | QuerySet[Project],
    start: datetime,
    end: datetime,
    skills: list[str] | None,
) -> dict[str, Audience]:
    """Counted from SkillSessionHour: distinct sessions per skill in SQL, and the distinct
    (skill, user) pairs, which are few."""
    rows = SkillSessionHour.objects.filter(project__in=projects, hour__gte=start, hour__lt=end)
    if skills is not None:
        rows = rows.filter(skill__in=skills)
    found: dict[str, Audience] = defaultdict(Audience)
    for skill, n in (
        rows.values("skill").annotate(n=Count("session", distinct=True)).values_list("skill", "n")
    ):
        found[skill].sessions = n
    named = rows.exclude(session__user_name="").values_list("skill", "session__user_name")
    for skill, user in named.distinct().order_by():
        found[skill].users.add(user)
    return found


def _stored(
    projects: list[Project], start: datetime, end: datetime, skills: list[str] | None
) -> dict[int, tuple[datetime, dict[str, SkillAudience]]]:
    """Per project: the end of its latest stored window from `start` ending by `end`, and
    that window's rows by skill."""
    rows = SkillAudience.objects.filter(
        project__in=projects, window_start=start, window_end__gt=start, window_end__lte=end
    )
    if skills is not None:
        rows = rows.filter(skill__in=skills)
    latest: dict[int, tuple[datetime, dict[str, SkillAudience]]] = {}
    for row in rows.order_by("project_id", "window_end"):
        if row.project_id not in latest or latest[row.project_id][0] < row.window_end:
            latest[row.project_id] = (row.window_end, {})
        latest[row.project_id][1][row.skill] = row
    return latest


def audience(
    projects: QuerySet[Project] | list[Project],
    start: datetime,
    end: datetime,
    skills: list[str] | None,
    totals: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, Audience]:
    """Distinct sessions and users per skill over the hours [start, end) of `projects`.

    `totals` are the window's TOTALS per (skill, project id) (`analytics.skills`), against
    which the stored figures are checked."""
    chosen = list(projects)
    stored = _stored(chosen, start, end, skills)
    valid: dict[datetime, list[int]] = defaultdict(list)
    for project_id, (window_end, rows) in stored.items():
        after = SkillHourly.objects.filter(
            project_id=project_id, hour__gte=window_end, hour__lt=end
        )
        if skills is not None:
            after = after.filter(skill__in=skills)
        later = dict(after.values("skill").annotate(n=Sum("invocations")).values_list("skill", "n"))
        before = {
            skill: row["n"] - later.get(skill, 0)
            for (skill, pk), row in totals.items()
            if pk == project_id and row["n"] - later.get(skill, 0)
        }
        if before == {skill: row.invocations for skill, row in rows.items() if row.invocations}:
            valid[window_end].append(project_id)
    counted = {pk for ids in valid.values() for pk in ids}
    found: dict[str, Audience] = defaultdict(Audience)
    rest = [p for p in chosen if p.pk not in counted]
    if rest:
        for skill, part in live(rest, start, end, skills).items():
            found[skill].add(part)
    for window_end, ids in valid.items():
        for project_id in ids:
            for skill, row in stored[project_id][1].items():
                found[skill].add(Audience(row.sessions, set(row.users)))
        _add_later(found, ids, start, window_end, end, skills)
    return found


def _add_later(
    found: dict[str, Audience],
    ids: list[int],
    start: datetime,
    window_end: datetime,
    end: datetime,
    skills: list[str] | None,
) -> None:
    """Add the sessions and users of [window_end, end) that [start, window_end) had not seen."""
    later = SkillSessionHour.objects.filter(project_id__in=ids, hour__gte=window_end, hour__lt=end)
    if skills is not None:
        later = later.filter(skill__in=skills)
    pairs = set(later.values_list("skill", "session_id", "session__user_name").order_by())
    if not pairs:
        return
    sessions = {session for _, session, _ in pairs}
    earlier = SkillSessionHour.objects.filter(
        Q(session_id__in=sessions), hour__gte=start, hour__lt=window_end
    )
    seen = set(earlier.values_list("skill", "session_id").distinct().order_by())
    for skill, session, user in pairs:
        if (skill, session) not in seen:
            found[skill].sessions += 1
        if user:
            found[skill].users.add(user)
