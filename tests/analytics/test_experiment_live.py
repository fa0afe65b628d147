"""experiment_updated: the worker's experiment step pushes a result whose decision changed, to
the experiment's project's clients only, and nothing when no decision changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.core.management import call_command

from analytics.experiments.evaluation import evaluate_experiments
from analytics.models import Experiment, Exposure
from tests.analytics.conftest import at, bearer, session_headers, subscribed
from tracking.ingest import InvocationEvent, record_invocations

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
T = at("2026-11-20T12:00:00")


@sync_to_async
def running(project) -> Experiment:
    experiment = Experiment.objects.create(
        project=project,
        key="rule",
        name="Rule",
        unit="session",
        arms=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        metrics=["completion_rate"],
    )
    experiment.start(T)
    return experiment


@sync_to_async
def sessions(project, experiment, first: int, count: int) -> None:
    """`count` units per arm from `first` on, the treatment completing far more calls."""
    units = [(f"s{i}", arm) for i in range(first, first + count) for arm in ("c", "t")]
    Exposure.objects.bulk_create(
        Exposure(
            experiment=experiment,
            unit_id=f"{unit}{arm}",
            arm="control" if arm == "c" else "treatment",
            first_exposed_at=T,
        )
        for unit, arm in units
    )
    events = [
        InvocationEvent(
            key=f"{unit}{arm}-{k}",
            session=f"{unit}{arm}",
            skill="pytest",
            invoked_at=T + timedelta(seconds=k),
            completed=k < (2 + len(unit) % 2 if arm == "c" else 7 + len(unit) % 2),
        )
        for unit, arm in units
        for k in range(10)
    ]
    record_invocations(project, events, source="api")


async def next_experiment_frame(communicator) -> dict:
    """The next experiment_updated frame, past the session_updated frames of the ingest."""
    while True:
        frame = await communicator.receive_json_from()
        if frame["type"] != "session_updated":
            return frame


async def test_a_changed_decision_is_pushed_to_the_projects_clients(
    live, project, read_key, outsider, other_project
):
    experiment = await running(project)
    alpha = await subscribed(bearer(read_key))
    beta = await subscribed(await sync_to_async(session_headers)(outsider))
    run = sync_to_async(evaluate_experiments)

    await sessions(project, experiment, 0, 3)  # 3 units an arm: not enough data
    assert await run(T + timedelta(hours=1)) == 1
    frame = await next_experiment_frame(alpha)
    assert frame["type"] == "experiment_updated" and frame["server_time"].endswith("Z")
    data = frame["experiment"]
    assert (data["project"], data["key"], data["status"]) == ("alpha", "rule", "running")
    assert (data["decision"], data["previous_decision"]) == ("insufficient_data", None)
    assert data["metrics"] == [
        {"metric": "completion_rate", "role": "goal", "variant": "treatment",
         "decision": "insufficient_data", "p_value": data["metrics"][0]["p_value"],
         "q_value": data["metrics"][0]["q_value"]}
    ]  # fmt: skip
    # The same decision again: nothing pushed.
    assert await run(T + timedelta(hours=2)) == 0
    assert await alpha.receive_nothing(timeout=0.2)

    await sessions(project, experiment, 3, 40)
    assert await run(T + timedelta(hours=3)) == 1
    frame = await next_experiment_frame(alpha)
    data = frame["experiment"]
    assert (data["decision"], data["previous_decision"]) == ("ship", "insufficient_data")
    assert data["metrics"][0]["p_value"] < 0.001
    assert data["computed_at"].startswith("2026-11-20T15:00:00")
    assert await beta.receive_nothing(timeout=0.2)
    await alpha.disconnect()
    await beta.disconnect()


@sync_to_async
def worker_once(when: str) -> Experiment:
    call_command("analytics_worker", "--at", when)
    return Experiment.objects.get()


async def test_the_worker_command_stores_the_results_and_a_stop_is_evaluated_once(live, project):
    experiment = await running(project)
    await sessions(project, experiment, 0, 3)
    stored = await worker_once("2026-11-20T13:00:00Z")
    assert stored.last_results is not None
    assert stored.last_results["decision"] == "insufficient_data"
    assert stored.last_results["metrics"][0]["arms"][0]["units"] == 3
    await sync_to_async(stored.stop)(T + timedelta(hours=2))
    assert await sync_to_async(evaluate_experiments)(T + timedelta(hours=3)) == 0
    stopped = await sync_to_async(Experiment.objects.get)()
    assert stopped.last_results is not None
    assert stopped.last_results["status"] == "stopped"
    assert stopped.last_evaluated_at == T + timedelta(hours=3)
    # Evaluated after its stop: left alone from then on.
    await sync_to_async(evaluate_experiments)(T + timedelta(hours=4))
    again = await sync_to_async(Experiment.objects.get)()
    assert again.last_evaluated_at == T + timedelta(hours=3)
