"""Every skill's figures over a window, for a set of projects: stored for the standard
windows (by the worker, or by the first read that finds none up to date), checked and
completed at read time.

Counting distinct sessions at read time costs a row per (skill, session, hour) of the
window, summing the histograms a row per (skill, bucket, day), and even the additive totals
a row per (skill, day) of every project: millions over 30 days of 20 busy projects. So the
figures of a closed window [S, H) (H on the hour) are stored per set of projects
(`FiguresWindow`, one `SkillWindowFigures` row per skill: totals, sessions, users,
histogram, phases), for the windows whose length + 1 hour is one of WINDOW_HOURS — the
part before the current hour of the skills endpoint's `window=<L>`. The worker
(`recompute`) stores, for the windows ending at its hour, each project alone, then every
project together and each user's visible set, summed from the projects' own figures. A
read (`set_figures`)

- uses a set's stored window only while `checks` still hold: each project's invocations
  since the window's first UTC midnight, read from the daily tier (a row per skill and day,
  the cheapest exact sum there is) less the hours from the window's end. Events are
  append-only, so an event delivered late into the window shows; the hours of the first day
  before the window only ever cause a needless recount;
- otherwise builds it (each project's own stored figures where they still hold, counted from
  the rollups where not) and stores it, for the next read;
- adds what came from `window_end` on (the current hour): its totals, histogram and phase
  rows, and the sessions and users the stored window had not seen, looked up by session id.

Sessions belong to one project, so session counts, histograms, phase counts and totals of
projects add up; users do not (a name in two projects), so the stored users are a list and
a set's are their union.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Count, F, Model, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast

from analytics.models import FiguresWindow, SkillWindowFigures
from analytics.tiers import Tiers, window_totals
from lib.hours import floor_hour
from lib.sql import insert_rows
from tracking.models import (
    Project,
    SkillDaily,
    SkillDurationBucket,
    SkillDurationBucketDay,
    SkillHourly,
    SkillPhaseDay,
    SkillPhaseHour,
    SkillSessionHour,
)

log = logging.getLogger(__name__)

# 24 h, 7, 30 and 90 days: the skills endpoint's usual windows (the pages and the benchmark).
WINDOW_HOURS = (24, 7 * 24, 30 * 24, 90 * 24)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

# The additive totals, by their names in `analytics.tiers.TOTALS`, and their columns.
TOTAL_FIELDS = {
    "n": "invocations",
    "ok": "completed",
    "bad": "failed",
    "dn": "duration_count",
    "ds": "duration_sum",
    "dq": "duration_sumsq",
}


@dataclass
class Figures:
    """A skill's figures over a window: the rollups' additive totals (`analytics.tiers`
    names), the projects that used it, and what a baseline needs beyond them."""

    n: int = 0
    ok: int = 0
    bad: int = 0
    dn: int = 0
    ds: float = 0.0
    dq: float = 0.0
    projects: set[int] = field(default_factory=set)
    sessions: int = 0
    users: set[str] = field(default_factory=set)
    durations: Counter[int] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)

    def add_totals(self, row: dict[str, Any], project_id: int) -> None:
        """Add one project's TOTALS row."""
        for name in TOTAL_FIELDS:
            setattr(self, name, getattr(self, name) + row[name])
        self.projects.add(project_id)

    def add(self, other: Figures) -> None:
        """Another part: another project (sessions are disjoint across projects) or another
        stretch of hours whose sessions were not seen yet."""
        for name in TOTAL_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.projects |= other.projects
        self.sessions += other.sessions
        self.users |= other.users
        self.durations.update(other.durations)
        self.phases.update(other.phases)


# Every skill of a window that has rollup rows, with its figures.
SkillFigures = dict[str, Figures]


def window_starts(hour: datetime) -> list[datetime]:
    """The start of each standard window ending at `hour`, shortest first."""
    return [hour - (length - 1) * HOUR for length in WINDOW_HOURS]


def day_starts(midnight: datetime) -> list[datetime]:
    """The start of each window of whole UTC days ending at `midnight` (the skill page's),
    shortest first."""
    return [midnight - length * HOUR for length in WINDOW_HOURS]


def storable(start: datetime, hour: datetime) -> bool:
    """Whether [start, hour) is one of the windows stored: a standard one, or one of the
    same lengths in whole UTC days."""
    return start in window_starts(hour) or (hour == _midnight(hour) and start in day_starts(hour))


