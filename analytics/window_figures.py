"""A skill's sessions, users, duration histogram and phases over a window: precomputed by the
worker for the standard windows, checked and completed at read time.

Counting distinct sessions at read time costs a row per (skill, session, hour) of the
window, and summing the histograms a row per (skill, bucket, day): millions over 30 days of
20 busy projects. So the worker (`recompute`) stores, per project and skill, the figures of
the closed windows [H − (L − 1) h, H) for each L in WINDOW_HOURS, H its hour: the part before
the current hour of the skills endpoint's `window=<L>h` during hour H. A read (`figures`)

- uses a project's stored figures only while the window's invocations before `window_end`
  are still the ones they were counted with (events are append-only: one delivered late into
  the window shows), and counts that project live otherwise;
- adds what came from `window_end` on (the current hour): its histogram and phase rows, and
  the sessions and users the stored window had not seen, looked up by session id.

Sessions belong to one project, so per-project session counts, histograms and phase counts
add up; users do not (a name in two projects), so the stored users are a list and a read
takes their union.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import CharField, Count, F, Max, Model, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast

from analytics.models import SkillWindowFigures
from analytics.tiers import Tiers, window_totals
from lib.hours import floor_hour
from tracking.models import (
    Project,
    SkillDurationBucket,
    SkillDurationBucketDay,
    SkillHourly,
    SkillPhaseDay,
    SkillPhaseHour,
    SkillSessionHour,
)

# 24 h, 7, 30 and 90 days: the skills endpoint's usual windows (the pages and the benchmark).
WINDOW_HOURS = (24, 7 * 24, 30 * 24, 90 * 24)
HOUR = timedelta(hours=1)


@dataclass
class Figures:
    """What a skill's baseline needs beyond the additive totals."""

    sessions: int = 0
    users: set[str] = field(default_factory=set)
    durations: Counter[int] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        """Another part: another project (sessions are disjoint across projects) or another
        stretch of hours whose sessions were not seen yet."""
        self.sessions += other.sessions
        self.users |= other.users
        self.durations.update(other.durations)
        self.phases.update(other.phases)


def window_starts(hour: datetime) -> list[datetime]:
    """The start of each stored window ending at `hour`, shortest first."""
    return [hour - (length - 1) * HOUR for length in WINDOW_HOURS]


def histograms(
    projects: Iterable[Project] | QuerySet[Project], tiers: Tiers, skills: list[str] | None
) -> dict[str, Figures]:
    """Duration buckets and non-empty phases summed per skill over the window: the two
    rollups of both tiers in one query (UNION ALL), the bucket as text."""
    reads: list[tuple[type[Model], type[Model], Q]] = [
        (SkillDurationBucket, SkillPhaseHour, tiers.hours)
    ]
    if tiers.days is not None:
        reads.append((SkillDurationBucketDay, SkillPhaseDay, tiers.days))
    parts: list[QuerySet] = []
    for bucket_model, phase_model, where in reads:
        chosen = bucket_model._default_manager.filter(where, project__in=projects)
        named = phase_model._default_manager.filter(where, project__in=projects).exclude(phase="")
        if skills is not None:
            chosen, named = chosen.filter(skill__in=skills), named.filter(skill__in=skills)
        parts.append(
            chosen.annotate(key=Cast("bucket", CharField()), is_phase=Value(False))
            .values("skill", "key", "is_phase")
            .annotate(n=Sum("count"))
            .values_list("skill", "key", "is_phase", "n")
        )
        parts.append(
            named.annotate(key=F("phase"), is_phase=Value(True))
            .values("skill", "key", "is_phase")
            .annotate(n=Sum("count"))
            .values_list("skill", "key", "is_phase", "n")
        )
    found: dict[str, Figures] = defaultdict(Figures)
    for skill, key, is_phase, n in parts[0].union(*parts[1:], all=True):
        if is_phase:
            found[skill].phases[key] += n
        else:
            found[skill].durations[int(key)] += n
    return found


