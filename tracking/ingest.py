"""Storing skill invocations: validation, idempotent insert, and the exact hourly rollup.

Every writer of SkillInvocation (the ingest API, transcript import, hooks, CI uploads) goes
through `record_invocations`, so the rollup and the idempotency rule live in one place.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone

from lib.buckets import bucket_of
from lib.hours import floor_hour
from lib.ranges import check_duration, check_not_future, check_time
from lib.sql import insert_rows
from lib.text import check_text
from tracking import events, instruments
from tracking.models import (
    Project,
    Session,
    SessionRollup,
    SkillDaily,
    SkillDurationBucket,
    SkillDurationBucketDay,
    SkillHourly,
    SkillInvocation,
    SkillPhaseDay,
    SkillPhaseHour,
    SkillSessionHour,
)

MAX_KEY_LENGTH = 200
# The counts of a SkillHourly row, which an insert adds to the stored ones.
ROLLUP_COUNTS = (
    "invocations",
    "completed",
    "failed",
    "duration_count",
    "duration_sum",
    "duration_sumsq",
    "unique_sessions",
)
# The counts of a SkillDaily row: those of the hours, less distinct sessions (not additive).
DAILY_COUNTS = ROLLUP_COUNTS[:-1]


@dataclass(frozen=True)
class InvocationEvent:
    key: str
    session: str
    skill: str
    invoked_at: datetime
    completed: bool | None = None
    duration_s: float | None = None
    phase: str = ""
    error_type: str = ""

    @property
    def hour(self) -> datetime:
        return floor_hour(self.invoked_at)


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    errors: list[dict] = field(default_factory=list)
    # (skill, hour) pairs whose rollups changed, for live updates.
    touched: set[tuple[str, datetime]] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "duplicates": self.duplicates, "errors": self.errors}


def _text(event: dict, name: str, *, required: bool, limit: int = MAX_KEY_LENGTH) -> str:
    """A text field of an event: a storable string (`lib.text.check_text`), or null/absent
    when not `required`. Any other type is refused, never converted (1 is not "1")."""
    value = event.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"'{name}' is required")
        return ""
    return check_text(value, name, limit)


def parse_timestamp(value: object, name: str = "invoked_at", *, happened: bool = False) -> datetime:
    """An ISO 8601 timestamp with a time zone inside `lib.ranges`' range, as an aware datetime.

    Every API entry point parses its timestamps here (ingest, sessions, `since`/`until`).
    `happened`: the time of something that happened, which may not lie further in the future
    than `lib.ranges.MAX_FUTURE_SKEW` (a filter may name any time)."""
    if not isinstance(value, str):
        raise ValueError(f"'{name}' must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{name}' is not an ISO 8601 timestamp: {value[:40]!r}") from None
    parsed = check_time(parsed, name)
    return check_not_future(parsed, name) if happened else parsed


class EventError(ValueError):
    """Everything wrong with one event: `messages` lists each problem, in field order; the
    exception's text is the first (what a caller that reads one message shows)."""

    def __init__(self, messages: list[str]):
        super().__init__(messages[0])
        self.messages = messages


def parse_event(event: object) -> InvocationEvent:
    """Validate one event of the ingest API; EventError lists every field that is wrong."""
    if not isinstance(event, dict):
        raise EventError(["event must be a JSON object"])
    messages: list[str] = []

    def checked(check, *args, **kwargs):
        """The value a check returns, or None after noting its message."""
        try:
            return check(*args, **kwargs)
        except ValueError as exc:
            messages.append(str(exc))
            return None

    completed = event.get("completed")
    if completed is not None and not isinstance(completed, bool):
        messages.append("'completed' must be true, false or null")
    duration = event.get("duration_s")
    if duration is not None:
        duration = checked(check_duration, duration, "duration_s")
    key = checked(_text, event, "id", required=True)
    session = checked(_text, event, "session", required=True)
    skill = checked(_text, event, "skill", required=True)
    invoked_at = checked(parse_timestamp, event.get("invoked_at"), happened=True)
    phase = checked(_text, event, "phase", required=False, limit=100)
    error_type = checked(_text, event, "error_type", required=False)
    if messages:
        raise EventError(messages)
    return InvocationEvent(
        key=key,
        session=session,
        skill=skill,
        invoked_at=invoked_at,
        completed=completed,
        duration_s=duration,
        phase=phase,
        error_type=error_type,
    )


