"""Helpers for the page, admin and command tests (plain functions; each module wraps the ones it
needs in fixtures, since tests/tracking/conftest.py belongs to the API tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

from django.core.management import call_command
from django.test import Client

from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Project, Session

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def seed(days: int = 3) -> dict[str, Project]:
    """Load the demo data; the demo projects by slug."""
    call_command("seed_demo", days=days, stdout=StringIO())
    return {p.slug: p for p in Project.objects.filter(slug__startswith="demo-")}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def session_with_timeline(project: Project, checkpoints: int, invocations: int) -> Session:
    """A session whose checkpoints and invocations alternate minute by minute from T0:
    invocation i at T0 + 2i min, checkpoint j at T0 + (2j + 1) min."""
    session = Session.objects.create(project=project, external_id="timeline", started_at=T0)
    Checkpoint.objects.bulk_create(
        Checkpoint(
            project=project,
            session=session,
            kind="auto",
            score_total=50 + j,
            created_at=T0 + timedelta(minutes=2 * j + 1),
        )
        for j in range(checkpoints)
    )
    events = [
        InvocationEvent(
            key=f"e{i}",
            session="timeline",
            skill=f"skill-{i}",
            invoked_at=T0 + timedelta(minutes=2 * i),
            completed=i % 3 != 0,
            duration_s=1.0,
        )
        for i in range(invocations)
    ]
    record_invocations(project, events, source="api", sessions={"timeline": session})
    return session