def live(
    projects: Iterable[Project] | QuerySet[Project],
    start: datetime,
    end: datetime,
    skills: list[str] | None,
) -> dict[str, Figures]:
    """Counted from the rollups: distinct sessions per skill in SQL, the distinct (skill,
    user) pairs (few), the histograms and phases from both tiers."""
    found = histograms(projects, Tiers.of(start, end), skills)
    rows = SkillSessionHour.objects.filter(project__in=projects, hour__gte=start, hour__lt=end)
    if skills is not None:
        rows = rows.filter(skill__in=skills)
    for skill, n in (
        rows.values("skill").annotate(n=Count("session", distinct=True)).values_list("skill", "n")
    ):
        found[skill].sessions = n
    named = rows.exclude(session__user_name="").values_list("skill", "session__user_name")
    for skill, user in named.distinct().order_by():
        found[skill].users.add(user)
    return found


def _last_use_by_window(project: Project, starts: list[datetime], end: datetime) -> list[tuple]:
    """(skill, k, user_name, sessions): each (skill, session) pair of [starts[-1], end) once,
    in the shortest window k that holds its last hour (so it counts in every window from k)."""
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


def _project_windows(project: Project, end: datetime) -> list[SkillWindowFigures]:
    """The stored rows of one project for every window ending at `end`. The windows nest, so
    each stretch between two starts is read once and the windows are its running sums."""
    starts = window_starts(end)
    per_window: list[dict[str, Figures]] = [defaultdict(Figures) for _ in starts]
    for skill, k, user, sessions in _last_use_by_window(project, starts, end):
        for window in range(k, len(starts)):
            found = per_window[window][skill]
            found.sessions += sessions
            if user:
                found.users.add(user)
    invocations: dict[str, int] = Counter()
    stretch_end = end
    rows = []
    for k, start in enumerate(starts):
        tiers = Tiers.of(start, stretch_end)
        for (skill, _), row in window_totals([project], tiers).items():
            invocations[skill] += row["n"]
        for skill, part in histograms([project], tiers, None).items():
            for later in per_window[k:]:
                later[skill].durations.update(part.durations)
                later[skill].phases.update(part.phases)
        stretch_end = start
        for skill, n in invocations.items():
            found = per_window[k].get(skill, Figures())
            rows.append(
                SkillWindowFigures(
                    project=project,
                    skill=skill,
                    window_start=start,
                    window_end=end,
                    invocations=n,
                    sessions=found.sessions,
                    users=sorted(found.users),
                    durations={str(b): c for b, c in sorted(found.durations.items())},
                    phases=dict(sorted(found.phases.items())),
                    computed_at=end,
                )
            )
    return rows


def _up_to_date(project: Project, end: datetime) -> bool:
    """Whether the project's stored figures are those of the windows ending at `end` and its
    longest window still has the invocations they were counted with."""
    stored = dict(
        SkillWindowFigures.objects.filter(
            project=project, window_start=window_starts(end)[-1], window_end=end
        ).values_list("skill", "invocations")
    )
    if not stored:
        return False
    totals = window_totals([project], Tiers.of(window_starts(end)[-1], end))
    return {skill: row["n"] for (skill, _), row in totals.items() if row["n"]} == stored


def recompute(at: datetime) -> tuple[int, int]:
    """Store the figures of the windows ending at `at`'s hour for every project whose stored
    ones are older or no longer match its rollups (replacing them); returns (projects
    recomputed, rows written). So the first pass of an hour recomputes, the next ones of the
    hour only check, unless events were delivered late into a window."""
    end = floor_hour(at)
    ids = (
        SkillHourly.objects.filter(hour__gte=window_starts(end)[-1], hour__lt=end)
        .values_list("project_id", flat=True)
        .distinct()
    )
    projects = written = 0
    for project in Project.objects.filter(pk__in=list(ids)).order_by("pk"):
        if _up_to_date(project, end):
            continue
        rows = _project_windows(project, end)
        with transaction.atomic():
            SkillWindowFigures.objects.filter(project=project).delete()
            SkillWindowFigures.objects.bulk_create(rows, batch_size=2000)
        projects += 1
        written += len(rows)
    return projects, written