def projects_key(ids: Iterable[int]) -> str:
    """The key of a set of projects: sha256 of its sorted ids (a set of any size fits)."""
    return hashlib.sha256(",".join(str(i) for i in sorted(ids)).encode()).hexdigest()


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(), tzinfo=UTC)


def check_sums(
    ids: Sequence[int], starts: Sequence[datetime], hour: datetime
) -> list[dict[int, int]]:
    """For each window [start, hour): each project's invocations over [midnight of start,
    hour) (none when it has no rollup row there). The whole days from the daily tier, less
    the hours of the last day from `hour` on (both tiers hold the same counts): a row per
    skill and day, not per hour. One query per tier for every window."""
    last_day = (hour - HOUR).date()
    after = (hour, _midnight(hour - HOUR) + DAY)
    found: list[dict[int, int]] = [defaultdict(int) for _ in starts]
    days = (
        SkillDaily.objects.filter(
            project_id__in=ids, day__gte=min(starts).date(), day__lte=last_day
        )
        .values("project_id")
        .annotate(
            **{
                f"w{k}": Sum("invocations", filter=Q(day__gte=start.date()))
                for k, start in enumerate(starts)
            }
        )
        .order_by()
    )
    for row in days:
        values: dict[str, Any] = dict(row)
        for k in range(len(starts)):
            found[k][values["project_id"]] += values[f"w{k}"] or 0
    if after[0] < after[1]:
        later = (
            SkillHourly.objects.filter(project_id__in=ids, hour__gte=after[0], hour__lt=after[1])
            .values("project_id")
            .annotate(n=Sum("invocations"))
            .values_list("project_id", "n")
            .order_by()
        )
        for project_id, n in later:
            for sums in found:
                sums[project_id] -= n
    return [{pk: n for pk, n in sums.items() if n} for sums in found]


def histograms(
    projects: Iterable[Project] | Iterable[int] | QuerySet[Project],
    tiers: Tiers,
    skills: list[str] | None,
) -> SkillFigures:
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
    found: SkillFigures = defaultdict(Figures)
    for skill, key, is_phase, n in parts[0].union(*parts[1:], all=True):
        if is_phase:
            found[skill].phases[key] += n
        else:
            found[skill].durations[int(key)] += n
    return found


def live(
    projects: list[Project] | QuerySet[Project],
    start: datetime,
    end: datetime,
    skills: list[str] | None = None,
) -> SkillFigures:
    """Counted from the rollups: the totals from both tiers (of every skill: the rank is
    among all of them), and for the `skills` chosen (all by default) distinct sessions per
    skill in SQL, the distinct (skill, user) pairs (few), the histograms and phases from both
    tiers. Only the skills with rollup rows in the window."""
    tiers = Tiers.of(start, end)
    found: SkillFigures = defaultdict(Figures)
    for (skill, project_id), row in window_totals(projects, tiers).items():
        found[skill].add_totals(row, project_id)
    for skill, part in histograms(projects, tiers, skills).items():
        found[skill].add(part)
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
    return {skill: f for skill, f in found.items() if f.projects}


