"""A skill's stored window figures (`analytics.window_figures`): the worker's figures give the
same API output as counting live, the hour after them is added, and a window that got events
after they were counted is counted live again; and how a window is split into tiers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from analytics import window_figures
from analytics.models import FiguresWindow, SkillWindowFigures
from analytics.tiers import Tiers
from lib.hours import floor_hour
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session

URL = "/api/v1/projects/alpha/skills"
HOUR = timedelta(hours=1)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_window_reads_its_whole_days_from_the_daily_tier():
    tiers = Tiers.of(at("2026-11-20T10:00"), at("2026-11-23T05:30"))
    assert tiers.day_range == (date(2026, 11, 21), date(2026, 11, 23))
    # The hour 05:00 is counted (it starts before the end): 00:00–05:30 from the hours.
    assert tiers.hour_ranges == (
        (at("2026-11-20T10:00"), at("2026-11-21T00:00")),
        (at("2026-11-23T00:00"), at("2026-11-23T05:30")),
    )
    # From midnight to midnight: days only (both hour ranges empty).
    whole = Tiers.of(at("2026-11-20T00:00"), at("2026-11-22T00:00"))
    assert whole.day_range == (date(2026, 11, 20), date(2026, 11, 22))
    assert [low == high for low, high in whole.hour_ranges] == [True, True]
    # Less than a whole day: hours only.
    short = Tiers.of(at("2026-11-20T10:00"), at("2026-11-21T09:00"))
    assert short.day_range is None
    assert short.hour_ranges == ((at("2026-11-20T10:00"), at("2026-11-21T09:00")),)


def use(project, key, session, user, when, skill="pytest", duration=None, phase=""):
    event = InvocationEvent(
        key=key,
        session=session,
        skill=skill,
        invoked_at=when,
        completed=True,
        duration_s=duration,
        phase=phase,
    )
    record_invocations(project, [event], source="api")
    Session.objects.filter(project=project, external_id=session).update(user_name=user)


def figures(client, window):
    body = client.get(URL, {"window": window}).json()
    return {s["skill"]: (s["n"], s["sessions"], s["users"]) for s in body["skills"]}


@pytest.fixture
def hour(project):
    """ann in s1 (3 h ago) and s3 (30 h ago), bob in s2 (2 h ago), an unnamed s0 (2 h ago);
    ruff once in s1."""
    now = floor_hour(datetime.now(UTC))
    use(project, "e1", "s1", "ann", now - 3 * HOUR, duration=2.0, phase="test")
    use(project, "e2", "s2", "bob", now - 2 * HOUR, duration=8.0, phase="lint")
    use(project, "e3", "s3", "ann", now - 30 * HOUR, duration=30.0, phase="lint")
    use(project, "e4", "s0", "", now - 2 * HOUR)
    use(project, "e5", "s1", "ann", now - 3 * HOUR, skill="ruff")
    return now


def without_end(value):
    """The answer less its window ends (the moment of the request)."""
    if isinstance(value, dict):
        return {k: without_end(v) for k, v in value.items() if k != "window_end"}
    if isinstance(value, list):
        return [without_end(v) for v in value]
    return value


def whole(client, window):
    return without_end(client.get(URL, {"window": window}).json()["skills"])


def same_hour(now):
    if floor_hour(datetime.now(UTC)) != now:
        pytest.skip("the hour turned during the test")


@pytest.mark.django_db
def test_stored_figures_answer_as_counting_live_does(owner_client, project, hour):
    live = {w: figures(owner_client, w) for w in ("24h", "7d", "30d")}
    every_field = {w: whole(owner_client, w) for w in live}
    # By hand: 24 h sees s0, s1, s2 (ann, bob); 7 d also s3 (ann again).
    assert live["24h"] == {"pytest": (3, 3, 2), "ruff": (1, 1, 1)}
    assert live["7d"] == live["30d"] == {"pytest": (4, 4, 2), "ruff": (1, 1, 1)}
    call_command("analytics_worker", "--once", stdout=StringIO())
    same_hour(hour)
    stored = SkillWindowFigures.objects.get(skill="pytest", window__window_start=hour - 23 * HOUR)
    assert (stored.window.window_end, stored.invocations, stored.sessions) == (hour, 3, 3)
    assert stored.users == ["ann", "bob"]
    assert {w: figures(owner_client, w) for w in live} == live
    # Percentiles and phases too: p50 of 2 s and 8 s (midpoints of their buckets); lint wins.
    assert {w: whole(owner_client, w) for w in live} == every_field
    assert every_field["24h"][0]["duration_p50"] == pytest.approx(5.0, rel=0.05)
    assert every_field["7d"][0]["most_common_phase"] == "lint"
    assert stored.durations and stored.phases == {"lint": 1, "test": 1}
    # The stored row is what answers: changed by hand, the answer changes.
    SkillWindowFigures.objects.filter(pk=stored.pk).update(sessions=99)
    assert figures(owner_client, "24h")["pytest"] == (3, 99, 2)


@pytest.mark.django_db
def test_the_current_hour_adds_only_the_sessions_and_users_not_seen(owner_client, project, hour):
    call_command("analytics_worker", "--once", stdout=StringIO())
    use(project, "n1", "s1", "ann", hour + timedelta(minutes=1))  # seen 3 h ago
    use(project, "n2", "s4", "cy", hour + timedelta(minutes=2))  # new session, new user
    use(project, "n3", "s3", "ann", hour + timedelta(minutes=3))  # seen 30 h ago only
    same_hour(hour)
    # 24 h: s0, s1, s2 stored + s4 and s3 (not in the last 23 closed hours); users + cy.
    assert figures(owner_client, "24h")["pytest"] == (6, 5, 3)
    # 7 d: s3 was already there; s4 is the only new one.
    assert figures(owner_client, "7d")["pytest"] == (7, 5, 3)


@pytest.mark.django_db
def test_a_late_event_in_the_stored_window_is_counted_live(owner_client, project, hour):
    call_command("analytics_worker", "--once", stdout=StringIO())
    SkillWindowFigures.objects.filter(skill="pytest").update(sessions=99)
    # Delivered late: 5 h ago, a new session of a new user.
    use(project, "late", "s5", "dee", hour - 5 * HOUR)
    same_hour(hour)
    assert figures(owner_client, "24h") == {"pytest": (4, 4, 3), "ruff": (1, 1, 1)}


@pytest.mark.django_db
def test_the_worker_recomputes_only_what_changed_within_its_hour(project, hour):
    assert window_figures.recompute(hour) == (1, 8)  # 2 skills × 4 windows
    assert window_figures.recompute(hour + timedelta(minutes=5)) == (0, 0)
    use(project, "late", "s5", "dee", hour - 5 * HOUR)
    assert window_figures.recompute(hour + timedelta(minutes=10)) == (1, 8)
    stored = SkillWindowFigures.objects.get(skill="pytest", window__window_start=hour - 23 * HOUR)
    assert (stored.invocations, stored.sessions, stored.users) == (4, 4, ["ann", "bob", "dee"])
    # The next hour's windows replace this hour's.
    window_figures.recompute(hour + HOUR)
    assert set(SkillWindowFigures.objects.values_list("window__window_end", flat=True)) == {
        hour + HOUR
    }


# Figures stored per set of projects: every project together, a user's visible set.

ACROSS = "/api/v1/skills"


def across(client, window="24h", project="alpha"):
    """The across_projects figures of each skill: (n, sessions, users, projects)."""
    body = client.get(ACROSS, {"window": window, "project": project}).json()
    return {
        s["skill"]: tuple(s["across_projects"][k] for k in ("n", "sessions", "users", "projects"))
        for s in body["skills"]
    }


@pytest.fixture
def two(project, other_project, owner, hour):
    """beta too: dee in s9 and ann (also in alpha) in s8, 4 h ago; gamma, which alice does
    not see: bob in s7. alice sees alpha and beta."""
    use(other_project, "b1", "s9", "dee", hour - 4 * HOUR, duration=4.0, phase="test")
    use(other_project, "b2", "s8", "ann", hour - 4 * HOUR)
    gamma = Project.objects.create(name="Gamma", slug="gamma")
    use(gamma, "g1", "s7", "bob", hour - 4 * HOUR)
    other_project.members.add(owner)
    return gamma


def keyed(*projects):
    return window_figures.projects_key(p.pk for p in projects)


@pytest.mark.django_db
def test_the_worker_stores_every_project_and_each_users_visible_set(
    owner_client, admin_client, project, other_project, two, hour
):
    gamma = two
    call_command("analytics_worker", "--once", stdout=StringIO())
    same_hour(hour)
    keys = set(FiguresWindow.objects.values_list("projects_key", flat=True))
    # Each project alone, all three (a superuser's), and alice's alpha + beta.
    assert keys == {
        keyed(project),
        keyed(other_project),
        keyed(gamma),
        keyed(project, other_project, gamma),
        keyed(project, other_project),
    }
    mine = SkillWindowFigures.objects.get(
        skill="pytest",
        window__projects_key=keyed(project, other_project),
        window__window_start=hour - 23 * HOUR,
    )
    # By hand: alpha's s0, s1, s2 and beta's s8, s9; ann is in both projects, counted once.
    assert (mine.invocations, mine.sessions, mine.users) == (5, 5, ["ann", "bob", "dee"])
    assert mine.in_projects == sorted([project.pk, other_project.pk])
    assert across(owner_client)["pytest"] == (5, 5, 3, 2)
    # The superuser sees gamma too: one more session, and bob again (not a new user).
    assert across(admin_client)["pytest"] == (6, 6, 3, 3)
    # The stored row is what answers.
    SkillWindowFigures.objects.filter(pk=mine.pk).update(sessions=42)
    assert across(owner_client)["pytest"] == (5, 42, 3, 2)


@pytest.mark.django_db
def test_a_set_with_no_stored_figures_is_counted_once_and_stored(
    owner_client, project, other_project, two, hour
):
    # No worker pass: the first read counts alpha and beta, stores each and their set.
    first = whole(owner_client, "7d")
    same_hour(hour)
    stored = FiguresWindow.objects.get(
        projects_key=keyed(project, other_project), window_start=hour - 167 * HOUR
    )
    assert stored.window_end == hour
    assert stored.project_ids == sorted([project.pk, other_project.pk])
    assert FiguresWindow.objects.filter(projects_key=keyed(project)).exists()
    # The second read answers from it, the same to the last field.
    assert whole(owner_client, "7d") == first
    wide = {s["skill"]: s["across_projects"] for s in first}["pytest"]
    # 7 d: alpha's s0–s3 and beta's s8, s9; users ann, bob, dee.
    assert (wide["n"], wide["sessions"], wide["users"], wide["projects"]) == (6, 6, 3, 2)


@pytest.mark.django_db
def test_a_late_event_in_one_project_makes_the_sets_with_it_stale(
    owner_client, admin_client, project, other_project, two, hour
):
    call_command("analytics_worker", "--once", stdout=StringIO())
    SkillWindowFigures.objects.update(sessions=99)
    # Delivered late into beta, 6 h ago: a new session of a user already counted (ann).
    use(other_project, "late", "s10", "ann", hour - 6 * HOUR)
    same_hour(hour)
    # alpha + beta and all three are built again: from alpha's and gamma's own stored
    # figures, which still hold (their 99 sessions), and beta counted again (s8, s9, s10).
    assert across(owner_client)["pytest"] == (6, 99 + 3, 3, 2)
    assert across(admin_client)["pytest"] == (7, 99 + 3 + 99, 3, 3)
    assert figures(owner_client, "24h")["pytest"] == (3, 99, 2)
    beta = SkillWindowFigures.objects.get(
        skill="pytest",
        window__projects_key=keyed(other_project),
        window__window_start=hour - 23 * HOUR,
    )
    assert (beta.invocations, beta.sessions, beta.users) == (3, 3, ["ann", "dee"])
    # The reads stored their 24 h windows again; the worker recomputes beta's four (pytest)
    # and the 7, 30 and 90 days of both sets (pytest, ruff): 4 + 6 + 6 rows.
    assert window_figures.recompute(hour + timedelta(minutes=5)) == (1, 16)
    assert window_figures.recompute(hour + timedelta(minutes=6)) == (0, 0)


@pytest.mark.django_db
def test_the_checks_sum_each_projects_invocations_since_the_windows_first_midnight(
    project, other_project
):
    day = datetime(2026, 11, 20, tzinfo=UTC)
    use(project, "a", "s1", "ann", day + timedelta(hours=2))  # before the window: counted
    use(project, "b", "s1", "ann", day + timedelta(hours=5))
    use(project, "c", "s1", "ann", day + timedelta(days=1, hours=9))  # from the end: not
    use(other_project, "d", "s2", "bob", day + timedelta(days=1, hours=1))
    start, end = day + timedelta(hours=4), day + timedelta(days=1, hours=9)
    sums = window_figures.check_sums([project.pk, other_project.pk], [start], end)
    assert sums == [{project.pk: 2, other_project.pk: 1}]