# Per stored row: (skill, window_end, invocations, sessions). The JSON columns stay in the
# database, which sums them (`_stored_sums`): decoding thousands of them in Python cost more
# than the whole rest of a cross-project read.
Counts = tuple[str, datetime, int, int]


def _stored(
    projects: list[Project], start: datetime, end: datetime, skills: list[str] | None
) -> dict[int, tuple[datetime, dict[str, tuple[int, int]]]]:
    """Per project: the end of its latest stored window from `start` ending by `end`, and
    that window's (invocations, sessions) by skill."""
    rows = SkillWindowFigures.objects.filter(
        project__in=projects, window_start=start, window_end__gt=start, window_end__lte=end
    )
    if skills is not None:
        rows = rows.filter(skill__in=skills)
    latest: dict[int, tuple[datetime, dict[str, tuple[int, int]]]] = {}
    fields = ("project_id", "skill", "window_end", "invocations", "sessions")
    for project_id, skill, window_end, invocations, sessions in rows.values_list(*fields):
        if project_id not in latest or latest[project_id][0] < window_end:
            latest[project_id] = (window_end, {})
        if latest[project_id][0] == window_end:
            latest[project_id][1][skill] = (invocations, sessions)
    return latest


def _still_valid(
    stored: dict[int, tuple[datetime, dict[str, tuple[int, int]]]],
    end: datetime,
    skills: list[str] | None,
    totals: dict[tuple[str, int], dict[str, Any]],
) -> dict[datetime, list[int]]:
    """The projects whose stored window still has the invocations it was counted with, by
    the window's end: the window's live totals less those after the stored end."""
    valid: dict[datetime, list[int]] = defaultdict(list)
    ends: dict[datetime, list[int]] = defaultdict(list)
    for project_id, (window_end, _) in stored.items():
        ends[window_end].append(project_id)
    for window_end, ids in ends.items():
        after = SkillHourly.objects.filter(project_id__in=ids, hour__gte=window_end, hour__lt=end)
        if skills is not None:
            after = after.filter(skill__in=skills)
        later: dict[tuple[str, int], int] = {
            (skill, pk): n
            for skill, pk, n in after.values("skill", "project_id")
            .annotate(n=Sum("invocations"))
            .values_list("skill", "project_id", "n")
        }
        for project_id in ids:
            before = {
                skill: row["n"] - later.get((skill, pk), 0)
                for (skill, pk), row in totals.items()
                if pk == project_id and row["n"] - later.get((skill, pk), 0)
            }
            rows = stored[project_id][1]
            if before == {skill: n for skill, (n, _) in rows.items() if n}:
                valid[window_end].append(project_id)
    return valid


def _json_each(column: str) -> tuple[str, str]:
    """The FROM item that unnests a JSON object or array column of `f`, and its value as an
    integer (for objects), in this database's SQL."""
    if connection.vendor == "postgresql":
        each = "jsonb_array_elements_text" if column == "users" else "jsonb_each_text"
        alias = "e(value)" if column == "users" else "e(key, value)"
        return f"{each}(f.{column}) AS {alias}", "CAST(e.value AS integer)"
    return f"json_each(f.{column}) AS e", "e.value"


