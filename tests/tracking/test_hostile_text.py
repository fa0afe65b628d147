"""Text Postgres cannot store, offsets it cannot take, JSON nested too deep, wrong types and
future times: each is a 400 (or a per-index error in an ingest batch) naming the field, and
the valid events of the batch are still stored. Run on Postgres too: NUL fails only there."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tracking.models import Session, SkillHourly, SkillInvocation

INGEST = "/api/v1/ingest/invocations"
START = "/api/v1/sessions/start"
NUL = "a\x00b"
SURROGATE = "a\ud800b"  # what json.loads makes of the escape "a\\ud800b"
OFFSET_16 = "2026-11-20T10:00:00+16:00"
BEFORE_YEAR_1 = "0001-01-01T00:00:00+14:00"
TEXT_FIELDS = ["id", "session", "skill", "phase", "error_type"]


def ev(key: str, **fields) -> dict:
    event = {"id": key, "session": "s1", "skill": "pytest", "invoked_at": "2026-11-20T10:00:00Z"}
    return {**event, "completed": True, "duration_s": 1.0, **fields}


def post_events(client, events: list[dict]):
    return client.post(INGEST, json.dumps({"events": events}), content_type="application/json")


def stored_keys() -> list[str]:
    return sorted(SkillInvocation.objects.values_list("idempotency_key", flat=True))


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_unstorable_text_in_an_ingest_field_refuses_only_that_event(write_api, field, bad):
    # The escape is what a client sends: json.dumps writes "\u0000" and "\ud800" as escapes.
    body = json.dumps({"events": [ev("before"), ev("bad", **{field: bad}), ev("after")]})
    assert "\\u0000" in body or "\\ud800" in body
    response = write_api.post(INGEST, body, content_type="application/json")
    assert response.status_code == 200, response.content
    result = response.json()
    assert result["accepted"] == 2 and result["duplicates"] == 0
    (error,) = result["errors"]
    assert error["index"] == 1
    assert error["message"].startswith(f"'{field}' contains a ")
    assert ("NUL character" if bad == NUL else "lone surrogate") in error["message"]
    assert stored_keys() == ["after", "before"]
    (rollup,) = SkillHourly.objects.all()
    assert rollup.invocations == 2


def test_a_retried_batch_with_a_bad_event_gets_past_it(write_api):
    events = [ev("ok-1"), ev("bad", skill=NUL), ev("ok-2")]
    post_events(write_api, events)
    again = post_events(write_api, events).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert [e["index"] for e in again["errors"]] == [1]


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("value", [7, 1.5, True, ["x"], {"x": 1}])
def test_a_text_field_of_another_type_is_refused_not_converted(write_api, field, value):
    response = post_events(write_api, [ev("bad", **{field: value}), ev("good")])
    assert response.json()["errors"] == [
        {
            "index": 0,
            "message": f"'{field}' must be a string",
            "messages": [f"'{field}' must be a string"],
        }
    ]
    assert stored_keys() == ["good"]


def test_integer_phase_and_error_type_are_no_longer_stored_as_strings(write_api):
    response = post_events(write_api, [ev("p", phase=3), ev("e", error_type=500)])
    assert response.json()["accepted"] == 0
    assert not SkillInvocation.objects.exists()


@pytest.mark.parametrize("at", [OFFSET_16, "2026-11-20T10:00:00-16:00", BEFORE_YEAR_1])
def test_an_offset_postgres_cannot_take_is_refused_by_index(write_api, at):
    response = post_events(write_api, [ev("bad", invoked_at=at), ev("good")])
    assert response.status_code == 200, response.content
    (error,) = response.json()["errors"]
    assert error["index"] == 0 and error["message"].startswith("'invoked_at' ")
    assert stored_keys() == ["good"]


def test_the_largest_offset_postgres_takes_is_accepted(write_api):
    response = post_events(write_api, [ev("edge", invoked_at="2026-11-20T10:00:00+15:59")])
    assert response.json()["accepted"] == 1
    stored = SkillInvocation.objects.get().invoked_at
    assert stored == datetime(2026, 11, 19, 18, 1, tzinfo=UTC)


@pytest.mark.parametrize("at", [OFFSET_16, BEFORE_YEAR_1])
def test_a_session_start_with_such_an_offset_is_a_400_naming_started_at(write_api, at):
    response = write_api.post(
        START, {"external_id": "s-x", "started_at": at}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["detail"]) == ["started_at"]
    assert not Session.objects.exists()


@pytest.mark.parametrize("at", [OFFSET_16, BEFORE_YEAR_1])
def test_a_session_end_with_such_an_offset_is_a_400_naming_ended_at(write_api, at):
    started = write_api.post(START, {"external_id": "s-1"}, content_type="application/json")
    url = f"/api/v1/sessions/{started.json()['id']}/end"
    response = write_api.post(url, {"ended_at": at}, content_type="application/json")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["detail"]) == ["ended_at"]
    assert Session.objects.get().status == Session.ACTIVE


@pytest.mark.parametrize("at", [OFFSET_16, BEFORE_YEAR_1])
@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/sessions", "since"),
        ("/api/v1/invocations", "since"),
        ("/api/v1/invocations", "until"),
        ("/api/v1/skills", "since"),
        ("/api/v1/skills", "until"),
        ("/api/v1/projects/alpha/skills", "since"),
    ],
)
def test_a_filter_with_such_an_offset_is_a_400_naming_it(read_api, url, field, at):
    query = {field: at}
    if field == "until":
        query["since"] = "2026-01-01T00:00:00Z"
    response = read_api.get(url, query)
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["detail"]) == [field]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/invocations", "skill"),
        ("/api/v1/skills", "skill"),
        ("/api/v1/sessions", "external_id"),
        ("/api/v1/sessions", "project"),
        ("/api/v1/invocations", "project"),
        ("/api/v1/invocations", "session"),
    ],
)
def test_a_nul_in_a_text_filter_is_a_400_naming_it(read_api, url, field):
    response = read_api.get(url, {field: NUL})
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["detail"]) == [field]


@pytest.mark.parametrize("bad", [NUL, SURROGATE], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize("field", ["external_id", "agent", "user_name", "host", "branch"])
def test_unstorable_text_at_session_start_is_a_400_naming_the_field(write_api, field, bad):
    body = {"external_id": "s-1", field: bad}
    response = write_api.post(START, json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    detail = response.json()["error"]["detail"]
    assert list(detail) == [field]
    assert not Session.objects.exists()


def test_an_integer_external_id_is_refused_not_converted(write_api):
    response = write_api.post(START, {"external_id": 12}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["detail"] == {"external_id": ["'external_id' must be a string"]}


def test_a_nul_in_end_commit_is_a_400_naming_it(write_api):
    started = write_api.post(START, {"external_id": "s-1"}, content_type="application/json")
    url = f"/api/v1/sessions/{started.json()['id']}/end"
    response = write_api.post(url, json.dumps({"end_commit": NUL}), content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()["error"]["detail"]) == ["end_commit"]


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_1000_deep_is_a_400_naming_the_body(write_api, depth):
    body = '{"events": [' + deep(depth) + "]}"
    response = write_api.post(INGEST, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == {
        "code": "parse_error",
        "message": "'body' is nested more than 64 levels deep",
    }


def test_json_nested_64_deep_is_parsed(write_api):
    # {"events": [...]} is 2 deep, so an event may nest 62 more.
    body = '{"events": [' + deep(62) + "]}"
    response = write_api.post(INGEST, body, content_type="application/json")
    assert response.json()["errors"] == [
        {
            "index": 0,
            "message": "event must be a JSON object",
            "messages": ["event must be a JSON object"],
        }
    ]


def now_iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def test_an_event_an_hour_in_the_future_is_refused_naming_the_skew(write_api):
    response = post_events(
        write_api,
        [
            ev("future", invoked_at=now_iso(timedelta(hours=1))),
            ev("now", invoked_at=now_iso(timedelta(0))),
        ],
    )
    (error,) = response.json()["errors"]
    assert error["index"] == 0
    assert error["message"].startswith("'invoked_at' is in the future: ")
    assert "more than 5 minutes after the server's time" in error["message"]
    assert stored_keys() == ["now"]


def test_an_event_in_2030_is_refused(write_api):
    response = post_events(write_api, [ev("2030", invoked_at="2030-01-01T00:00:00Z")])
    assert response.json()["errors"][0]["message"].startswith("'invoked_at' is in the future")
    assert not Session.objects.exists()


def test_an_event_within_the_skew_is_accepted(write_api):
    response = post_events(write_api, [ev("fast", invoked_at=now_iso(timedelta(minutes=4)))])
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize("field", ["started_at", "ended_at"])
def test_a_session_start_or_end_an_hour_ahead_is_a_400_naming_it(write_api, field):
    started = write_api.post(START, {"external_id": "s-1"}, content_type="application/json")
    ahead = now_iso(timedelta(hours=1))
    if field == "started_at":
        response = write_api.post(
            START, {"external_id": "s-2", field: ahead}, content_type="application/json"
        )
    else:
        url = f"/api/v1/sessions/{started.json()['id']}/end"
        response = write_api.post(url, {field: ahead}, content_type="application/json")
    assert response.status_code == 400, response.content
    (message,) = response.json()["error"]["detail"][field]
    assert message.startswith(f"'{field}' is in the future")
    assert list(Session.objects.values_list("external_id", "status")) == [("s-1", "active")]


def test_a_filter_may_name_a_future_time(read_api):
    response = read_api.get("/api/v1/invocations", {"until": "2030-01-01T00:00:00Z"})
    assert response.status_code == 200


def test_an_event_before_its_sessions_start_moves_the_start_back(write_api):
    started = write_api.post(
        START,
        {"external_id": "s1", "started_at": "2026-11-20T12:00:00Z"},
        content_type="application/json",
    )
    assert started.status_code == 201
    response = post_events(
        write_api,
        [
            ev("early", invoked_at="2026-11-20T10:00:00Z"),
            ev("late", invoked_at="2026-11-20T13:00Z"),
        ],
    )
    assert response.json()["accepted"] == 2
    session = Session.objects.get()
    assert session.started_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    # A later event leaves the start alone.
    post_events(write_api, [ev("later", invoked_at="2026-11-20T14:00:00Z")])
    session.refresh_from_db()
    assert session.started_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    timeline = read_timeline(write_api, session.pk)
    assert timeline == ["later", "late", "early"]
    assert all(
        at >= session.started_at
        for at in SkillInvocation.objects.values_list("invoked_at", flat=True)
    )


def read_timeline(client, session_pk: int) -> list[str]:
    response = client.get("/api/v1/invocations", {"session": session_pk})
    return [row["key"] for row in response.json()["results"]]
