"""The admin's project merge and rename actions (tracking.merging)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncHour
from django.test import Client

from analytics.models import SkillAnomaly
from integrations.models import ProjectRule
from tracking.ingest import ingest_events
from tracking.merging import MergeRefused, merge_projects
from tracking.models import (
    ApiKey,
    Checkpoint,
    Project,
    Session,
    SkillDurationBucket,
    SkillHourly,
    SkillInvocation,
    SkillPhaseHour,
    SkillSessionHour,
)

pytestmark = pytest.mark.django_db
URL = "/admin/tracking/project/"
AT = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)


def ev(key: str, session: str, skill: str = "pytest", minute: int = 15, **extra) -> dict:
    at = AT.replace(minute=minute).isoformat()
    return {"id": key, "session": session, "skill": skill, "invoked_at": at, **extra}


def rollups(project: Project) -> dict[tuple, tuple]:
    rows = SkillHourly.objects.filter(project=project)
    return {
        (r.skill, r.hour): (
            r.invocations, r.completed, r.failed, r.duration_count,
            round(r.duration_sum, 6), round(r.duration_sumsq, 6), r.unique_sessions,
        )
        for r in rows
    }  # fmt: skip


def recount(project: Project) -> dict[tuple, tuple]:
    """The hourly rollups of a project recomputed from its event log."""
    rows = (
        SkillInvocation.objects.filter(project=project)
        .annotate(at=TruncHour("invoked_at", tzinfo=UTC))
        .values("skill", "at")
        .annotate(
            n=Count("id"),
            done=Count("id", filter=Q(completed=True)),
            fail=Count("id", filter=Q(completed=False)),
            durations=Count("duration_s"),
            total=Sum("duration_s"),
            squares=Sum(F("duration_s") * F("duration_s")),
            sessions=Count("session", distinct=True),
        )
    )
    return {
        (r["skill"], r["at"]): (
            r["n"], r["done"], r["fail"], r["durations"], round(r["total"] or 0, 6),
            round(r["squares"] or 0, 6), r["sessions"],
        )
        for r in rows
    }  # fmt: skip


@pytest.fixture
def admin(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


@pytest.fixture
def two(owner, outsider) -> tuple[Project, Project]:
    """Project A and a folder-named project B with overlapping (skill, hour) rollups."""
    a = Project.objects.create(slug="cairn", name="Cairn")
    b = Project.objects.create(slug="tmp74wiyiny", name="tmp74wiyiny")
    a.members.add(owner)
    b.members.add(outsider)
    first = ev("a1", "sa", completed=True, duration_s=2, phase="test")
    ingest_events(a, [first, ev("a2", "sa", "ruff")])
    ingest_events(
        b,
        [
            ev("b1", "sb", completed=False, duration_s=3, phase="test"),
            ev("b2", "sb2", minute=40, completed=True, duration_s=1.5, phase="test"),
            ev("b3", "sb", "mypy"),
        ],
    )
    Checkpoint.objects.create(project=b, session=Session.objects.get(external_id="sb"))
    b.create_api_key(scope="write", name="b's key")
    ProjectRule.objects.create(path_prefix="/tmp/tmp74wiyiny", project=b)
    return a, b


def post_action(admin: Client, action: str, projects: list[Project], **fields) -> str:
    response = admin.post(
        URL,
        {"action": action, "_selected_action": [p.pk for p in projects], **fields},
        follow=True,
    )
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def test_merge_moves_everything_and_adds_the_rollups(admin, two, owner, outsider):
    a, b = two
    said = post_action(admin, "merge_selected", [a, b], into="cairn")
    assert said == "Merged 'tmp74wiyiny' into 'cairn'."
    assert not Project.objects.filter(slug="tmp74wiyiny").exists()
    assert sorted(Session.objects.filter(project=a).values_list("external_id", flat=True)) == [
        "sa", "sb", "sb2",
    ]  # fmt: skip
    assert SkillInvocation.objects.filter(project=a).count() == 5
    assert Checkpoint.objects.get().project == a
    assert ApiKey.objects.get(name="b's key").project == a
    assert ProjectRule.objects.get().project == a
    assert set(a.members.all()) == {owner, outsider}
    hour = AT.replace(minute=0)
    # pytest at 10:00: A's one event and B's two, from three sessions.
    assert rollups(a)[("pytest", hour)] == (3, 2, 1, 3, 6.5, 15.25, 3)
    assert rollups(a) == recount(a)
    assert SkillSessionHour.objects.filter(project=a).count() == 5
    # The duration histogram and the phase counts add up as the counters do.
    buckets = SkillDurationBucket.objects.filter(project=a, skill="pytest", hour=hour)
    assert sum(buckets.values_list("count", flat=True)) == 3
    assert SkillPhaseHour.objects.get(project=a, skill="pytest", phase="test").count == 3
    assert not SkillDurationBucket.objects.exclude(project=a).exists()


def test_merge_keeps_counting_new_events_exactly(two):
    a, b = two
    merge_projects(a, b)
    ingest_events(a, [ev("c1", "sb", completed=True), ev("b1", "sb")])
    assert rollups(a) == recount(a)


def test_merge_refuses_sessions_with_the_same_id_and_changes_nothing(admin, two):
    a, b = two
    ingest_events(a, [ev("a3", "sb")])  # A has a session "sb" too
    before = (rollups(a), rollups(b), Session.objects.filter(project=b).count())
    said = post_action(admin, "merge_selected", [a, b], into="cairn")
    assert said == (
        "Cannot merge 'tmp74wiyiny' into 'cairn': both have session with external_id='sb'. "
        "Delete or move one of each first; nothing was changed."
    )
    assert (rollups(a), rollups(b), Session.objects.filter(project=b).count()) == before
    assert Project.objects.filter(slug="tmp74wiyiny").exists()


def test_merge_refuses_two_open_anomalies_of_the_same_kind(two):
    a, b = two
    for project in (a, b):
        SkillAnomaly.objects.create(
            project=project, skill="pytest", metric="volume", anomaly_type="drop",
            opened_at=AT, last_seen_at=AT, window_start=AT, window_end=AT, baseline_value=1,
            baseline_n=1, observed_value=0, observed_n=1, p_value=0.01, q_value=0.01,
            deviation_score=3, peak_deviation_score=3, method="test", last_evaluated_at=AT,
        )  # fmt: skip
    with pytest.raises(MergeRefused, match="skill anomaly with skill='pytest'"):
        merge_projects(a, b)


def test_merge_needs_an_existing_target(admin, two):
    a, b = two
    said = post_action(admin, "merge_selected", [a, b], into="nope")
    assert said.startswith("No project with slug 'nope'")
    assert Project.objects.count() == 2


def test_rename_gives_a_new_name_and_slug(admin, two):
    _, b = two
    said = post_action(admin, "rename_selected", [b], new_name="Spotter CLI")
    assert said == "Renamed 'tmp74wiyiny' to 'Spotter CLI' (spotter-cli)."
    b.refresh_from_db()
    assert (b.name, b.slug) == ("Spotter CLI", "spotter-cli")


def test_rename_refuses_a_slug_in_use_and_an_empty_name(admin, two):
    a, b = two
    assert post_action(admin, "rename_selected", [b], new_name="cairn") == (
        "Another project already has the slug 'cairn'."
    )
    assert post_action(admin, "rename_selected", [b], new_name="  ").startswith("A new name")
    assert post_action(admin, "rename_selected", [a, b], new_name="x") == (
        "Select exactly one project to rename."
    )
    b.refresh_from_db()
    assert b.slug == "tmp74wiyiny"
