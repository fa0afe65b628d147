"""The daily tier (SkillDaily, SkillDurationBucketDay, SkillPhaseDay) and the per-session call
counts (SessionRollup): written by ingest with the hourly rows, equal to them summed per UTC
day, and rebuilt the same by `tracking.rollup_sql.build_daily` (the migration's backfill)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest

from lib.buckets import bucket_of
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import (
    Session,
    SessionRollup,
    SkillDaily,
    SkillDurationBucket,
    SkillDurationBucketDay,
    SkillHourly,
    SkillPhaseDay,
    SkillPhaseHour,
)
from tracking.rollup_sql import build_daily

# 23:10 and 23:50 on the 20th, 00:20 on the 21st (UTC): two days, three hours.
LATE = datetime.fromisoformat("2026-11-20T23:10:00+00:00")


def event(key, skill, minutes, completed, duration, *, session="s1", phase=""):
    return InvocationEvent(
        key=key,
        session=session,
        skill=skill,
        invoked_at=LATE + timedelta(minutes=minutes),
        completed=completed,
        duration_s=duration,
        phase=phase,
    )


@pytest.fixture
def stored(project):
    first = [
        event("a", "pytest", 0, True, 2.0, phase="test"),
        event("b", "pytest", 40, False, 4.0, phase="test"),
        event("c", "pytest", 70, None, None, session="s2"),
        event("d", "ruff", 5, True, 0.5, session="s2", phase="lint"),
    ]
    record_invocations(project, first, source="api")
    # A second batch: one repeat (changes nothing) and one more on the 20th.
    again = [event("a", "pytest", 0, True, 2.0), event("e", "pytest", 45, True, 6.0)]
    record_invocations(project, again, source="api")
    return project


def daily(project):
    return {
        (r.skill, r.day): (
            r.invocations,
            r.completed,
            r.failed,
            r.duration_count,
            r.duration_sum,
            r.duration_sumsq,
        )
        for r in SkillDaily.objects.filter(project=project)
    }


@pytest.mark.django_db
def test_ingest_adds_each_new_event_to_its_utc_day(stored):
    assert daily(stored) == {
        # a (2 s, completed), b (4 s, failed), e (6 s, completed): 4 + 16 + 36 = 56.
        ("pytest", date(2026, 11, 20)): (3, 2, 1, 3, 12.0, 56.0),
        # c: undecided, no duration, after midnight.
        ("pytest", date(2026, 11, 21)): (1, 0, 0, 0, 0.0, 0.0),
        ("ruff", date(2026, 11, 20)): (1, 1, 0, 1, 0.5, 0.25),
    }
    buckets = {
        (r.skill, r.day, r.bucket): r.count
        for r in SkillDurationBucketDay.objects.filter(project=stored)
    }
    assert buckets == {
        ("pytest", date(2026, 11, 20), bucket_of(2.0)): 1,
        ("pytest", date(2026, 11, 20), bucket_of(4.0)): 1,
        ("pytest", date(2026, 11, 20), bucket_of(6.0)): 1,
        ("ruff", date(2026, 11, 20), bucket_of(0.5)): 1,
    }
    phases = {
        (r.skill, r.day, r.phase): r.count for r in SkillPhaseDay.objects.filter(project=stored)
    }
    assert phases == {
        ("pytest", date(2026, 11, 20), "test"): 2,
        ("pytest", date(2026, 11, 20), ""): 1,
        ("pytest", date(2026, 11, 21), ""): 1,
        ("ruff", date(2026, 11, 20), "lint"): 1,
    }


@pytest.mark.django_db
def test_the_daily_tier_is_the_hourly_rows_summed_per_day(stored):
    summed: dict[tuple, list] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0.0])
    for r in SkillHourly.objects.filter(project=stored):
        row = summed[(r.skill, r.hour.date())]
        values = (r.invocations, r.completed, r.failed, r.duration_count, r.duration_sum)
        for i, value in enumerate((*values, r.duration_sumsq)):
            row[i] += value
    assert daily(stored) == {key: tuple(v) for key, v in summed.items()}
    for hourly, day_model, key in (
        (SkillDurationBucket, SkillDurationBucketDay, "bucket"),
        (SkillPhaseHour, SkillPhaseDay, "phase"),
    ):
        by_day: dict[tuple, int] = defaultdict(int)
        for h in hourly.objects.filter(project=stored):
            by_day[(h.skill, h.hour.date(), getattr(h, key))] += h.count
        days = {(d.skill, d.day, getattr(d, key)): d.count for d in day_model.objects.all()}
        assert days == by_day


@pytest.mark.django_db
def test_sessions_count_their_new_tool_calls(stored):
    rollups = SessionRollup.objects.select_related("session")
    calls = {r.session.external_id: r.invocations for r in rollups}
    # s1: a, b, e (the repeat of a is not counted); s2: c, d.
    assert calls == {"s1": 3, "s2": 2}
    assert calls["s1"] == Session.objects.get(external_id="s1").invocations.count()


@pytest.mark.django_db
def test_the_backfill_rebuilds_the_same_rows(stored):
    before = daily(stored)
    calls = dict(SessionRollup.objects.values_list("session_id", "invocations"))
    SkillDaily.objects.all().delete()
    SessionRollup.objects.all().delete()
    SkillPhaseDay.objects.all().update(count=99)
    written = build_daily()
    assert written["tracking_skilldaily"] == 3
    assert daily(stored) == before
    assert dict(SessionRollup.objects.values_list("session_id", "invocations")) == calls
    assert sorted(SkillPhaseDay.objects.values_list("count", flat=True)) == [1, 1, 1, 2]


@pytest.mark.django_db
def test_a_merge_adds_the_daily_rows_and_keeps_the_session_counts(stored, other_project):
    from tracking.merging import merge_projects

    record_invocations(
        other_project,
        [
            event("x", "pytest", 20, True, 1.0, session="t1", phase="test"),
            event("y", "mypy", 80, False, 3.0, session="t1"),
        ],
        source="api",
    )
    merge_projects(stored, other_project)
    assert daily(stored) == {
        # 12 + 1 s of duration, 56 + 1 of squares.
        ("pytest", date(2026, 11, 20)): (4, 3, 1, 4, 13.0, 57.0),
        ("pytest", date(2026, 11, 21)): (1, 0, 0, 0, 0.0, 0.0),
        ("ruff", date(2026, 11, 20)): (1, 1, 0, 1, 0.5, 0.25),
        ("mypy", date(2026, 11, 21)): (1, 0, 1, 1, 3.0, 9.0),
    }
    test_phase = SkillPhaseDay.objects.get(project=stored, skill="pytest", phase="test")
    assert test_phase.count == 3
    calls = {r.session.external_id: r.invocations for r in SessionRollup.objects.all()}
    assert calls == {"s1": 3, "s2": 2, "t1": 2}
