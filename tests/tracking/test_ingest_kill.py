"""A Daphne process SIGKILLed mid-ingest: what was acknowledged is stored, a retry counts once.

Needs Postgres: the Daphne subprocess must share the test database (as in
tests/analytics/test_live_processes.py).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncHour

from tests.analytics import servers
from tracking.models import SkillHourly, SkillInvocation

pytestmark = pytest.mark.django_db(transaction=True)
BATCHES = 40
PER_BATCH = 200
START = datetime(2026, 11, 20, 8, tzinfo=UTC)


def batch(n: int) -> list[dict]:
    """Events of batch `n`: ids unique across batches, spread over hours, skills and sessions."""
    return [
        {
            "id": f"b{n}-e{i}",
            "session": f"s{(n + i) % 7}",
            "skill": ("pytest", "ruff", "mypy")[i % 3],
            "invoked_at": (START + timedelta(minutes=7 * n + i)).isoformat(),
            "completed": None if i % 11 == 0 else i % 4 != 0,
            "duration_s": None if i % 5 == 0 else (i % 13) * 0.25,
        }
        for i in range(PER_BATCH)
    ]


def post(port: int, key: str, events: list[dict]) -> dict:
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"http://127.0.0.1:{port}/api/v1/ingest/invocations",
        data=json.dumps({"events": events}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 200
        return json.loads(response.read())


def stored(events: list[dict]) -> int:
    return SkillInvocation.objects.filter(idempotency_key__in=[e["id"] for e in events]).count()


def recount() -> dict[tuple, tuple]:
    """The hourly rollups recomputed from the event log."""
    rows = (
        SkillInvocation.objects.annotate(at=TruncHour("invoked_at", tzinfo=UTC))
        .values("project", "skill", "at")
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
        (r["project"], r["skill"], r["at"]): (
            r["n"], r["done"], r["fail"], r["durations"], round(r["total"] or 0, 6),
            round(r["squares"] or 0, 6), r["sessions"],
        )
        for r in rows
    }  # fmt: skip


def rollups() -> dict[tuple, tuple]:
    return {
        (h.project_id, h.skill, h.hour): (
            h.invocations, h.completed, h.failed, h.duration_count, round(h.duration_sum, 6),
            round(h.duration_sumsq, 6), h.unique_sessions,
        )
        for h in SkillHourly.objects.all()
    }  # fmt: skip


@pytest.fixture
def server_env(django_db_setup, tmp_path):
    database = servers.database_url()
    if database is None:
        pytest.skip("needs Postgres (DATABASE_URL): the Daphne process shares the test database")
    # In-memory channel layer: the live feed is not under test, and no Redis is needed.
    return servers.server_env(DATABASE_URL=database, REDIS_URL="")


def start(env: dict[str, str], log) -> tuple[servers.Process, int]:
    port = servers.free_port()
    process = servers.daphne(port, env, log)
    servers.wait_until_serving(port, process)
    return process, port


def test_a_killed_server_loses_nothing_acknowledged_and_a_retry_counts_once(
    server_env, project, write_key, tmp_path
):
    batches = [batch(n) for n in range(BATCHES)]
    first, port = start(server_env, tmp_path / "first.log")
    acknowledged: dict[int, dict] = {}
    acked = threading.Event()

    def send() -> None:
        for n, events in enumerate(batches):
            try:
                acknowledged[n] = post(port, write_key, events)
            except (OSError, urllib.error.URLError):
                return  # the server is gone: this batch and the rest were not acknowledged
            if len(acknowledged) == 5:
                acked.set()

    client = threading.Thread(target=send)
    try:
        client.start()
        assert acked.wait(60), (tmp_path / "first.log").read_text()[-2000:]
        time.sleep(0.05)  # the next batch is on its way: kill Daphne in the middle of it
        first.popen.kill()
        first.popen.wait(timeout=10)
        client.join(timeout=60)
    finally:
        first.stop()
    assert 5 <= len(acknowledged) < BATCHES

    for n, answer in acknowledged.items():
        assert answer == {"accepted": PER_BATCH, "duplicates": 0, "errors": []}
        assert stored(batches[n]) == PER_BATCH, n
    for n in set(range(BATCHES)) - set(acknowledged):
        # Unacknowledged: each batch is one transaction, so all of it or none.
        assert stored(batches[n]) in (0, PER_BATCH), n

    second, port = start(server_env, tmp_path / "second.log")
    try:
        retried = [post(port, write_key, events) for events in batches]
    finally:
        second.stop()
    for n, answer in enumerate(retried):
        assert answer["errors"] == []
        assert answer["accepted"] + answer["duplicates"] == PER_BATCH, n
        if n in acknowledged:
            assert answer == {"accepted": 0, "duplicates": PER_BATCH, "errors": []}
    assert SkillInvocation.objects.count() == BATCHES * PER_BATCH
    assert all(stored(events) == PER_BATCH for events in batches)
    assert rollups() == recount()
    assert sum(row[0] for row in rollups().values()) == BATCHES * PER_BATCH
