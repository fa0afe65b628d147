from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from demo import seed as demo
from tracking.models import Checkpoint, Measurement, Project, Session, SkillHourly, SkillInvocation


def run(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    models = (Project, Session, Checkpoint, Measurement, SkillInvocation, SkillHourly)
    return tuple(m.objects.count() for m in models)


def test_it_loads_only_once_with_if_empty(db):
    assert "Loaded demo data" in run("--if-empty", "--days", "3")
    loaded = counts()
    assert loaded[0] == len(demo.PROJECTS) and all(loaded)
    assert "no demo data loaded" in run("--if-empty", "--days", "3")
    assert counts() == loaded


def test_it_keeps_out_of_an_installation_with_projects(project):
    run("--if-empty")
    assert list(Project.objects.values_list("slug", flat=True)) == ["alpha"]


def test_it_refuses_to_load_twice_unless_replacing(db):
    run("--days", "2")
    with pytest.raises(CommandError, match="--replace"):
        run("--days", "2")
    before = counts()
    run("--days", "2", "--replace")
    assert counts() == before


def test_it_keeps_rollups_equal_to_a_recount_of_the_events(db):
    run("--days", "4")
    recount: defaultdict[tuple, list[Any]] = defaultdict(lambda: [0, 0, 0, 0, 0.0, 0.0, set()])
    for e in SkillInvocation.objects.all():
        hour = e.invoked_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        row = recount[(e.project_id, e.skill, hour)]
        row[0] += 1
        row[1] += e.completed is True
        row[2] += e.completed is False
        if e.duration_s is not None:
            row[3] += 1
            row[4] += e.duration_s
            row[5] += e.duration_s**2
        row[6].add(e.session_id)
    rollups = {(r.project_id, r.skill, r.hour): r for r in SkillHourly.objects.all()}
    assert set(rollups) == set(recount)
    for key, (n, ok, failed, dn, dsum, dsq, sessions) in recount.items():
        r = rollups[key]
        assert (r.invocations, r.completed, r.failed, r.duration_count) == (n, ok, failed, dn)
        assert r.duration_sum == pytest.approx(dsum)
        assert r.duration_sumsq == pytest.approx(dsq)
        assert r.unique_sessions == len(sessions)


def test_it_marks_everything_as_demo(db):
    run("--days", "2")
    for project in Project.objects.all():
        assert project.slug.startswith("demo-")
        assert project.name.startswith("Demo")
        assert "example.invalid/demo/" in project.repository_url


def test_it_gives_the_pages_failures_unmeasured_values_and_slow_skills(db):
    run("--days", "7")
    assert Checkpoint.objects.filter(gate_verdict="failed").exists()
    assert Checkpoint.objects.filter(gate_verdict="passed").exists()
    unmeasured = Measurement.objects.filter(value__isnull=True)
    assert unmeasured.exists()
    assert not unmeasured.filter(reason="").exists()
    assert SkillInvocation.objects.filter(completed=False).exclude(error_type="").exists()
    assert SkillInvocation.objects.filter(completed__isnull=True).exists()  # active sessions
    slow = {e.skill for e in SkillInvocation.objects.filter(duration_s__gt=60)}
    assert {"crackerjack:run", "Task"} & slow
    assert Session.objects.filter(cost_usd__isnull=True).exists()
    assert Session.objects.filter(parent__isnull=False).exists()
    assert Session.objects.filter(status=Session.ACTIVE).count() == len(demo.PROJECTS)


def test_it_is_deterministic_for_a_seed(db):
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)

    def snapshot():
        # Two sessions may take a checkpoint at the same minute: the session breaks the tie.
        order = ("project__slug", "created_at", "kind", "session__external_id")
        checkpoints = Checkpoint.objects.order_by(*order)
        return (
            list(Session.objects.order_by("external_id").values_list("external_id", "started_at")),
            list(
                checkpoints.values_list(
                    "project__slug", "created_at", "kind", "commit", "score_total", "stars",
                    "label", "gate_verdict", "gate_results", "debt_minutes", "recommendations",
                )
            ),
            list(
                Measurement.objects.order_by(*(f"checkpoint__{o}" for o in order), "key")
                .values_list("checkpoint__created_at", "key", "value", "reason", "tool")
            ),
            sorted(SkillInvocation.objects.values_list("idempotency_key", "duration_s")),
        )  # fmt: skip

    demo.seed_demo(days=3, now=now)
    first = snapshot()
    demo.delete_demo()
    demo.seed_demo(days=3, now=now)
    assert snapshot() == first


def test_it_refuses_zero_days(db):
    with pytest.raises(CommandError, match="at least 1"):
        run("--days", "0")
