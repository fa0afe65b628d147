"""REST API v1: per-skill statistics from the hourly rollups, against figures worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analytics.skills import floor_hour
from tracking.ingest import InvocationEvent, record_invocations

URL = "/api/v1/projects/alpha/skills"
BASELINE_FIELDS = (
    "users",
    "sessions",
    "invocations",
    "decided",
    "rate_ci_low",
    "rate_ci_high",
    "rate_smoothed",
    "duration_p50",
    "duration_p90",
    "duration_p95",
    "most_common_phase",
    "effectiveness_percentile",
    "projects",
    "across_projects",
)
WINDOW = {"since": "2026-11-20T10:00:00Z", "until": "2026-11-20T12:00:00Z"}


def event(key, at, skill="pytest", session="s1", completed=None, duration_s=None):
    return InvocationEvent(
        key=key,
        session=session,
        skill=skill,
        invoked_at=datetime.fromisoformat(at),
        completed=completed,
        duration_s=duration_s,
    )


@pytest.fixture
def events(project, other_project) -> None:
    record_invocations(
        project,
        [
            event("p0", "2026-11-19T10:05:00+00:00", completed=True, duration_s=10.0),
            event("p1", "2026-11-20T10:05:00+00:00", completed=True, duration_s=1.0),
            event("p2", "2026-11-20T10:15:00+00:00", completed=True, duration_s=3.0),
            event("p3", "2026-11-20T10:25:00+00:00", "pytest", "s2", False, 2.0),
            event("p4", "2026-11-20T10:35:00+00:00", "pytest", "s2"),
            event("p5", "2026-11-20T11:10:00+00:00", "pytest", "s3", True, 4.0),
            event("r1", "2026-11-20T11:20:00+00:00", "ruff", "s1", False, 0.5),
        ],
        source="api",
    )
    record_invocations(
        other_project,
        [event("b1", "2026-11-20T10:05:00+00:00", completed=False, duration_s=100.0)],
        source="api",
    )


def by_skill(response) -> dict[str, dict]:
    assert response.status_code == 200, response.content
    return {row["skill"]: row for row in response.json()["skills"]}


def test_it_computes_stats_over_a_since_until_window(read_api, events):
    response = read_api.get(URL, WINDOW)
    body = response.json()
    assert (body["project"], body["window_start"], body["window_end"]) == (
        "alpha",
        "2026-11-20T10:00:00Z",
        "2026-11-20T12:00:00Z",
    )
    assert [row["skill"] for row in body["skills"]] == ["pytest", "ruff"]
    pytest_stats = by_skill(response)["pytest"]
    rate = pytest_stats.pop("completion_rate")
    # The baseline fields (tests/analytics/test_skill_baselines.py) beside the original ones.
    added = {name: pytest_stats.pop(name) for name in BASELINE_FIELDS}
    assert (added["invocations"], added["decided"], added["sessions"]) == (5, 4, 3)
    assert added["rate_smoothed"] == pytest.approx(4 / 6)
    assert pytest_stats == {
        "skill": "pytest",
        "n": 5,
        "window_start": "2026-11-20T10:00:00Z",
        "window_end": "2026-11-20T12:00:00Z",
        "completed": 3,
        "failed": 1,
        "undecided": 1,
        "duration_s": {"n": 4, "mean": 2.5, "stddev": pytest.approx(1.2909944487358056)},
        "unique_sessions": 3,
    }
    # Wilson 95% interval of 3 successes in 4 decided outcomes.
    assert rate == {
        "value": 0.75,
        "low": pytest.approx(0.3006418425824019),
        "high": pytest.approx(0.9544127391902994),
        "n": 4,
        "method": "wilson",
        "confidence": 0.95,
    }


def test_it_reports_a_single_failure_honestly(owner_client, events):
    ruff = by_skill(owner_client.get(URL, WINDOW))["ruff"]
    assert (ruff["n"], ruff["completed"], ruff["failed"], ruff["unique_sessions"]) == (1, 0, 1, 1)
    assert ruff["completion_rate"]["value"] == 0.0
    assert ruff["completion_rate"]["low"] == 0.0
    assert ruff["completion_rate"]["high"] == pytest.approx(0.7934506856227626)
    assert ruff["duration_s"] == {"n": 1, "mean": 0.5, "stddev": None}


def test_it_widens_until_to_the_whole_hour(read_api, events):
    response = read_api.get(URL, {"since": "2026-11-20T10:20:00Z", "until": "2026-11-20T10:30:00Z"})
    body = response.json()
    assert (body["window_start"], body["window_end"]) == (
        "2026-11-20T10:00:00Z",
        "2026-11-20T11:00:00Z",
    )
    stats = by_skill(response)
    assert list(stats) == ["pytest"]
    pytest_stats = stats["pytest"]
    assert (pytest_stats["n"], pytest_stats["completed"], pytest_stats["failed"]) == (4, 2, 1)
    assert pytest_stats["completion_rate"]["low"] == pytest.approx(0.2076596008020478)
    assert pytest_stats["completion_rate"]["high"] == pytest.approx(0.9385080552796038)
    assert pytest_stats["duration_s"] == {"n": 3, "mean": 2.0, "stddev": 1.0}
    assert pytest_stats["unique_sessions"] == 2


def test_it_filters_by_skill(read_api, events):
    assert list(by_skill(read_api.get(URL, {**WINDOW, "skill": "ruff"}))) == ["ruff"]
    assert read_api.get(URL, {**WINDOW, "skill": "nope"}).json()["skills"] == []


def test_it_gives_no_rate_when_no_outcome_is_known(read_api, project):
    record_invocations(project, [event("g1", "2026-11-20T10:05:00+00:00", "grep")], source="api")
    grep = by_skill(read_api.get(URL, WINDOW))["grep"]
    assert (grep["n"], grep["undecided"]) == (1, 1)
    # Not measured is null, never a rate of 0.
    assert grep["completion_rate"] == {
        "value": None,
        "low": None,
        "high": None,
        "n": 0,
        "method": "wilson",
        "confidence": 0.95,
    }
    assert grep["duration_s"] == {"n": 0, "mean": None, "stddev": None}


def test_it_uses_a_rolling_window_ending_now(read_api, project):
    now = datetime.now(UTC)
    record_invocations(
        project,
        [
            InvocationEvent("recent", "s1", "pytest", now - timedelta(hours=2), True, 1.0),
            InvocationEvent("older", "s1", "pytest", now - timedelta(days=3), False, 3.0),
        ],
        source="api",
    )
    day = read_api.get(URL, {"window": "24h"}).json()
    assert day["window_start"] == (floor_hour(now) - timedelta(hours=23)).isoformat().replace(
        "+00:00", "Z"
    )
    assert [(s["n"], s["completed"], s["failed"]) for s in day["skills"]] == [(1, 1, 0)]
    week = read_api.get(URL, {"window": "7d"}).json()
    assert [(s["n"], s["completed"], s["failed"]) for s in week["skills"]] == [(2, 1, 1)]
    assert week["skills"][0]["duration_s"]["mean"] == 2.0
    default = read_api.get(URL).json()
    assert default["window_start"] == day["window_start"]


def test_it_aggregates_the_projects_you_may_see(superuser_client, other_api, events):
    every = by_skill(superuser_client.get("/api/v1/skills", WINDOW))["pytest"]
    assert (every["n"], every["completed"], every["failed"]) == (6, 3, 2)
    assert every["duration_s"]["n"] == 5
    assert every["duration_s"]["mean"] == 22.0
    own = other_api.get("/api/v1/skills", WINDOW).json()
    assert own["project"] is None
    assert [(s["skill"], s["n"], s["failed"]) for s in own["skills"]] == [("pytest", 1, 1)]
    one = superuser_client.get("/api/v1/skills", {**WINDOW, "project": "beta"}).json()
    assert one["project"] == "beta"
    assert [s["n"] for s in one["skills"]] == [1]


def test_it_hides_another_projects_stats(other_api, outsider_client, events):
    for client in (other_api, outsider_client):
        assert client.get(URL, WINDOW).status_code == 404
        assert client.get("/api/v1/skills", {**WINDOW, "project": "alpha"}).status_code == 404


def test_it_requires_authentication(client, events):
    assert client.get(URL).status_code == 401
    assert client.get("/api/v1/skills").status_code == 401


def test_it_rejects_wrong_methods(write_api, events):
    assert write_api.post(URL, {}, "application/json").status_code == 405
    assert write_api.delete("/api/v1/skills").status_code == 405


def test_it_rejects_bad_windows(read_api, events):
    for query in (
        {"window": "7w"},
        {"window": "0h"},
        {"window": "367d"},
        {"window": "24h", "since": "2026-11-20T10:00:00Z"},
        {"until": "2026-11-20T10:00:00Z"},
        {"since": "2026-11-20T10:00:00"},
        {"since": "2026-11-20T12:00:00Z", "until": "2026-11-20T10:00:00Z"},
    ):
        response = read_api.get(URL, query)
        assert response.status_code == 400, query
        assert response.json()["error"]["detail"], query
    message = read_api.get(URL, {"window": "7w"}).json()["error"]["detail"]["window"][0]
    assert message == "Use <n>h or <n>d (e.g. 24h, 7d), from 1h up to 366d."
