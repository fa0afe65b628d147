"""GET /api/v1/anomalies: the stored anomalies, filtered, paged, per-key visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics.detection import evaluate
from tests.analytics.anomaly_data import hour_of, perfect_baseline
from tests.analytics.conftest import at

T = at("2026-11-20T12:00:00")
HOUR = timedelta(hours=1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(project, other_project):
    """alpha: a ruff drop opened at 12:00 and resolved at 14:00, a mypy drop opened at 13:00;
    beta: a ruff drop opened at 12:00."""
    for p in (project, other_project):
        perfect_baseline(p)
        hour_of(p, T - HOUR, 6, 10)
    perfect_baseline(project, skill="mypy")
    hour_of(project, T, 10, 10)
    hour_of(project, T + HOUR, 10, 10)
    hour_of(project, T, 3, 10, skill="mypy")
    for i in range(3):
        evaluate(T + i * HOUR)


def get(client, key: str, query: str = ""):
    return client.get(f"/api/v1/anomalies{query}", headers={"authorization": f"Bearer {key}"})


def test_a_key_sees_its_projects_anomalies_with_every_field(client, stored, read_key):
    response = get(client, read_key)
    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert [(a["project"], a["skill"], a["status"]) for a in body["results"]] == [
        ("alpha", "mypy", "open"),
        ("alpha", "ruff", "resolved"),
    ]
    ruff = body["results"][1]
    assert set(ruff) == {
        "id", "project", "skill", "metric", "anomaly_type", "status", "opened_at",
        "last_seen_at", "resolved_at", "window_start", "window_end", "baseline_value",
        "baseline_n", "observed_value", "observed_n", "p_value", "q_value", "deviation_score",
        "peak_deviation_score", "evaluations", "method", "params",
    }  # fmt: skip
    assert (ruff["opened_at"], ruff["resolved_at"]) == (
        "2026-11-20T12:00:00Z",
        "2026-11-20T14:00:00Z",
    )
    assert (ruff["observed_value"], ruff["observed_n"], ruff["baseline_n"]) == (0.6, 10, 200)
    assert ruff["params"]["family_p_values"] == [{"skill": "ruff", "p_value": ruff["p_value"]}]


def test_it_filters_by_status_skill_metric_and_since(client, stored, read_key):
    def skills(query: str) -> list[str]:
        response = get(client, read_key, query)
        assert response.status_code == 200, response.json()
        return [a["skill"] for a in response.json()["results"]]

    assert skills("?status=open") == ["mypy"]
    assert skills("?status=resolved&skill=ruff") == ["ruff"]
    assert skills("?metric=volume") == []
    assert skills("?metric=completion_rate&project=alpha") == ["mypy", "ruff"]
    assert skills("?since=2026-11-20T12:30:00Z") == ["mypy"]  # ruff was last flagged at 12:00


def test_it_pages_with_a_cursor(client, stored, read_key):
    first = get(client, read_key, "?page_size=1").json()
    assert [a["skill"] for a in first["results"]] == ["mypy"]
    second = client.get(first["next"], headers={"authorization": f"Bearer {read_key}"}).json()
    assert [a["skill"] for a in second["results"]] == ["ruff"] and second["next"] is None


def test_another_projects_anomalies_are_not_found(client, stored, read_key):
    response = get(client, read_key, "?project=beta")
    assert response.status_code == 404
    assert response.json()["error"]["code"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("?metric=latency", "metric"), ("?status=closed", "status"), ("?since=noon", "since")],
)
def test_a_bad_filter_is_a_400_naming_it(client, stored, read_key, query, field):
    response = get(client, read_key, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["detail"]
