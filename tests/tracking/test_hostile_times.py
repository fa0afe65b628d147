"""Timestamps and durations outside `lib.ranges`' ranges are refused at every entry point,
naming the field; the rest of an ingest batch is still stored."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from django.core.management.base import CommandError

from integrations.claude_code.transcript import read_chunk
from integrations.management.commands.import_transcripts import parse_since
from lib.ranges import DURATION_MAX_S, check_time
from tracking.ingest import parse_timestamp
from tracking.models import Session, SkillHourly, SkillInvocation

INGEST = "/api/v1/ingest/invocations"
# Year 1 with a positive offset is before year 1 in UTC: converting it overflows.
BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"
OUT_OF_RANGE = [BEFORE_YEAR_1, "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59Z"]


def ev(key: str, **fields) -> dict:
    event = {"id": key, "session": "s1", "skill": "pytest", "invoked_at": "2026-11-20T10:00:00Z"}
    return {**event, **fields}


def post_events(client, events: list[dict]):
    body = json.dumps({"events": events})
    return client.post(INGEST, body, content_type="application/json")


def test_a_duration_of_1e308_is_refused_by_index_and_the_rest_stored(write_api, project):
    response = post_events(
        write_api,
        [ev("ok", duration_s=2.0), ev("huge", duration_s=1e308), ev("week", duration_s=604801)],
    )
    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "duplicates": 0,
        "errors": [
            {
                "index": 1,
                "message": "'duration_s' must be at most 604800 s (7 days)",
                "messages": ["'duration_s' must be at most 604800 s (7 days)"],
            },
            {
                "index": 2,
                "message": "'duration_s' must be at most 604800 s (7 days)",
                "messages": ["'duration_s' must be at most 604800 s (7 days)"],
            },
        ],
    }
    (rollup,) = SkillHourly.objects.filter(project=project)
    assert (rollup.duration_sum, rollup.duration_sumsq) == (2.0, 4.0)


def test_a_duration_of_exactly_seven_days_is_accepted(write_api, project):
    response = post_events(write_api, [ev("week", duration_s=DURATION_MAX_S)])
    assert response.json()["accepted"] == 1
    (rollup,) = SkillHourly.objects.filter(project=project)
    assert rollup.duration_sumsq == DURATION_MAX_S**2 and math.isfinite(rollup.duration_sumsq)


def test_an_integer_duration_too_large_for_a_float_is_refused(write_api):
    body = json.dumps({"events": [ev("big", duration_s=1)]}).replace(
        '"duration_s": 1', '"duration_s": 1' + "0" * 400
    )
    response = write_api.post(INGEST, body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["errors"] == [
        {
            "index": 0,
            "message": "'duration_s' must be at most 604800 s (7 days)",
            "messages": ["'duration_s' must be at most 604800 s (7 days)"],
        }
    ]


@pytest.mark.parametrize("at", OUT_OF_RANGE)
def test_an_invoked_at_outside_the_range_is_refused_by_index(write_api, project, at):
    response = post_events(write_api, [ev("bad", invoked_at=at), ev("good")])
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    message = (
        f"'invoked_at' is outside 2000-01-01 to 9999-01-01 "
        f"(UTC, end excluded): {datetime.fromisoformat(at).isoformat()}"
    )
    assert body["errors"] == [{"index": 0, "message": message, "messages": [message]}]
    assert list(SkillInvocation.objects.values_list("idempotency_key", flat=True)) == ["good"]
    assert Session.objects.get(project=project).started_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.mark.parametrize("at", OUT_OF_RANGE)
def test_a_session_start_outside_the_range_is_a_400_naming_the_field(write_api, at):
    body = {"external_id": "s-far", "started_at": at}
    response = write_api.post("/api/v1/sessions/start", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["error"]["detail"]) == ["started_at"]
    assert "is outside 2000-01-01" in response.json()["error"]["detail"]["started_at"][0]
    assert not Session.objects.exists()


def test_a_session_end_outside_the_range_is_a_400_naming_the_field(write_api):
    started = write_api.post(
        "/api/v1/sessions/start", {"external_id": "s-1"}, content_type="application/json"
    ).json()
    url = f"/api/v1/sessions/{started['id']}/end"
    response = write_api.post(
        url, {"ended_at": "9999-12-31T23:59:59-14:00"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["detail"]) == ["ended_at"]
    assert Session.objects.get().status == Session.ACTIVE


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/sessions", "since"),
        ("/api/v1/invocations", "since"),
        ("/api/v1/invocations", "until"),
        ("/api/v1/skills", "since"),
        ("/api/v1/projects/alpha/skills", "since"),
    ],
)
def test_a_filter_outside_the_range_is_a_400_naming_the_field(read_api, url, field):
    query = {field: BEFORE_YEAR_1}
    if field == "until":
        query["since"] = "2026-01-01T00:00:00Z"
    response = read_api.get(url, query)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["detail"]


def test_the_bounds_themselves():
    assert check_time(datetime(2000, 1, 1, tzinfo=UTC), "t")
    assert parse_timestamp("9998-12-31T23:59:59.999999Z")
    with pytest.raises(ValueError, match="'t' is outside"):
        check_time(datetime(9999, 1, 1, tzinfo=UTC), "t")
    with pytest.raises(ValueError, match="'t' must include a time zone"):
        check_time(datetime(2026, 1, 1), "t")


def test_a_transcript_line_outside_the_range_is_a_bad_line():
    line = {"type": "user", "timestamp": BEFORE_YEAR_1, "sessionId": "s"}
    good = {"type": "user", "timestamp": "2026-01-01T00:00:00Z", "sessionId": "s"}
    chunk = read_chunk([json.dumps(line).encode(), json.dumps(good).encode()])
    assert chunk.bad_lines == 1
    assert "'timestamp' is outside 2000-01-01" in chunk.problems[0][1]
    assert (chunk.timestamp_min, chunk.timestamp_max) == (good["timestamp"], good["timestamp"])


def test_import_transcripts_refuses_a_since_outside_the_range():
    with pytest.raises(CommandError, match="'--since' is outside 2000-01-01"):
        parse_since(BEFORE_YEAR_1)
    assert parse_since("2026-02-01") == datetime(2026, 2, 1, tzinfo=UTC)