def ingest_events(project: Project, raw_events: list, *, source: str = "api") -> IngestResult:
    """Validate a batch from the API and store its valid events; errors are reported by index,
    `message` the first problem of the event (as before) and `messages` all of them."""
    events: list[InvocationEvent] = []
    errors: list[dict] = []
    for index, raw in enumerate(raw_events):
        try:
            events.append(parse_event(raw))
        except EventError as exc:
            errors.append({"index": index, "message": exc.messages[0], "messages": exc.messages})
    result = record_invocations(project, events, source=source)
    result.errors = errors
    if errors:
        instruments.count_rejection(source, "invalid_event", len(errors))
    return result


def record_invocations(
    project: Project,
    events: list[InvocationEvent],
    *,
    source: str,
    sessions: dict[str, Session] | None = None,
) -> IngestResult:
    """Insert events not seen before and add exactly them to the hourly rollups, atomically.

    An event whose key the project already has (or that repeats earlier in the batch) is a
    duplicate and changes nothing. `sessions` maps external ids to sessions a caller has
    already created; other external ids are looked up or created.
    """
    result = IngestResult()
    unique: dict[str, InvocationEvent] = {}
    for event in events:
        if event.key in unique:
            result.duplicates += 1
        else:
            unique[event.key] = event
    if not unique:
        return result
    # Sorted keys give concurrent batches the same lock order, so they cannot deadlock.
    batch = sorted(unique.values(), key=lambda e: e.key)
    with transaction.atomic():
        session_ids = _session_ids(project, batch, sessions or {})
        inserted = _insert_events(project, batch, session_ids, source)
        result.accepted = len(inserted)
        result.duplicates += len(batch) - len(inserted)
        new_events = [e for e in batch if e.key in inserted]
        _add_to_sessions(new_events, session_ids)
        result.touched = _add_to_rollups(project, new_events, session_ids)
    instruments.count_invocations(source, new_events, duplicates=result.duplicates)
    return result


def _session_ids(
    project: Project, batch: list[InvocationEvent], known: dict[str, Session]
) -> dict[str, int]:
    ids = {external: s.pk for external, s in known.items()}
    first_seen: dict[str, datetime] = {}
    for event in batch:
        if event.session not in ids:
            seen = first_seen.get(event.session)
            if seen is None or event.invoked_at < seen:
                first_seen[event.session] = event.invoked_at
    if not first_seen:
        return ids
    existing = Session.objects.filter(project=project, external_id__in=first_seen)
    moved: list[tuple[int, datetime]] = []
    for name, pk, started_at in existing.values_list("external_id", "pk", "started_at"):
        ids[name] = pk
        if first_seen[name] < started_at:
            moved.append((pk, first_seen[name]))
    if moved:
        _move_starts_back(moved)
    # Sorted: concurrent batches must insert new sessions in one order, or they deadlock.
    missing = sorted(name for name in first_seen if name not in ids)
    if missing:
        Session.objects.bulk_create(
            [
                Session(project=project, external_id=name, started_at=first_seen[name])
                for name in missing
            ],
            ignore_conflicts=True,
        )
        created = list(Session.objects.filter(project=project, external_id__in=missing))
        for session in created:
            ids[session.external_id] = session.pk
            session.project = project
        events.send_sessions_updated(created)  # pushed once the transaction commits
        instruments.sessions_started.labels(instruments.UNKNOWN).inc(len(created))
    return ids