def _tuples(rows: QuerySet) -> list[tuple]:
    """A `values_list` query's rows straight from the cursor: for hundreds of thousands of
    integers and names, Django's per-value converters cost seconds and change nothing."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _windows(
    ids: Sequence[int], starts: list[datetime], end: datetime
) -> dict[int, list[SkillFigures]]:
    """Each project's figures for each window [start, end) of `starts` (shortest first), in
    one pass over the projects together (a project's rows lie all over each table: reading
    them project by project reads every page once per project): each rollup row once, its
    count summed into the windows whose tiers hold it (`FILTER`); distinct sessions per
    window counted by the database, and each (skill, user) pair's last hour."""
    per: dict[int, list[SkillFigures]] = {pk: [defaultdict(Figures) for _ in starts] for pk in ids}
    # A session has one user: its distinct sessions per (skill, user) add up to the skill's.
    used = SkillSessionHour.objects.filter(project_id__in=ids, hour__gte=starts[-1], hour__lt=end)
    distinct = {
        f"s_{k}": Count("session_id", distinct=True, filter=Q(hour__gte=start))
        for k, start in enumerate(starts)
    }
    names = list(distinct)
    for project_id, skill, user, *sessions in _tuples(
        used.values("project_id", "skill", "session__user_name")
        .annotate(**distinct)
        .values_list("project_id", "skill", "session__user_name", *names)
        .order_by()
    ):
        windows = per[project_id]
        for k, n in enumerate(sessions):
            if n:
                found = windows[k][skill]
                found.sessions += n
                if user:
                    found.users.add(user)
    tiers = [Tiers.of(start, end) for start in starts]
    any_hour = Q()
    for t in tiers:
        any_hour |= t.hours
    reads: list[tuple[tuple[type[Model], type[Model], type[Model]], list[Q | None], Q]] = [
        ((SkillHourly, SkillDurationBucket, SkillPhaseHour), [t.hours for t in tiers], any_hour)
    ]
    widest = tiers[-1].days
    if widest is not None:
        reads.append(
            ((SkillDaily, SkillDurationBucketDay, SkillPhaseDay), [t.days for t in tiers], widest)
        )
    for (totals, buckets_model, phases_model), wheres, every in reads:
        chosen = [(k, where) for k, where in enumerate(wheres) if where is not None]
        sums = {
            f"{name}_{k}": Sum(column, filter=where)
            for k, where in chosen
            for name, column in TOTAL_FIELDS.items()
        }
        for row in (
            totals._default_manager.filter(every, project_id__in=ids)
            .values("project_id", "skill")
            .annotate(**sums)
            .order_by()
        ):
            for k, _ in chosen:
                if row[f"n_{k}"] is not None:
                    values = {name: row[f"{name}_{k}"] for name in TOTAL_FIELDS}
                    per[row["project_id"]][k][row["skill"]].add_totals(values, row["project_id"])
        counts = {f"c_{k}": Sum("count", filter=where) for k, where in chosen}
        for model, key in ((buckets_model, "bucket"), (phases_model, "phase")):
            rows = model._default_manager.filter(every, project_id__in=ids)
            if key == "phase":
                rows = rows.exclude(phase="")
            names = [f"c_{k}" for k, _ in chosen]
            for project_id, skill, value, *ns in _tuples(
                rows.values("project_id", "skill", key)
                .annotate(**counts)
                .values_list("project_id", "skill", key, *names)
                .order_by()
            ):
                windows = per[project_id]
                for (k, _), n in zip(chosen, ns, strict=True):
                    if n:
                        found = windows[k][skill]
                        if key == "bucket":
                            found.durations[value] += n
                        else:
                            found.phases[value] += n
    # Only the skills with rollup rows in the window (as counting live gives).
    return {
        pk: [{s: f for s, f in found.items() if f.projects} for found in windows]
        for pk, windows in per.items()
    }


# The columns of a stored row, in `_rows`' order.
ROW_COLUMNS = (
    "window_id", "skill", *TOTAL_FIELDS.values(), "in_projects", "sessions", "users",
    "durations", "phases",
)  # fmt: skip


def _rows(window: FiguresWindow, found: SkillFigures) -> list[tuple]:
    """The rows of `found`'s skills, JSON values adapted for this database (`insert_rows`
    sends them as they are: `bulk_create` spent seconds escaping them into text arrays)."""
    json = SkillWindowFigures._meta.get_field("users")
    adapt = lambda value: json.get_db_prep_value(value, connection)  # noqa: E731
    return [
        (
            window.pk,
            skill,
            *(getattr(f, name) for name in TOTAL_FIELDS),
            adapt(sorted(f.projects)),
            f.sessions,
            adapt(sorted(f.users)),
            adapt({str(b): c for b, c in sorted(f.durations.items())}),
            adapt(dict(sorted(f.phases.items()))),
        )
        for skill, f in sorted(found.items())
    ]


def _store(
    ids: Sequence[int],
    start: datetime,
    end: datetime,
    checks: dict[int, int],
    found: SkillFigures,
    computed_at: datetime,
) -> int:
    """Store (replacing) the set's window and its skills' rows; returns the rows written, 0
    when another process stored the same window meanwhile (its figures are the same)."""
    key = projects_key(ids)
    try:
        with transaction.atomic():
            FiguresWindow.objects.filter(projects_key=key, window_start=start).exclude(
                window_end__gt=end
            ).delete()
            window = FiguresWindow.objects.create(
                projects_key=key,
                project_ids=sorted(ids),
                window_start=start,
                window_end=end,
                checks={str(pk): n for pk, n in sorted(checks.items())},
                computed_at=computed_at,
            )
            rows = _rows(window, found)
            insert_rows(SkillWindowFigures, ROW_COLUMNS, rows)
    except IntegrityError:
        log.info("figures of %s projects [%s, %s) stored by another process", len(ids), start, end)
        return 0
    return len(rows)


