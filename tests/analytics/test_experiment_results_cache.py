"""Experiment results are served again while nothing they are computed from has changed, and
computed anew as soon as anything has: a tool call, an exposure, a checkpoint, a cost, the
experiment's status. The page's cache never stands in for the worker's last evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from analytics.experiments.evaluation import evaluate_experiments
from analytics.models import Experiment
from tests.analytics.experiment_data import get, post, running_experiment, session_start
from tracking.models import Checkpoint, Session

pytestmark = pytest.mark.django_db
RESULTS = "/api/v1/experiments/tests-first/results"


def calls(client, key: str, session: str, outcomes: list[bool], tag: str) -> None:
    after = datetime.now(UTC) + timedelta(seconds=1)
    events = [
        {"id": f"{session}-{tag}-{k}", "session": session, "skill": "pytest",
         "invoked_at": (after + timedelta(seconds=k)).isoformat(), "completed": done,
         "duration_s": 2.0}
        for k, done in enumerate(outcomes)
    ]  # fmt: skip
    response = post(client, key, "/api/v1/ingest/invocations", {"events": events})
    assert response.status_code == 200 and response.json()["accepted"] == len(outcomes)


def results(client, key: str) -> dict:
    response = get(client, key, RESULTS)
    assert response.status_code == 200, response.content
    return response.json()


def calls_counted(body: dict) -> int:
    rate = next(m for m in body["metrics"] if m["metric"] == "completion_rate")
    return sum(arm["denominator"] for arm in rate["arms"])


@pytest.fixture
def experiment(client, write_key):
    running_experiment(client, write_key)
    for sid in ("s1", "s2", "s3"):
        assert session_start(client, write_key, sid).status_code == 200
    calls(client, write_key, "s1", [True, True, False], "a")
    return Experiment.objects.get(key="tests-first")


def test_a_second_read_with_no_new_data_is_the_stored_results(client, read_key, experiment, owner):
    first = results(client, read_key)
    second = results(client, read_key)
    assert calls_counted(first) == 3
    # The same computation, not a new one: its time is the first read's.
    assert second["computed_at"] == first["computed_at"]
    assert second == first
    client.force_login(owner)
    page = client.get("/p/alpha/experiments/tests-first/")
    # The page shows the same computation, with its time.
    moment = datetime.fromisoformat(first["computed_at"]).isoformat()
    assert f'<time datetime="{moment}"' in page.content.decode()
    assert results(client, read_key)["computed_at"] == first["computed_at"]


@pytest.mark.parametrize("change", ["tool call", "exposure", "checkpoint", "cost", "stop"])
def test_any_new_data_makes_the_next_read_compute_again(
    client, write_key, read_key, experiment, change
):
    first = results(client, read_key)
    session = Session.objects.get(external_id="s2")
    if change == "tool call":
        calls(client, write_key, "s2", [False, False], "b")
    elif change == "exposure":
        assert session_start(client, write_key, "s4").status_code == 200
    elif change == "checkpoint":
        Checkpoint.objects.create(project=experiment.project, session=session, kind="end")
    elif change == "cost":
        Session.objects.filter(pk=session.pk).update(cost_usd=Decimal("0.25"))
    else:
        assert post(client, write_key, "/api/v1/experiments/tests-first/stop").status_code == 200
    second = results(client, read_key)
    assert second["computed_at"] != first["computed_at"]
    expected = {
        "tool call": (5, 3, "running"),
        "exposure": (3, 4, "running"),
        "checkpoint": (3, 3, "running"),
        "cost": (3, 3, "running"),
        "stop": (3, 3, "stopped"),
    }[change]
    assert (calls_counted(second), second["n"], second["status"]) == expected
    assert results(client, read_key)["computed_at"] == second["computed_at"]


def test_a_read_leaves_the_worker_its_own_last_evaluation(client, write_key, read_key, experiment):
    results(client, read_key)
    experiment.refresh_from_db()
    assert experiment.results_cache is not None and experiment.last_results is None
    evaluate_experiments(datetime.now(UTC))
    experiment.refresh_from_db()
    assert experiment.last_results is not None
    # The worker's evaluation is also what the next read serves, until new data arrives.
    assert results(client, read_key)["computed_at"] == experiment.last_results["computed_at"]
    calls(client, write_key, "s3", [True], "c")
    assert results(client, read_key)["computed_at"] != experiment.last_results["computed_at"]
