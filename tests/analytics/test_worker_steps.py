"""The worker's pass: its named steps run in order, each timed; one that raises is logged and
counted and the next still runs, and `--once` then exits non-zero naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from analytics import worker
from analytics.models import DependencyPass, ModelVersion, SkillWindowFigures
from tests.analytics.conftest import at, events
from tracking import instruments

AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.django_db
def test_steps_run_in_order_and_a_failing_one_does_not_stop_the_next(caplog):
    ran = []

    def first(at, deadline):
        ran.append(("first", at))
        raise RuntimeError("first broke")

    def second(at, deadline):
        ran.append(("second", at))
        return "did it", ["one project skipped"]

    before = instruments.analytics_worker_errors._value.get()
    report = worker.run_pass(AT, [("first", first), ("second", second)])
    assert ran == [("first", AT), ("second", AT)]
    assert [(s.name, s.failed, s.line) for s in report.steps] == [
        ("first", True, ""),
        ("second", False, "did it"),
    ]
    assert report.errors == ["first: first broke", "second: one project skipped"]
    assert instruments.analytics_worker_errors._value.get() == before + 1
    assert "analytics worker step first" in caplog.text
    assert all(s.seconds >= 0 for s in report.steps)
    assert report.seconds == sum(s.seconds for s in report.steps)


def test_the_pass_recomputes_the_baselines_after_the_anomalies():
    assert [name for name, _ in worker.STEPS] == [
        "anomalies", "baselines", "experiments", "dependencies", "usage", "predictor",
    ]  # fmt: skip


@pytest.mark.django_db
def test_once_reports_each_steps_time_and_fails_on_a_broken_step(project, monkeypatch):
    out = StringIO()
    call_command("analytics_worker", "--at", AT.isoformat(), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("analytics_worker: anomalies (")
    assert "0 projects" in lines[0]
    assert lines[1].startswith("analytics_worker: baselines (")
    assert lines[2].startswith("analytics_worker: experiments (")
    assert "pass at 2026-11-20T12:00:00+00:00 took" in lines[-1]

    def broken(at):
        raise RuntimeError("no figures today")

    monkeypatch.setattr(worker.window_figures, "recompute", broken)
    err = StringIO()
    with pytest.raises(CommandError, match="steps failed: baselines"):
        call_command("analytics_worker", "--at", AT.isoformat(), stdout=out, stderr=err)
    assert "baselines: no figures today" in err.getvalue()
    assert not SkillWindowFigures.objects.exists()


@pytest.mark.django_db
def test_a_pass_stores_a_dependency_pass_and_a_predictor_attempt(project):
    when = at("2026-11-25T10:00:00")
    events(project, ("pytest", when - timedelta(days=1), True, 1.0))
    call_command("analytics_worker", at=when.isoformat(), stdout=StringIO())
    run = DependencyPass.objects.get(project=project)
    assert (run.window_end, run.n_sessions, run.pairs_tested) == (when, 1, 0)
    (version,) = ModelVersion.objects.filter(project=project)
    assert version.reason == "too little data: 1 decided calls (needs 1000)"
    call_command("analytics_worker", at=when.isoformat(), stdout=StringIO())
    assert ModelVersion.objects.filter(project=project).count() == 1  # nothing new: not due
