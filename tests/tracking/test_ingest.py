"""`POST /api/v1/ingest/invocations`: idempotent, exact rollups, errors by index, limits, auth."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client, override_settings

from tests.tracking.conftest import chunked_post, key_client
from tracking.ingest import IngestResult, parse_event, record_invocations
from tracking.models import Session, SkillHourly, SkillInvocation, SkillSessionHour

URL = "/api/v1/ingest/invocations"
H10 = datetime(2026, 11, 20, 10, tzinfo=UTC)
H11 = datetime(2026, 11, 20, 11, tzinfo=UTC)


def post(client: Client, events, **extra):
    return client.post(
        URL, json.dumps({"events": events}), content_type="application/json", **extra
    )


def ev(key, at, *, skill="pytest", session="s1", completed=True, duration_s=1.0, **kw) -> dict:
    return {
        "id": key,
        "session": session,
        "skill": skill,
        "invoked_at": at,
        "completed": completed,
        "duration_s": duration_s,
        **kw,
    }


BATCH = [
    ev("e1", "2026-11-20T10:05:00Z", duration_s=1.0, phase="test"),
    ev("e2", "2026-11-20T10:20:00+00:00", completed=False, duration_s=3.0, error_type="Timeout"),
    ev("e3", "2026-11-20T11:40:00+01:00", session="s2", completed=None, duration_s=None),
    ev("e4", "2026-11-20T10:59:59.999Z", session="s2", duration_s=0.5),
    ev("e5", "2026-11-20T11:00:00Z", skill="ruff", completed=False, duration_s=2.0),
    ev("e6", "2026-11-20T11:30:00Z", session="s3", duration_s=4.0),
]


def rollups(project) -> dict:
    rows = SkillHourly.objects.filter(project=project).order_by("skill", "hour")
    return {
        (r.skill, r.hour): (
            r.invocations,
            r.completed,
            r.failed,
            r.duration_count,
            r.duration_sum,
            r.duration_sumsq,
            r.unique_sessions,
        )
        for r in rows
    }


# (invocations, completed, failed, duration count, sum, sum of squares, unique sessions),
# worked out by hand from BATCH: e3 is 10:40 UTC, e4 still in hour 10.
EXPECTED = {
    ("pytest", H10): (4, 2, 1, 3, 4.5, 10.25, 2),
    ("pytest", H11): (1, 1, 0, 1, 4.0, 16.0, 1),
    ("ruff", H11): (1, 0, 1, 1, 2.0, 4.0, 1),
}


def test_it_ingests_a_batch_with_exact_rollups(write_api, project):
    response = post(write_api, BATCH)
    assert response.status_code == 200
    assert response.json() == {"accepted": 6, "duplicates": 0, "errors": []}
    assert rollups(project) == EXPECTED
    e2 = SkillInvocation.objects.get(idempotency_key="e2")
    assert e2.session is not None
    assert (e2.completed, e2.error_type, e2.source, e2.session.external_id) == (
        False,
        "Timeout",
        "api",
        "s1",
    )
    # Unknown sessions are created, starting at their first event.
    s2 = Session.objects.get(project=project, external_id="s2")
    assert s2.started_at == datetime(2026, 11, 20, 10, 40, tzinfo=UTC)


def test_it_counts_a_replayed_batch_as_duplicates_and_changes_nothing(write_api, project):
    assert post(write_api, BATCH).json()["accepted"] == 6
    again = post(write_api, BATCH)
    assert again.status_code == 200
    assert again.json() == {"accepted": 0, "duplicates": 6, "errors": []}
    assert rollups(project) == EXPECTED
    assert SkillInvocation.objects.count() == 6
    assert SkillSessionHour.objects.count() == 4
    assert Session.objects.filter(project=project).count() == 3


def test_it_counts_duplicates_inside_one_batch(write_api, project):
    twice = [BATCH[0], BATCH[1], {**BATCH[0], "duration_s": 99.0}, BATCH[0]]
    assert post(write_api, twice).json() == {"accepted": 2, "duplicates": 2, "errors": []}
    # The first occurrence wins; the 99 s copy is not counted anywhere.
    assert rollups(project) == {("pytest", H10): (2, 1, 1, 2, 4.0, 10.0, 1)}


def test_it_stores_valid_events_and_reports_invalid_ones_by_index(write_api, project):
    events = [
        BATCH[0],
        ev("n1", "2026-11-20T10:00:00"),
        ev("n2", "2026-11-20T10:00:00Z", duration_s=-1),
        {"session": "s1", "skill": "x", "invoked_at": "2026-11-20T10:00:00Z"},
        ev("n4", "2026-11-20T10:00:00Z", completed="yes"),
        "not an object",
        ev("n6", "yesterday"),
        ev("n7", "2026-11-20T10:00:00Z", duration_s="INFINITE"),
        ev("n8", "2026-11-20T10:00:00Z", skill="s" * 201),
        ev("n9", "2026-11-20T10:00:00Z", duration_s="3"),
        BATCH[1],
    ]
    # 1e999 is valid JSON that overflows to infinity.
    body = json.dumps({"events": events}).replace('"INFINITE"', "1e999")
    response = write_api.post(URL, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 2,
        "duplicates": 0,
        # Each of these events has one problem: `messages` holds just it.
        "errors": [
            {"index": i, "message": m, "messages": [m]}
            for i, m in [
                (1, "'invoked_at' must include a time zone (e.g. Z or +00:00)"),
                (2, "'duration_s' must be a finite number >= 0"),
                (3, "'id' is required"),
                (4, "'completed' must be true, false or null"),
                (5, "event must be a JSON object"),
                (6, "'invoked_at' is not an ISO 8601 timestamp: 'yesterday'"),
                (7, "'duration_s' must be a finite number >= 0"),
                (8, "'skill' is longer than 200 characters"),
                (9, "'duration_s' must be a number or null"),
            ]
        ],
    }
    assert set(SkillInvocation.objects.values_list("idempotency_key", flat=True)) == {"e1", "e2"}
    assert rollups(project) == {("pytest", H10): (2, 1, 1, 2, 4.0, 10.0, 1)}


def test_it_refuses_nan_as_malformed_json(write_api, project):
    body = '{"events": [{"id": "x", "session": "s", "skill": "k", ' + (
        '"invoked_at": "2026-11-20T10:00:00Z", "duration_s": NaN}]}'
    )
    response = write_api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Malformed JSON: NaN is not valid JSON")
    assert not SkillInvocation.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "Malformed JSON: Expecting property name"),
        (b"\xff\xfe", "Malformed JSON:"),
        ("[]", 'Body must be a JSON object {"events": [...]}.'),
        # The body: the object is fine, its `events` is not a list.
        ('{"events": {}}', "'events' must be a list of events, not an object."),
        ('{"events": "e1"}', "'events' must be a list of events, not a string."),
        ('{"event": []}', "'events' is required: a body is {\"events\": [...]}."),
    ],
)
def test_it_rejects_a_malformed_body(write_api, project, body, message):
    response = write_api.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert response.json()["error"]["message"].startswith(message)


def test_it_refuses_more_than_5000_events(write_api, project):
    response = post(write_api, [{}] * 5001)
    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "5001 events in one request; at most 5000.",
    }
    assert post(write_api, [{}] * 5000).json()["errors"][4999]["index"] == 4999


@override_settings(INGEST_MAX_BYTES=1000)
def test_it_refuses_a_body_over_the_byte_limit(write_api, project):
    events = [ev(f"k{i}", "2026-11-20T10:00:00Z") for i in range(20)]
    response = post(write_api, events)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "Body is larger than 1000 bytes."
    assert not SkillInvocation.objects.exists()
    assert post(write_api, events[:2]).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("upload_limit", [None, 1000])
def test_it_refuses_a_chunked_body_over_the_byte_limit(project, write_key, upload_limit):
    events = [ev(f"k{i}", "2026-11-20T10:00:00Z") for i in range(20)]
    body = json.dumps({"events": events}).encode()
    # Django's own limit may catch it first (upload_limit) or not: the answer is the same.
    limits = {"INGEST_MAX_BYTES": 1000}
    if upload_limit:
        limits["DATA_UPLOAD_MAX_MEMORY_SIZE"] = upload_limit
    with override_settings(**limits):
        response = chunked_post(URL, write_key, body)
    assert response["status"] == 413
    assert json.loads(response["body"])["error"]["message"] == "Body is larger than 1000 bytes."
    assert not SkillInvocation.objects.exists()
    small = chunked_post(URL, write_key, json.dumps({"events": events[:2]}).encode())
    assert json.loads(small["body"])["accepted"] == 2


def test_it_requires_a_valid_key(client, project):
    missing = post(client, BATCH)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "not_authenticated"
    wrong = post(client, BATCH, headers={"Authorization": "Bearer cairn_wrong"})
    assert wrong.status_code == 401
    assert wrong.json()["error"]["message"] == "Unknown or revoked API key."
    not_bearer = post(client, BATCH, headers={"Authorization": "Basic abc"})
    assert not_bearer.status_code == 401
    assert not SkillInvocation.objects.exists()


def test_it_refuses_a_revoked_key(project):
    key, plain = project.create_api_key()
    key.revoked_at = datetime.now(UTC)
    key.save()
    assert post(key_client(plain), BATCH).status_code == 401


def test_it_refuses_a_read_only_key_and_a_logged_in_user(read_api, owner_client, project):
    response = post(read_api, BATCH)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert post(owner_client, BATCH).status_code == 403
    assert not SkillInvocation.objects.exists()


def test_it_writes_only_to_the_keys_own_project(write_api, other_api, project, other_project):
    assert post(write_api, BATCH).json()["accepted"] == 6
    # The same ids are new events in another project: keys are unique per project.
    assert post(other_api, BATCH[:2]).json() == {"accepted": 2, "duplicates": 0, "errors": []}
    assert rollups(project) == EXPECTED
    assert rollups(other_project) == {("pytest", H10): (2, 1, 1, 2, 4.0, 10.0, 1)}
    assert SkillInvocation.objects.filter(project=other_project).count() == 2


def test_it_rejects_wrong_methods(write_api, project):
    assert write_api.get(URL).status_code == 405
    assert write_api.put(URL, "{}", content_type="application/json").status_code == 405


def test_it_renders_the_browsable_api(owner_client, project):
    response = owner_client.get(URL, headers={"Accept": "text/html"})
    # A logged-in user may look at the endpoint's page but cannot write.
    assert response.status_code == 403
    assert "Ingest skill invocations" in response.content.decode()


N = 1000


def concurrent_batches() -> tuple[list[dict], list[dict]]:
    """Two batches sharing N / 2 events, whose new sessions come in opposite orders."""
    at = "2026-11-20T10:{:02}:{:02}Z"
    a = [
        ev(f"a{i:04}", at.format(i // 60 % 60, i % 60), session=f"s{i:04}", duration_s=0.5)
        for i in range(N)
    ]
    b = [
        ev(
            f"b{j:04}",
            at.format(j // 60 % 60, j % 60),
            session=f"s{N - 1 - j:04}",
            completed=False if j % 2 == 0 else None,
            duration_s=2.0 if j % 2 == 0 else None,
        )
        for j in range(N)
    ]
    return a, a[N // 2 :] + b


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need Postgres")
@pytest.mark.django_db(transaction=True)
# Each new session is pushed live on commit; through Redis that costs seconds for 1,000 of them
# and is not what this test is about.
@override_settings(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}})
def test_it_keeps_rollups_exact_under_concurrent_overlapping_batches(project):
    # record_invocations directly (what the endpoint calls after parsing): without the HTTP
    # layer's parsing the two transactions overlap reliably, which is what this is about.
    first, second = ([parse_event(e) for e in batch] for batch in concurrent_batches())
    barrier = threading.Barrier(2)
    results: list = []

    def run(events: list) -> None:
        try:
            barrier.wait()
            results.append(record_invocations(project, events, source="api"))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(batch,)) for batch in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(isinstance(r, IngestResult) for r in results), results
    assert sum(r.accepted for r in results) == 2000
    assert sum(r.duplicates for r in results) == 500
    # 1,000 "a" events (done, 0.5 s) and 1,000 "b" (500 failed at 2 s, 500 undecided).
    assert rollups(project) == {("pytest", H10): (2000, 1000, 500, 1500, 1500.0, 2250.0, 1000)}
    assert SkillInvocation.objects.count() == 2000
    assert Session.objects.filter(project=project).count() == 1000


def test_it_reports_every_problem_of_an_event_not_only_the_first(write_api, project):
    bad = {"id": "x1", "skill": 7, "invoked_at": "yesterday", "completed": "yes", "phase": 3}
    response = post(write_api, [bad, BATCH[0]])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert body["errors"] == [
        {
            "index": 0,
            "message": "'completed' must be true, false or null",
            "messages": [
                "'completed' must be true, false or null",
                "'session' is required",
                "'skill' must be a string",
                "'invoked_at' is not an ISO 8601 timestamp: 'yesterday'",
                "'phase' must be a string",
            ],
        }
    ]
    assert list(SkillInvocation.objects.values_list("idempotency_key", flat=True)) == ["e1"]
