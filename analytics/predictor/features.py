"""Point-in-time features of a tool call: every figure from events strictly before it.

A row (a call to predict, or a decided call to learn from) is (session, skill, phase, time).
Its features come only from stored events whose `invoked_at` is strictly earlier than the
row's own time, plus the row's static attributes (skill, phase, hour of day):
Feast's point-in-time rule (analytics-anchors.md §5). An event at the same instant is not
"before", so neither the row itself nor a simultaneous call leaks its outcome.

How it is kept point in time, by construction: the events are sorted by (group, time) in
one array per history (the skill's, the session's, the session's use of the skill), with
prefix sums of their outcomes. A row's history is the slice of its group with a time rank
strictly below its own, found by `searchsorted(..., side="left")`; its features are sums
over that slice and the slice's last element. Appending an event at a later time puts it
after every earlier row's slice, so no earlier row's figure can change (the property test in
tests/analytics/test_predictor_features.py checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.expressions import RawSQL

from lib.hours import floor_hour
from tracking.models import Project, SkillDaily, SkillHourly, SkillInvocation

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
RECENT_US = 600 * 1_000_000  # "calls in the last 10 minutes of the session"
CATEGORICAL = ("skill", "phase")
FEATURES = (
    "skill",
    "phase",
    "hour_of_day",
    "skill_prior_decided",
    "skill_prior_rate",
    "session_prior_calls",
    "session_prior_decided",
    "session_prior_rate",
    "session_skill_prior_completed",
    "session_skill_prior_decided",
    "previous_completed",
    "session_age_s",
    "session_calls_10min",
)
LABEL = "completed is true, among decided calls (completed is not null)"


def micros(when: datetime) -> int:
    """Whole microseconds since the epoch, exactly (no float rounding)."""
    return (when - EPOCH) // MICROSECOND


@dataclass
class Events:
    """Stored calls: id, time (µs), session id (-1 = none), skill, phase, outcome (1.0,
    0.0 or NaN for undecided)."""

    ids: np.ndarray
    times: np.ndarray
    sessions: np.ndarray
    skills: np.ndarray
    phases: np.ndarray
    outcomes: np.ndarray

    @classmethod
    def of(cls, rows: list[tuple]) -> Events:
        """From (id, session_id, skill, phase, invoked_at, completed) tuples; invoked_at is a
        datetime or already whole microseconds since the epoch (an int)."""
        ids, sessions, skills, phases, times, outcomes = (
            zip(*rows, strict=True) if rows else ((),) * 6
        )
        return cls(
            ids=np.array(ids, dtype=np.int64),
            times=np.array([t if isinstance(t, int) else micros(t) for t in times], dtype=np.int64),
            sessions=np.array([-1 if s is None else s for s in sessions], dtype=np.int64),
            # Fixed-width text rather than objects: numpy sorts it (np.unique, for the codes
            # of skills and phases) several times faster; the order is the same.
            skills=np.array(skills, dtype=str),
            phases=np.array(phases, dtype=str),
            outcomes=np.array(
                [np.nan if c is None else float(c) for c in outcomes], dtype=np.float64
            ),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, mask: np.ndarray) -> Events:
        return Events(
            self.ids[mask],
            self.times[mask],
            self.sessions[mask],
            self.skills[mask],
            self.phases[mask],
            self.outcomes[mask],
        )


@dataclass
class Rows:
    """The calls to describe: session (-1 = none), skill, phase, time (µs)."""

    sessions: np.ndarray
    skills: np.ndarray
    phases: np.ndarray
    times: np.ndarray

    @classmethod
    def of_events(cls, events: Events) -> Rows:
        return cls(events.sessions, events.skills, events.phases, events.times)


def load_events(project: Project, before: datetime, **filters) -> Events:
    """The project's calls invoked before `before` (narrowed by ORM `filters`)."""
    found = SkillInvocation.objects.filter(
        project=project, invoked_at__lt=before, **filters
    ).order_by()
    time = "invoked_at"
    if connection.vendor == "postgresql":
        # Whole microseconds computed by the server (exact: EXTRACT gives a numeric). Making
        # half a million aware datetimes in Python took longer than all the features.
        column = f'"{SkillInvocation._meta.db_table}"."invoked_at"'
        found = found.annotate(
            invoked_us=RawSQL(f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint", [])  # noqa: S611 - names only
        )
        time = "invoked_us"
    rows = found.values_list("id", "session_id", "skill", "phase", time, "completed")
    if filters:
        # A session's calls: a few hundred rows, fetched at once. A server-side cursor (the
        # iterator's, for a whole project's log) costs more round trips than they take.
        return Events.of(list(rows))
    return Events.of(list(rows.iterator(chunk_size=20_000)))


class _History:
    """Events grouped by an integer key and sorted by (key, time rank, id), with the
    positions of a row's strictly earlier events of its key."""

    def __init__(self, keys: np.ndarray, ranks: np.ndarray, ids: np.ndarray, span: int):
        self.span = span
        self.order = np.lexsort((ids, ranks, keys))
        self.composite = keys[self.order] * span + ranks[self.order]

    def before(self, keys: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """[start, stop) in sorted order: the events of each row's key strictly before it."""
        start = np.searchsorted(self.composite, keys * self.span, side="left")
        stop = np.searchsorted(self.composite, keys * self.span + ranks, side="left")
        return start, stop

    def sums(self, values: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
        prefix = np.concatenate([[0.0], np.cumsum(values[self.order])])
        return prefix[stop] - prefix[start]


def _codes(*columns: np.ndarray) -> list[np.ndarray]:
    """Dense integer codes of the values (or value tuples) of several columns at once."""
    joined = np.concatenate(columns)
    _, inverse = np.unique(joined, return_inverse=True)
    splits = np.cumsum([len(c) for c in columns])[:-1]
    return np.split(inverse.astype(np.int64), splits)


def _pair_codes(a: list[np.ndarray], b: list[np.ndarray]) -> list[np.ndarray]:
    """Dense codes of (a, b) pairs, a and b already dense codes, for events and rows."""
    width = max(int(max((x.max() for x in b if len(x)), default=0)) + 1, 1)
    return _codes(*[x * width + y for x, y in zip(a, b, strict=True)])


def _smoothed(completed: np.ndarray, decided: np.ndarray) -> np.ndarray:
    return (completed + 1.0) / (decided + 2.0)


def hours_of_day(times: np.ndarray, zone: ZoneInfo) -> np.ndarray:
    """The hour of day of each time (µs) in `zone`."""
    if zone.key == "UTC":
        return ((times // 3_600_000_000) % 24).astype(np.float64)
    return np.array(
        [(EPOCH + int(t) * MICROSECOND).astimezone(zone).hour for t in times], dtype=np.float64
    )


def encode(values: np.ndarray, codes: dict[str, int]) -> np.ndarray:
    """Category codes of a model version; a value it did not see is NaN (missing)."""
    return np.array([codes.get(v, np.nan) for v in values], dtype=np.float64)


def features(
    events: Events, rows: Rows, encoding: dict[str, dict[str, int]], zone: ZoneInfo
) -> np.ndarray:
    """The feature matrix of `rows` (columns in FEATURES order) from `events` strictly before
    each row. `encoding` holds the model version's category codes ({"skill": {...},
    "phase": {...}})."""
    n = len(rows.times)
    out = np.full((n, len(FEATURES)), np.nan)
    column = {name: i for i, name in enumerate(FEATURES)}
    out[:, column["skill"]] = encode(rows.skills, encoding["skill"])
    out[:, column["phase"]] = encode(rows.phases, encoding["phase"])
    out[:, column["hour_of_day"]] = hours_of_day(rows.times, zone)
    if n == 0:
        return out
    ev_rank, row_rank, recent_rank = _codes(events.times, rows.times, rows.times - RECENT_US)
    span = int(max(ev_rank.max(initial=0), row_rank.max(), recent_rank.max())) + 1
    decided = (~np.isnan(events.outcomes)).astype(np.float64)
    completed = np.nan_to_num(events.outcomes, nan=0.0)

    ev_skill, row_skill = _codes(events.skills, rows.skills)
    skill = _History(ev_skill, ev_rank, events.ids, span)
    start, stop = skill.before(row_skill, row_rank)
    n_decided = skill.sums(decided, start, stop)
    out[:, column["skill_prior_decided"]] = n_decided
    out[:, column["skill_prior_rate"]] = _smoothed(skill.sums(completed, start, stop), n_decided)

    ev_session, row_session = _codes(events.sessions, rows.sessions)
    session = _History(ev_session, ev_rank, events.ids, span)
    start, stop = session.before(row_session, row_rank)
    n_decided = session.sums(decided, start, stop)
    has = stop > start
    # Padded by one so that an empty slice's positions stay inside the arrays.
    sorted_times = np.concatenate([events.times[session.order], [0]])
    sorted_outcomes = np.concatenate([events.outcomes[session.order], [np.nan]])
    recent = np.searchsorted(session.composite, row_session * span + recent_rank, side="left")
    session_figures = {
        "session_prior_calls": (stop - start).astype(np.float64),
        "session_prior_decided": n_decided,
        "session_prior_rate": _smoothed(session.sums(completed, start, stop), n_decided),
        "previous_completed": np.where(has, sorted_outcomes[stop - 1], np.nan),
        "session_age_s": np.where(has, (rows.times - sorted_times[start]) / 1e6, 0.0),
        "session_calls_10min": (stop - np.maximum(recent, start)).astype(np.float64),
    }

    ev_pair, row_pair = _pair_codes([ev_session, row_session], [ev_skill, row_skill])
    pair = _History(ev_pair, ev_rank, events.ids, span)
    start, stop = pair.before(row_pair, row_rank)
    session_figures["session_skill_prior_completed"] = pair.sums(completed, start, stop)
    session_figures["session_skill_prior_decided"] = pair.sums(decided, start, stop)

    # A call outside any session has no session history: missing, not zero.
    outside = rows.sessions < 0
    for name, values in session_figures.items():
        out[:, column[name]] = np.where(outside, np.nan, values)
    return out


def row_features(
    project: Project,
    session_id: int | None,
    skill: str | Sequence[str],
    phase: str,
    at: datetime,
    encoding: dict[str, dict[str, int]],
    zone: ZoneInfo,
) -> np.ndarray:
    """The features of a call about to happen at `at`, the same figures as `features` gives a
    stored call: the session's events are read, and the skill's history is counted in SQL (a
    popular skill has too many events to read for one prediction). Several skills give one
    row each, in their order, from one read of the session and one grouped count."""
    skills = [skill] if isinstance(skill, str) else list(skill)
    if session_id is None:
        events = Events.of([])
    else:
        events = load_events(project, at, session_id=session_id)
    n = len(skills)
    row = Rows(
        sessions=np.full(n, -1 if session_id is None else session_id, dtype=np.int64),
        skills=np.array(skills, dtype=object),
        phases=np.array([phase] * n, dtype=object),
        times=np.full(n, micros(at), dtype=np.int64),
    )
    out = features(events, row, encoding, zone)
    counts = skill_prior_counts(project, skills, at)
    for i, name in enumerate(skills):
        completed, decided = counts.get(name, (0, 0))
        out[i, FEATURES.index("skill_prior_decided")] = decided
        out[i, FEATURES.index("skill_prior_rate")] = (completed + 1) / (decided + 2)
    return out


def skill_prior_counts(
    project: Project, skills: Sequence[str], at: datetime
) -> dict[str, tuple[int, int]]:
    """(completed, decided) of each skill's calls in `project` invoked before `at`, the
    figures `features` counts from the events: the daily tier's whole days and the hourly
    rows' whole hours before the hour of `at` (exact: ingest upserts them with the events, in
    one transaction), and the event log for that hour's calls before `at`, in one query. A
    popular skill has hundreds of thousands of calls, too many to count for a prediction."""
    hour = floor_hour(at)
    day = datetime.combine(hour.date(), time(), tzinfo=UTC)
    days = SkillDaily.objects.filter(project=project, skill__in=skills, day__lt=day.date())
    hours = SkillHourly.objects.filter(
        project=project, skill__in=skills, hour__gte=day, hour__lt=hour
    )
    calls = (
        SkillInvocation.objects.filter(
            project=project, skill__in=skills, invoked_at__gte=hour, invoked_at__lt=at
        )
        .order_by()
        .values("skill")
        .annotate(
            ok=Count("id", filter=Q(completed=True)),
            bad=Count("id", filter=Q(completed=False)),
        )
    )
    rolled = [
        rows.order_by().values("skill").annotate(ok=Sum("completed"), bad=Sum("failed"))
        for rows in (days, hours)
    ]
    counts: dict[str, tuple[int, int]] = {}
    for skill, ok, bad in calls.union(*rolled, all=True).values_list("skill", "ok", "bad"):
        completed, decided = counts.get(skill, (0, 0))
        counts[skill] = (completed + (ok or 0), decided + (ok or 0) + (bad or 0))
    return counts
