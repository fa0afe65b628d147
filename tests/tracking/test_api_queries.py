"""REST API v1 lists: the number of queries does not grow with the rows on a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Checkpoint, Measurement, Session

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def add_rows(project, start: int, count: int) -> None:
    events = []
    for i in range(start, start + count):
        session = Session.objects.create(project=project, external_id=f"s{i}")
        checkpoint = Checkpoint.objects.create(project=project, session=session)
        Measurement.objects.create(checkpoint=checkpoint, key="tests.failed", value=i)
        at = T0 + timedelta(minutes=i)
        events.append(InvocationEvent(f"k{i}", f"s{i}", f"skill{i % 4}", at, True, 1.0))
    record_invocations(project, events, source="api")


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_it_reads_a_page_in_a_constant_number_of_queries(read_api, project):
    add_rows(project, 0, 2)
    urls = [
        "/api/v1/projects",
        "/api/v1/sessions",
        "/api/v1/checkpoints",
        f"/api/v1/checkpoints/{Checkpoint.objects.earliest('pk').pk}",
        "/api/v1/invocations",
        "/api/v1/projects/alpha/skills?since=2026-11-20T00:00:00Z",
    ]
    read_api.get("/api/v1/projects")  # the key's first use writes last_used_at once
    few = [queries(read_api, url) for url in urls]
    add_rows(project, 2, 40)
    many = [queries(read_api, url) for url in urls]
    assert many == few
    # The most is the skills list: the daily tier, the current hour, the stored window figures
    # and the cross-project baseline, each one query whatever the number of rows.
    assert max(few) <= 8
