"""REST API v1: sessions (list, detail, start, end)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from analytics.layer import channel_layer
from analytics.liveview import events_group
from tracking.models import Session

START = "/api/v1/sessions/start"
LIST = "/api/v1/sessions"


def start_body(**extra) -> dict:
    return {
        "external_id": "sess-1",
        "agent": "claude-code",
        "user_name": "alice",
        "host": "box",
        "branch": "main",
        "start_commit": "abc123",
        "started_at": "2026-11-20T10:00:00Z",
        **extra,
    }


def make_session(project, external_id: str, started_at: str, **fields) -> Session:
    return Session.objects.create(
        project=project,
        external_id=external_id,
        started_at=datetime.fromisoformat(started_at),
        **fields,
    )


@pytest.fixture
def sessions(project, other_project) -> dict[str, Session]:
    return {
        "old": make_session(project, "old", "2026-11-01T08:00:00+00:00", status="ended"),
        "new": make_session(project, "new", "2026-11-20T09:00:00+00:00"),
        "beta": make_session(other_project, "beta-1", "2026-11-21T09:00:00+00:00"),
    }


def ids(response) -> list[str]:
    return [row["external_id"] for row in response.json()["results"]]


def test_it_starts_a_session_with_a_write_key(write_api, project):
    response = write_api.post(START, start_body(), content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["project"] == "alpha"
    assert body["external_id"] == "sess-1"
    assert body["status"] == "active"
    assert body["started_at"] == "2026-11-20T10:00:00Z"
    assert body["start_commit"] == "abc123"
    assert body["cost_usd"] is None
    session = Session.objects.get(pk=body["id"])
    assert (session.project, session.agent, session.host) == (project, "claude-code", "box")


def test_it_returns_the_existing_session_with_200_when_started_again(write_api):
    first = write_api.post(START, start_body(), content_type="application/json").json()
    again = write_api.post(
        START,
        start_body(branch="other", started_at="2026-11-21T00:00:00Z"),
        content_type="application/json",
    )
    assert again.status_code == 200
    assert again.json() == first
    assert Session.objects.count() == 1


def test_it_fills_blank_fields_of_a_session_created_by_ingest(write_api, project):
    make_session(project, "sess-1", "2026-11-20T09:59:00+00:00")
    response = write_api.post(START, start_body(), content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    # Filled in where blank; the time the first event saw is kept.
    assert (body["agent"], body["branch"]) == ("claude-code", "main")
    assert body["started_at"] == "2026-11-20T09:59:00Z"


def test_it_starts_a_session_for_a_member_user_naming_the_project(owner_client, project):
    response = owner_client.post(
        START, start_body(project="alpha"), content_type="application/json"
    )
    assert response.status_code == 201
    assert response.json()["project"] == "alpha"


def test_it_requires_the_project_when_logged_in(owner_client, project):
    response = owner_client.post(START, start_body(), content_type="application/json")
    assert response.status_code == 400
    assert "project" in response.json()["error"]["detail"]


def test_it_hides_another_project_from_writers(outsider_client, other_api, project):
    for client in (outsider_client, other_api):
        response = client.post(START, start_body(project="alpha"), content_type="application/json")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert not Session.objects.filter(project__slug="alpha").exists()


def test_it_starts_in_the_keys_own_project_by_default(other_api):
    response = other_api.post(START, start_body(), content_type="application/json")
    assert response.status_code == 201
    assert response.json()["project"] == "beta"


def test_it_refuses_writes_with_a_read_only_key(read_api, sessions):
    response = read_api.post(START, start_body(), content_type="application/json")
    assert response.status_code == 403
    end = read_api.post(f"/api/v1/sessions/{sessions['new'].pk}/end")
    assert end.status_code == 403
    assert Session.objects.get(pk=sessions["new"].pk).status == "active"


def test_it_requires_authentication(client, sessions):
    for response in (
        client.get(LIST),
        client.get(f"/api/v1/sessions/{sessions['new'].pk}"),
        client.post(START, start_body(), content_type="application/json"),
        client.post(f"/api/v1/sessions/{sessions['new'].pk}/end"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "not_authenticated"


def test_it_rejects_a_wrong_key(client, db):
    response = client.get(LIST, headers={"Authorization": "Bearer cairn_nope"})
    assert response.status_code == 401


def test_it_rejects_bad_start_input(write_api):
    bad_json = write_api.post(START, "{not json", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["code"] == "parse_error"
    not_object = write_api.post(START, "[1, 2]", content_type="application/json")
    assert not_object.status_code == 400
    missing = write_api.post(START, {"agent": "x"}, content_type="application/json")
    assert missing.status_code == 400
    assert "external_id" in missing.json()["error"]["detail"]
    naive = write_api.post(
        START, start_body(started_at="2026-11-20T10:00:00"), content_type="application/json"
    )
    assert naive.status_code == 400
    assert "time zone" in naive.json()["error"]["detail"]["started_at"][0]
    assert Session.objects.count() == 0


def test_it_rejects_wrong_methods(write_api, sessions):
    assert write_api.get(START).status_code == 405
    assert write_api.get(f"/api/v1/sessions/{sessions['new'].pk}/end").status_code == 405
    assert write_api.delete(f"/api/v1/sessions/{sessions['new'].pk}").status_code == 405
    assert write_api.put(LIST, {}, content_type="application/json").status_code == 405


def test_it_ends_a_session(write_api, sessions):
    pk = sessions["new"].pk
    response = write_api.post(
        f"/api/v1/sessions/{pk}/end",
        {"end_commit": "def456", "ended_at": "2026-11-20T11:30:00+00:00"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["end_commit"]) == ("ended", "def456")
    assert body["ended_at"] == "2026-11-20T11:30:00Z"


def test_it_keeps_the_first_end_when_ended_twice(write_api, sessions):
    url = f"/api/v1/sessions/{sessions['new'].pk}/end"
    first = write_api.post(
        url, {"end_commit": "a1", "ended_at": "2026-11-20T11:00:00Z"}, "application/json"
    )
    second = write_api.post(
        url, {"end_commit": "b2", "ended_at": "2026-11-20T12:00:00Z"}, "application/json"
    )
    assert second.status_code == 200
    assert second.json() == first.json()
    session = Session.objects.get(pk=sessions["new"].pk)
    assert (session.end_commit, session.ended_at) == ("a1", datetime(2026, 11, 20, 11, tzinfo=UTC))


def test_it_rejects_a_bad_end_body(write_api, sessions):
    url = f"/api/v1/sessions/{sessions['new'].pk}/end"
    assert write_api.post(url, "{bad", content_type="application/json").status_code == 400
    assert write_api.post(url, '"text"', content_type="application/json").status_code == 400
    naive = write_api.post(url, {"ended_at": "2026-11-21 10:00"}, "application/json")
    assert naive.status_code == 400
    assert list(naive.json()["error"]["detail"]) == ["ended_at"]
    long = write_api.post(url, {"end_commit": "f" * 65}, "application/json")
    assert list(long.json()["error"]["detail"]) == ["end_commit"]
    assert Session.objects.get(pk=sessions["new"].pk).status == "active"


def test_it_refuses_an_end_before_the_start(write_api, sessions):
    response = write_api.post(
        f"/api/v1/sessions/{sessions['new'].pk}/end",
        {"ended_at": "2026-11-20T08:59:59Z"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "before started_at" in response.json()["error"]["detail"]["ended_at"][0]
    assert Session.objects.get(pk=sessions["new"].pk).status == "active"


def test_it_ends_with_a_member_login_and_now_by_default(owner_client, sessions):
    response = owner_client.post(f"/api/v1/sessions/{sessions['new'].pk}/end")
    assert response.status_code == 200
    ended_at = datetime.fromisoformat(response.json()["ended_at"])
    assert (datetime.now(UTC) - ended_at).total_seconds() < 60


def test_it_hides_other_projects_sessions(outsider_client, other_api, sessions):
    pk = sessions["new"].pk
    for client in (outsider_client, other_api):
        assert client.get(f"/api/v1/sessions/{pk}").status_code == 404
        assert client.post(f"/api/v1/sessions/{pk}/end").status_code == 404
        assert client.get(LIST, {"project": "alpha"}).status_code == 404
        assert ids(client.get(LIST)) == ["beta-1"]
    assert Session.objects.get(pk=pk).status == "active"


def test_it_lists_sessions_newest_first_with_filters(write_api, owner_client, sessions):
    assert ids(write_api.get(LIST)) == ["new", "old"]
    assert ids(owner_client.get(LIST, {"project": "alpha"})) == ["new", "old"]
    assert ids(write_api.get(LIST, {"status": "ended"})) == ["old"]
    assert ids(write_api.get(LIST, {"since": "2026-11-20T09:00:00Z"})) == ["new"]
    assert ids(write_api.get(LIST, {"external_id": "old"})) == ["old"]


def test_it_shows_a_session(read_api, sessions):
    response = read_api.get(f"/api/v1/sessions/{sessions['old'].pk}")
    assert response.status_code == 200
    assert response.json()["external_id"] == "old"
    assert response.json()["status"] == "ended"


def test_it_rejects_bad_list_filters(write_api, sessions):
    for query in (
        {"status": "sleeping"},
        {"since": "yesterday"},
        {"since": "2026-11-20T09:00:00"},
        {"page_size": "0"},
        {"cursor": "garbage"},
    ):
        response = write_api.get(LIST, query)
        assert response.status_code == 400, query
        assert response.json()["error"]["detail"], query


def test_it_shows_superusers_every_project(superuser_client, sessions):
    assert ids(superuser_client.get(LIST)) == ["beta-1", "new", "old"]


def test_it_tells_live_pages_when_a_session_starts_or_ends(
    write_api, project, django_capture_on_commit_callbacks
):
    pushes = []
    with django_capture_on_commit_callbacks() as callbacks:
        body = write_api.post(START, start_body(), content_type="application/json").json()
    pushes += callbacks
    with django_capture_on_commit_callbacks() as callbacks:
        write_api.post(START, start_body(), content_type="application/json")
    assert callbacks == [], "an unchanged session is not pushed again"
    end = f"/api/v1/sessions/{body['id']}/end"
    with django_capture_on_commit_callbacks() as callbacks:
        write_api.post(end, {"ended_at": "2026-11-20T11:00:00Z"}, "application/json")
    pushes += callbacks
    with django_capture_on_commit_callbacks() as callbacks:
        write_api.post(end)
    assert callbacks == [], "a repeated end changes nothing and pushes nothing"

    async def listen() -> list[dict]:
        layer = channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events_group(project.pk), channel)
        await sync_to_async(lambda: [push() for push in pushes])()
        return [
            json.loads((await asyncio.wait_for(layer.receive(channel), timeout=5))["text"])
            for _ in pushes
        ]

    frames = async_to_sync(listen)()
    assert [(f["type"], f["session"]["status"]) for f in frames] == [
        ("session_updated", "active"),
        ("session_updated", "ended"),
    ]
    assert frames[1]["session"]["ended_at"] == "2026-11-20T11:00:00.000000Z"


def test_it_shows_tokens_as_not_measured_without_recorded_usage(read_api, sessions):
    used = sessions["new"]
    Session.objects.filter(pk=used.pk).update(input_tokens=3, cache_read_tokens=70)
    unused = read_api.get(f"/api/v1/sessions/{sessions['old'].pk}").json()
    measured = read_api.get(f"/api/v1/sessions/{used.pk}").json()
    fields = ("input_tokens", "output_tokens", "cache_read_tokens")
    assert [unused[f] for f in fields] == [None, None, None]
    assert [measured[f] for f in fields] == [3, 0, 70]