def _decode(rows: Iterable[tuple]) -> SkillFigures:
    found: SkillFigures = {}
    for skill, *totals, in_projects, sessions, users, durations, phases in rows:
        found[skill] = Figures(
            **dict(zip(TOTAL_FIELDS, totals, strict=True)),
            projects=set(in_projects),
            sessions=sessions,
            users=set(users),
            durations=Counter({int(b): c for b, c in durations.items()}),
            phases=Counter(phases),
        )
    return found


ROW_FIELDS = (
    "skill",
    *TOTAL_FIELDS.values(),
    "in_projects",
    "sessions",
    "users",
    "durations",
    "phases",
)


def _load(window_ids: Iterable[int]) -> dict[int, SkillFigures]:
    """The stored figures of these windows, by window id."""
    found: dict[int, list[tuple]] = defaultdict(list)
    rows = SkillWindowFigures.objects.filter(window_id__in=list(window_ids))
    for window_id, *row in rows.values_list("window_id", *ROW_FIELDS):
        found[window_id].append(tuple(row))
    return {window_id: _decode(rows) for window_id, rows in found.items()}


def _valid_windows(
    ids: Sequence[int], start: datetime, end: datetime, checks: dict[int, int]
) -> dict[str, int]:
    """Of the windows [start, end) stored for `ids` and for each project of them alone, the
    ones whose checks still hold: set key → window id."""
    keys = {projects_key(ids): ids} | {projects_key([pk]): [pk] for pk in ids}
    valid = {}
    for pk, key, stored in FiguresWindow.objects.filter(
        projects_key__in=list(keys), window_start=start, window_end=end
    ).values_list("pk", "projects_key", "checks"):
        if {int(p): n for p, n in stored.items()} == {
            p: checks[p] for p in keys[key] if p in checks
        }:
            valid[key] = pk
    return valid


def _build(projects: Sequence[Project], start: datetime, end: datetime) -> SkillFigures:
    """The set's figures over [start, end): the set's own stored window if its checks hold;
    otherwise its projects' own stored windows where theirs hold and counted from the rollups
    where not, each project's and the set's then stored."""
    ids = sorted(p.pk for p in projects)
    # The checks first: an event committed while the figures are counted then fails them.
    checks = check_sums(ids, [start], end)[0]
    valid = _valid_windows(ids, start, end, checks)
    key = projects_key(ids)
    if key in valid:
        return _load([valid[key]]).get(valid[key], {})
    computed_at = datetime.now(UTC)
    singles = _load(valid[projects_key([p.pk])] for p in projects if projects_key([p.pk]) in valid)
    found: SkillFigures = defaultdict(Figures)
    for project in projects:
        single = projects_key([project.pk])
        if single in valid:
            part = singles.get(valid[single], {})
        else:
            part = _windows([project.pk], [start], end)[project.pk][0]
            own = {project.pk: checks[project.pk]} if project.pk in checks else {}
            _store([project.pk], start, end, own, part, computed_at)
        for skill, figures in part.items():
            found[skill].add(figures)
    if len(ids) > 1:
        _store(ids, start, end, checks, found, computed_at)
    return dict(found)


def set_figures(
    projects: QuerySet[Project] | list[Project],
    start: datetime,
    end: datetime,
    skills: list[str] | None = None,
) -> SkillFigures:
    """Every skill's figures over the hours [start, end) of these projects (the skills with
    rollup rows there): the stored window [start, hour of `end`) when it is a standard one
    (built and stored when none holds), plus the hours from it; counted from the rollups
    otherwise, the totals of every skill and the rest of `skills` only (all by default)."""
    chosen = list(projects)
    closed = floor_hour(end)
    if not chosen or not storable(start, closed):
        return live(chosen, start, end, skills)
    found = _build(chosen, start, closed)
    if end > closed:
        _add_later(found, [p.pk for p in chosen], start, closed, end)
    return found


