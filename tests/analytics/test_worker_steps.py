"""`manage.py analytics_worker --at` also recomputes dependencies and retrains when due."""

from __future__ import annotations

from datetime import timedelta

from django.core.management import call_command

from analytics.models import DependencyPass, ModelVersion
from tests.analytics.conftest import at, events

AT = at("2026-11-25T10:00:00")


def test_a_worker_run_stores_a_dependency_pass_and_a_predictor_attempt(project):
    events(project, ("pytest", AT - timedelta(days=1), True, 1.0))
    call_command("analytics_worker", at=AT.isoformat())
    run = DependencyPass.objects.get(project=project)
    assert (run.window_end, run.n_sessions, run.pairs_tested) == (AT, 1, 0)
    (version,) = ModelVersion.objects.filter(project=project)
    assert version.reason == "too little data: 1 decided calls (needs 1000)"
    call_command("analytics_worker", at=AT.isoformat())
    assert ModelVersion.objects.filter(project=project).count() == 1  # nothing new: not due
