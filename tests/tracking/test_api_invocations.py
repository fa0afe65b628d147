"""REST API v1: the skill invocation log, its filters and its cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Session, SkillInvocation

LIST = "/api/v1/invocations"
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def event(key: str, minutes: float, *, skill: str = "pytest", session: str = "s-1", **kw):
    return InvocationEvent(
        key=key, session=session, skill=skill, invoked_at=T0 + timedelta(minutes=minutes), **kw
    )


@pytest.fixture
def events(project, other_project) -> None:
    record_invocations(
        project,
        [
            event("a", 0, completed=True, duration_s=1.5, phase="test"),
            event("b", 10, skill="ruff", completed=False, error_type="LintError"),
            event("c", 20, session="s-2"),
            event("d", 30, skill="ruff", session="s-2", completed=True),
        ],
        source="api",
    )
    record_invocations(other_project, [event("z", 5)], source="hook")


def keys(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["key"] for row in response.json()["results"]]


def test_it_lists_invocations_newest_first(read_api, events):
    response = read_api.get(LIST)
    assert keys(response) == ["d", "c", "b", "a"]
    first = response.json()["results"][-1]
    session = Session.objects.get(project__slug="alpha", external_id="s-1")
    assert first == {
        "id": first["id"],
        "key": "a",
        "project": "alpha",
        "session": session.pk,
        "session_external_id": "s-1",
        "skill": "pytest",
        "invoked_at": "2026-11-20T10:00:00Z",
        "completed": True,
        "duration_s": 1.5,
        "phase": "test",
        "error_type": "",
        "source": "api",
    }
    assert response.json()["next"] is None


def test_it_filters_by_skill_session_and_time(owner_client, events):
    s2 = Session.objects.get(project__slug="alpha", external_id="s-2").pk
    assert keys(owner_client.get(LIST, {"skill": "ruff"})) == ["d", "b"]
    assert keys(owner_client.get(LIST, {"session": s2})) == ["d", "c"]
    assert keys(owner_client.get(LIST, {"project": "alpha", "skill": "nope"})) == []
    # since is inclusive, until exclusive.
    window = {"since": "2026-11-20T10:10:00Z", "until": "2026-11-20T10:30:00+00:00"}
    assert keys(owner_client.get(LIST, window)) == ["c", "b"]
    assert keys(owner_client.get(LIST, {"since": "2026-11-20T11:15:00+01:00"})) == ["d", "c"]


def test_it_rejects_bad_filters_with_a_reason(read_api, events):
    cases = {
        "since": {"since": "last tuesday"},
        "until": {"until": "2026-11-20T10:00:00"},
        "session": {"session": "s-1"},
        "cursor": {"cursor": "bm90IGEgY3Vyc29y"},
        "page_size": {"page_size": "1001"},
    }
    for field, query in cases.items():
        response = read_api.get(LIST, query)
        assert response.status_code == 400, query
        assert list(response.json()["error"]["detail"]) == [field]
    naive = read_api.get(LIST, {"until": "2026-11-20T10:00:00"}).json()
    assert naive["error"]["detail"]["until"] == [
        "'until' must include a time zone (e.g. Z or +00:00)"
    ]
    backwards = read_api.get(LIST, {"since": "2026-11-20T11:00Z", "until": "2026-11-20T10:00Z"})
    assert backwards.status_code == 400
    assert backwards.json()["error"]["detail"] == {"until": ["Must be later than 'since'."]}


def test_it_hides_other_projects_invocations(other_api, outsider_client, events):
    s1 = Session.objects.get(project__slug="alpha", external_id="s-1").pk
    for client in (other_api, outsider_client):
        assert keys(client.get(LIST)) == ["z"]
        assert client.get(LIST, {"session": s1}).status_code == 404
        assert client.get(LIST, {"project": "alpha"}).status_code == 404


def test_it_requires_authentication(client, events):
    response = client.get(LIST)
    assert response.status_code == 401


def test_it_rejects_wrong_methods(write_api, read_api, events):
    assert write_api.post(LIST, {}, "application/json").status_code == 405
    assert read_api.delete(LIST).status_code == 405


def test_it_walks_every_row_exactly_once_across_pages(read_api, project):
    # 5 timestamps shared by 23 events each: ties must not lose or repeat rows at page edges.
    batch = [event(f"k{i:03}", i % 5, completed=True) for i in range(115)]
    assert record_invocations(project, batch, source="api").accepted == 115
    seen: list[dict] = []
    url, pages = f"{LIST}?page_size=7&skill=pytest", 0
    while url:
        body = read_api.get(url).json()
        seen += body["results"]
        url, pages = body["next"], pages + 1
        if pages == 2:
            # A newer event arriving mid-walk is not in this walk and shifts nothing.
            record_invocations(project, [event("late", 60)], source="api")
    assert pages == 17
    assert len(seen) == 115
    assert len({row["id"] for row in seen}) == 115
    order = [(row["invoked_at"], row["id"]) for row in seen]
    assert order == sorted(order, reverse=True)
    assert {row["key"] for row in seen} == {f"k{i:03}" for i in range(115)}


def test_it_pages_with_the_default_size(read_api, project):
    record_invocations(project, [event(f"k{i:03}", i) for i in range(101)], source="api")
    first = read_api.get(LIST).json()
    assert len(first["results"]) == 100
    assert first["next"].startswith("http://testserver/api/v1/invocations?cursor=")
    last = read_api.get(first["next"]).json()
    assert [row["key"] for row in last["results"]] == ["k000"]
    assert last["next"] is None
    assert SkillInvocation.objects.count() == 101


def test_it_renders_the_browsable_api(owner_client, events):
    response = owner_client.get(LIST, headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "<title>Skill invocations · Cairn API</title>" in response.content.decode()
