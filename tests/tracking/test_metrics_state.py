"""The figures /metrics reads from the database: the latest checkpoint of each project (the
`METRICS_MAX_PROJECTS` most recent), nothing for what it did not measure, active sessions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from quality.collectors.base import Source, measured
from tracking.checkpoints import checkpoint_record
from tracking.metrics import tracking_state
from tracking.models import Project, Session

pytestmark = pytest.mark.django_db

SOURCE = Source("coverage.py", "7.6")


def samples() -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in tracking_state()
        for s in family.samples
    }


def record(project: Project, day: int, coverage: float | None):
    readings = [measured("coverage.line_percent", coverage, SOURCE)] if coverage is not None else []
    at = datetime(2026, 11, day, 12, tzinfo=UTC)
    return checkpoint_record(project=project, readings=readings, created_at=at)


def test_the_latest_checkpoints_of_the_most_recent_projects(settings):
    settings.METRICS_MAX_PROJECTS = 2
    old, mid, new = (Project.objects.create(name=n, slug=n) for n in ("old", "mid", "new"))
    record(old, 1, 50.0)
    record(mid, 2, 70.0)
    record(mid, 3, None)  # the latest of mid measured no coverage
    newest = record(new, 4, 90.0)
    found = samples()
    projects = {
        labels for (name, labels) in found if name == "cairn_last_checkpoint_timestamp_seconds"
    }
    assert projects == {(("project", "mid"),), (("project", "new"),)}
    assert found["cairn_coverage_ratio", (("project", "new"),)] == 0.9
    assert ("cairn_coverage_ratio", (("project", "mid"),)) not in found
    assert found["cairn_quality_score_ratio", (("project", "new"),)] == newest.score_total / 100
    assert found["cairn_last_checkpoint_timestamp_seconds", (("project", "new"),)] == (
        datetime(2026, 11, 4, 12, tzinfo=UTC).timestamp()
    )
    assert found["cairn_metrics_projects_omitted", ()] == 1


def test_active_sessions_by_agent(project):
    now = datetime(2026, 11, 4, 12, tzinfo=UTC)
    Session.objects.create(project=project, external_id="a", agent="claude-code", started_at=now)
    Session.objects.create(
        project=project, external_id="b", agent="claude-code (subagent)", started_at=now
    )
    Session.objects.create(
        project=project, external_id="c", agent="x", started_at=now, status=Session.ENDED
    )
    found = samples()
    assert found["cairn_sessions_active", (("agent", "claude-code"),)] == 2
    assert found["cairn_sessions_active", (("agent", "other"),)] == 0
