"""The live view's active sessions: not ended and heard from within the idle window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.snapshot import active_sessions
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Session

NOW = datetime(2026, 11, 20, 12, 40, tzinfo=UTC)


def session(project, external_id: str, started: datetime) -> Session:
    made = Session.objects.create(project=project, external_id=external_id, started_at=started)
    # updated_at is set on every save; put it where a quiet session would have it.
    Session.objects.filter(pk=made.pk).update(updated_at=started)
    return made


@pytest.mark.django_db
def test_a_session_quiet_longer_than_the_idle_window_is_not_live(project, settings):
    settings.CAIRN_SESSION_IDLE_MINUTES = 60
    session(project, "quiet-3h", NOW - timedelta(hours=3))
    session(project, "started-20-min-ago", NOW - timedelta(minutes=20))
    working = session(project, "tool-call-this-hour", NOW - timedelta(hours=5))
    event = InvocationEvent(
        key="e1", session=working.external_id, skill="pytest", invoked_at=NOW - timedelta(minutes=5)
    )
    record_invocations(project, [event], source="api")
    Session.objects.filter(pk=working.pk).update(updated_at=NOW - timedelta(hours=5))
    ended = session(project, "ended", NOW - timedelta(minutes=10))
    Session.objects.filter(pk=ended.pk).update(status=Session.ENDED)

    live = active_sessions((project.pk,), NOW)

    names = sorted(s["external_id"] for s in live["sessions"])
    assert names == ["started-20-min-ago", "tool-call-this-hour"]
    assert live["count"] == 2
    settings.CAIRN_SESSION_IDLE_MINUTES = 240
    assert active_sessions((project.pk,), NOW)["count"] == 3