def _add_later(
    found: SkillFigures, ids: list[int], start: datetime, window_end: datetime, end: datetime
) -> None:
    """Add what [window_end, end) holds: its totals, histograms and phases, and the sessions
    and users that [start, window_end) had not seen."""
    later = Tiers.of(window_end, end)
    for (skill, project_id), row in window_totals(ids, later).items():
        found.setdefault(skill, Figures()).add_totals(row, project_id)
    for skill, part in histograms(ids, later, None).items():
        found.setdefault(skill, Figures()).add(part)
    # The skills of those hours first, by the hourly rollup's index on the hour: the session
    # rows are then found by their (project, skill, hour) key, not a scan of the projects'.
    active = SkillHourly.objects.filter(project_id__in=ids, hour__gte=window_end, hour__lt=end)
    used = set(active.values_list("skill", flat=True).distinct().order_by())
    if not used:
        return
    rows = SkillSessionHour.objects.filter(
        project_id__in=ids, skill__in=used, hour__gte=window_end, hour__lt=end
    )
    pairs = set(rows.values_list("skill", "session_id", "session__user_name").order_by())
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


def reader_sets(projects: list[Project]) -> list[list[int]]:
    """The sets of projects the worker stores besides each project alone: every project
    (what a superuser sees) and each active user's visible projects, of two or more."""
    every = [p.pk for p in projects]
    known = set(every)
    members: dict[int, set[int]] = defaultdict(set)
    through = Project.members.through
    users = get_user_model().objects.filter(is_active=True, is_superuser=False)
    for user_id, project_id in through.objects.filter(user__in=users).values_list(
        "user_id", "project_id"
    ):
        if project_id in known:
            members[user_id].add(project_id)
    found = {tuple(every)} | {tuple(sorted(ids)) for ids in members.values()}
    return [list(ids) for ids in sorted(found) if len(ids) > 1]


def recompute(at: datetime) -> tuple[int, int]:
    """Store the figures of the standard windows ending at `at`'s hour for each project whose
    stored ones are missing or no longer hold, then for the reader sets (`reader_sets`)
    whose do not; windows ending earlier are dropped. Returns (projects recomputed, rows
    written): the first pass of an hour recomputes, the next ones of the hour only check,
    unless events were delivered late into a window."""
    end = floor_hour(at)
    starts = window_starts(end)
    projects = list(Project.objects.order_by("pk"))
    ids = [p.pk for p in projects]
    # The checks first: an event committed while the figures are counted then fails them.
    checks = check_sums(ids, starts, end)
    stored: dict[tuple[str, datetime], tuple[int, dict[int, int]]] = {
        (key, start): (pk, {int(p): n for p, n in sums.items()})
        for pk, key, start, sums in FiguresWindow.objects.filter(
            window_end=end, window_start__in=starts
        ).values_list("pk", "projects_key", "window_start", "checks")
    }

    def holds(members: Sequence[int], k: int) -> int | None:
        """The stored window k of `members` if its checks hold."""
        pk, sums = stored.get((projects_key(members), starts[k]), (None, None))
        wanted = {p: checks[k][p] for p in members if p in checks[k]}
        return pk if sums == wanted else None

    computed_at = datetime.now(UTC)
    recomputed = written = 0
    stale = [pk for pk in ids if any(holds([pk], k) is None for k in range(len(starts)))]
    fresh = _windows(stale, starts, end) if stale else {}
    for pk in stale:
        for k, start in enumerate(starts):
            own = {pk: checks[k][pk]} if pk in checks[k] else {}
            written += _store([pk], start, end, own, fresh[pk][k], computed_at)
        recomputed += 1
    for members in reader_sets(projects):
        for k, start in enumerate(starts):
            if holds(members, k) is not None:
                continue
            # Each project's own figures: just counted, or stored (and holding).
            kept = [p for p in members if p not in fresh]
            held = {p: window for p in kept if (window := holds([p], k)) is not None}
            loaded = _load(held.values())
            found: SkillFigures = defaultdict(Figures)
            for p in members:
                part = fresh[p][k] if p in fresh else loaded.get(held.get(p, -1), {})
                for skill, figures in part.items():
                    found[skill].add(figures)
            sums = {p: checks[k][p] for p in members if p in checks[k]}
            written += _store(members, start, end, sums, found, computed_at)
    # The windows of whole days ending at the last midnight are kept for the day.
    today = _midnight(end)
    FiguresWindow.objects.filter(window_end__lt=end).exclude(
        window_end=today, window_start__in=day_starts(today)
    ).delete()
    return recomputed, written