def _move_starts_back(moved: list[tuple[int, datetime]]) -> None:
    """Start sessions at their earliest event: an event before its session's recorded start
    (delivered late, or the session was started by a client whose clock lags) moves the start
    back to it. The event happened, so refusing it would lose a fact; leaving the start would
    list the event above its session's start. Conditional, so concurrent batches keep the
    earliest; sorted by id, the lock order of every batch."""
    now = timezone.now()
    for pk, started_at in sorted(moved):
        Session.objects.filter(pk=pk, started_at__gt=started_at).update(
            started_at=started_at, updated_at=now
        )
    sessions = Session.objects.select_related("project").filter(pk__in=[pk for pk, _ in moved])
    events.send_sessions_updated(list(sessions))


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _adapt_time(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _as_utc(value: datetime | str) -> datetime:
    """A timestamp read back by raw SQL (SQLite gives naive UTC) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


EVENT_COLUMNS = (
    "project_id",
    "session_id",
    "skill",
    "invoked_at",
    "completed",
    "duration_s",
    "phase",
    "error_type",
    "source",
    "idempotency_key",
)


def _insert_events(
    project: Project, batch: list[InvocationEvent], session_ids: dict[str, int], source: str
) -> set[str]:
    rows = [
        (
            project.pk,
            session_ids[e.session],
            e.skill,
            _adapt_time(e.invoked_at),
            e.completed,
            e.duration_s,
            e.phase,
            e.error_type,
            source,
            e.key,
        )
        for e in batch
    ]
    suffix = "ON CONFLICT (project_id, idempotency_key) DO NOTHING RETURNING idempotency_key"
    return {key for (key,) in insert_rows(SkillInvocation, EVENT_COLUMNS, rows, suffix=suffix)}


def _add_to_rollups(
    project: Project, events: list[InvocationEvent], session_ids: dict[str, int]
) -> set[tuple[str, datetime]]:
    if not events:
        return set()
    totals: dict[tuple[str, datetime], list] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0.0])
    pairs: set[tuple[str, datetime, int]] = set()
    for e in events:
        row = totals[(e.skill, e.hour)]
        row[0] += 1
        if e.completed is True:
            row[1] += 1
        elif e.completed is False:
            row[2] += 1
        if e.duration_s is not None:
            row[3] += 1
            row[4] += e.duration_s
            row[5] += e.duration_s * e.duration_s
        pairs.add((e.skill, e.hour, session_ids[e.session]))
    new_sessions = _new_session_hours(project, sorted(pairs))
    keys = sorted(totals)
    table = _quote(SkillHourly._meta.db_table)
    rows = [
        (project.pk, skill, _adapt_time(hour), *totals[key], new_sessions.get(key, 0))
        for key in keys
        for skill, hour in [key]
    ]
    added = ", ".join(f"{col} = {table}.{col} + excluded.{col}" for col in ROLLUP_COUNTS)
    suffix = f"ON CONFLICT (project_id, skill, hour) DO UPDATE SET {added}"
    insert_rows(SkillHourly, ("project_id", "skill", "hour", *ROLLUP_COUNTS), rows, suffix=suffix)
    _add_to_days(project, totals)
    buckets, phases = _keyed_counts(events, "bucket"), _keyed_counts(events, "phase")
    _add_to_counts(project, SkillDurationBucket, "bucket", buckets)
    _add_to_counts(project, SkillPhaseHour, "phase", phases)
    _add_to_counts(project, SkillDurationBucketDay, "bucket", _by_day(buckets), "day")
    _add_to_counts(project, SkillPhaseDay, "phase", _by_day(phases), "day")
    return set(keys)


def _by_day(counts: dict[tuple, int]) -> dict[tuple, int]:
    """Counts keyed (skill, hour, …) summed per (skill, UTC day, …)."""
    days: dict[tuple, int] = defaultdict(int)
    for (skill, hour, *rest), n in counts.items():
        days[(skill, hour.date(), *rest)] += n
    return days


def _add_to_days(project: Project, totals: dict[tuple[str, datetime], list]) -> None:
    """Add the hours' counts to the daily tier (SkillDaily), one upsert in sorted order."""
    days: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0.0])
    for (skill, hour), counts in totals.items():
        row = days[(skill, hour.date())]
        for i, value in enumerate(counts):
            row[i] += value
    table = _quote(SkillDaily._meta.db_table)
    rows = [(project.pk, skill, day, *days[(skill, day)]) for skill, day in sorted(days)]
    added = ", ".join(f"{col} = {table}.{col} + excluded.{col}" for col in DAILY_COUNTS)
    suffix = f"ON CONFLICT (project_id, skill, day) DO UPDATE SET {added}"
    insert_rows(SkillDaily, ("project_id", "skill", "day", *DAILY_COUNTS), rows, suffix=suffix)