def _stored_sums(
    ids: list[int], start: datetime, window_end: datetime, skills: list[str] | None
) -> dict[str, Figures]:
    """The histograms, phases and users of the stored windows [start, window_end) of the
    projects `ids`, summed (users: their union) per skill by the database."""
    table = SkillWindowFigures._meta.db_table
    adapt = connection.ops.adapt_datetimefield_value
    marks = ", ".join(["%s"] * len(ids))
    where = f"f.project_id IN ({marks}) AND f.window_start = %s AND f.window_end = %s"
    params: list[Any] = [*ids, adapt(start), adapt(window_end)]
    if skills is not None:
        where += f" AND f.skill IN ({', '.join(['%s'] * len(skills))})"
        params += skills
    parts = []
    for kind, column in (("d", "durations"), ("p", "phases")):
        each, value = _json_each(column)
        parts.append(
            f"SELECT f.skill, '{kind}', e.key, SUM({value}) FROM {table} AS f, {each} "  # noqa: S608 - names and marks only
            f"WHERE {where} GROUP BY f.skill, e.key"
        )
    each, _ = _json_each("users")
    parts.append(
        f"SELECT DISTINCT f.skill, 'u', e.value, 0 FROM {table} AS f, {each} WHERE {where}"  # noqa: S608 - names and marks only
    )
    found: dict[str, Figures] = defaultdict(Figures)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params * len(parts))
        for skill, kind, key, n in cursor.fetchall():
            if kind == "d":
                found[skill].durations[int(key)] += int(n)
            elif kind == "p":
                found[skill].phases[key] += int(n)
            else:
                found[skill].users.add(key)
    return found


def figures(
    projects: QuerySet[Project] | list[Project],
    start: datetime,
    end: datetime,
    skills: list[str] | None,
    totals: dict[tuple[str, int], dict[str, Any]],
) -> dict[str, Figures]:
    """Sessions, users, durations and phases per skill over the hours [start, end).

    `totals` are the window's TOTALS per (skill, project id) (`analytics.tiers`), against
    which the stored figures are checked."""
    chosen = list(projects)
    stored = _stored(chosen, start, end, skills)
    valid = _still_valid(stored, end, skills, totals)
    counted = {pk for ids in valid.values() for pk in ids}
    found: dict[str, Figures] = defaultdict(Figures)
    rest = [p for p in chosen if p.pk not in counted]
    if rest:
        for skill, part in live(rest, start, end, skills).items():
            found[skill].add(part)
    for window_end, ids in valid.items():
        for skill, part in _stored_sums(ids, start, window_end, skills).items():
            found[skill].add(part)
        for project_id in ids:
            for skill, (_, sessions) in stored[project_id][1].items():
                found[skill].sessions += sessions
        _add_later(found, ids, start, window_end, end, skills)
    return found


def _add_later(
    found: dict[str, Figures],
    ids: list[int],
    start: datetime,
    window_end: datetime,
    end: datetime,
    skills: list[str] | None,
) -> None:
    """Add what [window_end, end) holds: its histograms and phases, and the sessions and
    users that [start, window_end) had not seen."""
    projects = Project.objects.filter(pk__in=ids)
    for skill, part in histograms(projects, Tiers.of(window_end, end), skills).items():
        found[skill].add(part)
    # The skills of those hours first, by the hourly rollup's index on the hour: the session
    # rows are then found by their (project, skill, hour) key, not a scan of the projects'.
    active = SkillHourly.objects.filter(project_id__in=ids, hour__gte=window_end, hour__lt=end)
    if skills is not None:
        active = active.filter(skill__in=skills)
    used = set(active.values_list("skill", flat=True).distinct().order_by())
    if not used:
        return
    later = SkillSessionHour.objects.filter(
        project_id__in=ids, skill__in=used, hour__gte=window_end, hour__lt=end
    )
    pairs = set(later.values_list("skill", "session_id", "session__user_name").order_by())
    if not pairs:
        return
    sessions = {session for _, session, _ in pairs}
    earlier = SkillSessionHour.objects.filter(
        session_id__in=sessions, hour__gte=start, hour__lt=window_end
    )
    seen = set(earlier.values_list("skill", "session_id").distinct().order_by())
    for skill, session, user in pairs:
        if (skill, session) not in seen:
            found[skill].sessions += 1
        if user:
            found[skill].users.add(user)
