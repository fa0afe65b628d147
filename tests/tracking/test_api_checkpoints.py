"""REST API v1: checkpoints (list with filters, detail with measurements)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracking.models import Checkpoint, Measurement, Session

LIST = "/api/v1/checkpoints"


@pytest.fixture
def checkpoints(project, other_project) -> dict[str, Checkpoint]:
    session = Session.objects.create(project=project, external_id="s-1")
    made = {
        "start": Checkpoint.objects.create(
            project=project,
            session=session,
            kind="start",
            commit="aaa",
            created_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ),
        "end": Checkpoint.objects.create(
            project=project,
            session=session,
            kind="end",
            commit="bbb",
            score_total=72.5,
            points_measured=85.0,
            stars=4,
            label="Good",
            gate_verdict="failed",
            created_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
        ),
        "ci": Checkpoint.objects.create(
            project=project, kind="ci", created_at=datetime(2026, 11, 21, 9, tzinfo=UTC)
        ),
        "beta": Checkpoint.objects.create(project=other_project, kind="ci"),
    }
    Measurement.objects.create(
        checkpoint=made["end"],
        key="coverage.line_percent",
        value=81.25,
        unit="%",
        tool="coverage.py",
        tool_version="7.17.4",
        artefact="coverage.json",
    )
    Measurement.objects.create(
        checkpoint=made["end"],
        key="tests.failed",
        value=None,
        reason="no JUnit report found",
    )
    return made


def kinds(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["kind"] for row in response.json()["results"]]


def test_it_lists_checkpoints_newest_first(read_api, checkpoints):
    assert kinds(read_api.get(LIST)) == ["ci", "end", "start"]


def test_it_filters_checkpoints(owner_client, checkpoints):
    session = checkpoints["start"].session_id
    assert kinds(owner_client.get(LIST, {"project": "alpha"})) == ["ci", "end", "start"]
    assert kinds(owner_client.get(LIST, {"session": session})) == ["end", "start"]
    assert kinds(owner_client.get(LIST, {"kind": "ci"})) == ["ci"]
    assert kinds(owner_client.get(LIST, {"session": session, "kind": "end"})) == ["end"]


def test_it_shows_a_checkpoint_with_its_measurements(read_api, checkpoints):
    response = read_api.get(f"{LIST}/{checkpoints['end'].pk}")
    assert response.status_code == 200
    body = response.json()
    assert (body["kind"], body["score_total"], body["points_measured"]) == ("end", 72.5, 85.0)
    assert (body["stars"], body["label"], body["gate_verdict"]) == (4, "Good", "failed")
    assert body["score_security"] is None
    assert body["measurements"] == [
        {
            "key": "coverage.line_percent",
            "value": 81.25,
            "measured": True,
            "unit": "%",
            "reason": "",
            "tool": "coverage.py",
            "tool_version": "7.17.4",
            "artefact": "coverage.json",
            "measured_at": body["measurements"][0]["measured_at"],
            "detail": {},
        },
        {
            "key": "tests.failed",
            "value": None,
            "measured": False,
            "unit": "",
            "reason": "no JUnit report found",
            "tool": "",
            "tool_version": "",
            "artefact": "",
            "measured_at": body["measurements"][1]["measured_at"],
            "detail": {},
        },
    ]


def test_it_hides_other_projects_checkpoints(other_api, outsider_client, checkpoints):
    session = checkpoints["start"].session_id
    for client in (other_api, outsider_client):
        assert client.get(f"{LIST}/{checkpoints['end'].pk}").status_code == 404
        assert client.get(LIST, {"project": "alpha"}).status_code == 404
        assert client.get(LIST, {"session": session}).status_code == 404
        assert kinds(client.get(LIST)) == ["ci"]
        assert client.get(LIST).json()["results"][0]["project"] == "beta"


def test_it_requires_authentication(client, checkpoints):
    assert client.get(LIST).status_code == 401
    assert client.get(f"{LIST}/{checkpoints['end'].pk}").status_code == 401


def test_it_rejects_wrong_methods(write_api, read_api, checkpoints):
    url = f"{LIST}/{checkpoints['end'].pk}"
    assert write_api.delete(url).status_code == 405
    assert write_api.put(url, {}, "application/json").status_code == 405
    assert read_api.post(url, {}, "application/json").status_code == 405


def test_it_rejects_bad_filters(read_api, checkpoints):
    for query in ({"kind": "weekly"}, {"session": "abc"}, {"session": "0"}, {"page_size": "x"}):
        response = read_api.get(LIST, query)
        assert response.status_code == 400, query
        assert list(response.json()["error"]["detail"]) == [next(iter(query))]


def test_it_pages_checkpoints(read_api, checkpoints):
    first = read_api.get(LIST, {"page_size": 2}).json()
    assert [row["kind"] for row in first["results"]] == ["ci", "end"]
    second = read_api.get(first["next"]).json()
    assert [row["kind"] for row in second["results"]] == ["start"]
    assert second["next"] is None