def _add_to_sessions(events: list[InvocationEvent], session_ids: dict[str, int]) -> None:
    """Add the new events to their sessions' call counts (SessionRollup), sorted by session:
    after the sessions and before the skill rollups, the lock order of every batch."""
    calls: dict[int, int] = defaultdict(int)
    for e in events:
        calls[session_ids[e.session]] += 1
    table = _quote(SessionRollup._meta.db_table)
    suffix = (
        f"ON CONFLICT (session_id) DO UPDATE SET "
        f"invocations = {table}.invocations + excluded.invocations"
    )
    rows = [(pk, calls[pk]) for pk in sorted(calls)]
    insert_rows(SessionRollup, ("session_id", "invocations"), rows, suffix=suffix)


def _keyed_counts(events: list[InvocationEvent], key: str) -> dict[tuple, int]:
    """Events per (skill, hour, duration bucket) or per (skill, hour, phase); an event without
    a duration has no bucket."""
    counts: dict[tuple, int] = defaultdict(int)
    for e in events:
        if key == "phase":
            counts[(e.skill, e.hour, e.phase)] += 1
        elif e.duration_s is not None:
            counts[(e.skill, e.hour, bucket_of(e.duration_s))] += 1
    return counts


def _add_to_counts(
    project: Project,
    model: type[SkillDurationBucket | SkillPhaseHour | SkillDurationBucketDay | SkillPhaseDay],
    key: str,
    counts: dict[tuple, int],
    period: str = "hour",
) -> None:
    """Add `counts` to `model`'s rows keyed (project, skill, `period`, `key`) in one upsert:
    the same atomic add as SkillHourly's, in sorted order (the lock order of every batch)."""
    table = _quote(model._meta.db_table)
    adapt = _adapt_time if period == "hour" else (lambda day: day)
    rows = [
        (project.pk, skill, adapt(when), value, counts[(skill, when, value)])
        for skill, when, value in sorted(counts)
    ]
    suffix = (
        f"ON CONFLICT (project_id, skill, {period}, {_quote(key)}) "
        f"DO UPDATE SET count = {table}.count + excluded.count"
    )
    insert_rows(model, ("project_id", "skill", period, key, "count"), rows, suffix=suffix)


def _new_session_hours(
    project: Project, pairs: list[tuple[str, datetime, int]]
) -> dict[tuple[str, datetime], int]:
    """Record (skill, hour, session) triples; count per (skill, hour) those not seen before."""
    rows = [(project.pk, skill, _adapt_time(hour), session_id) for skill, hour, session_id in pairs]
    suffix = "ON CONFLICT (project_id, skill, hour, session_id) DO NOTHING RETURNING skill, hour"
    columns = ("project_id", "skill", "hour", "session_id")
    counts: dict[tuple[str, datetime], int] = defaultdict(int)
    for skill, hour in insert_rows(SkillSessionHour, columns, rows, suffix=suffix):
        counts[(skill, _as_utc(hour))] += 1
    return counts
