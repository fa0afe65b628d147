"""anomaly_opened / anomaly_resolved: pushed over the WebSocket as the worker stores them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from analytics.detection import evaluate
from analytics.ticker import Ticker
from tests.analytics.anomaly_data import hour_of, perfect_baseline
from tests.analytics.conftest import at, bearer, session_headers, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
T = at("2026-11-20T12:00:00")
HOUR = timedelta(hours=1)


@sync_to_async
def history(project) -> None:
    perfect_baseline(project)
    hour_of(project, T - HOUR, 6, 10)  # flagged at 12:00
    hour_of(project, T, 10, 10)  # clear at 13:00
    hour_of(project, T + HOUR, 10, 10)  # clear at 14:00: resolved


async def test_the_worker_pushes_opened_and_resolved_to_the_projects_clients_only(
    live, project, read_key, outsider, other_project
):
    await history(project)
    alpha = await subscribed(bearer(read_key))
    beta = await subscribed(await sync_to_async(session_headers)(outsider))
    run = sync_to_async(evaluate)

    await run(T)
    frame = await alpha.receive_json_from()
    assert frame["type"] == "anomaly_opened" and frame["server_time"].endswith("Z")
    anomaly = frame["anomaly"]
    assert (anomaly["project"], anomaly["skill"], anomaly["metric"]) == (
        "alpha",
        "ruff",
        "completion_rate",
    )
    assert (anomaly["anomaly_type"], anomaly["status"]) == ("drop", "open")
    assert anomaly["opened_at"] == "2026-11-20T12:00:00.000000Z"
    assert anomaly["resolved_at"] is None
    assert anomaly["p_value"] == pytest.approx(2.66705e-6, rel=1e-5)
    # A second run at the same time opens nothing and pushes nothing.
    await run(T + timedelta(minutes=5))
    assert await alpha.receive_nothing(timeout=0.2)

    await Ticker().tick(now=T + timedelta(minutes=10))
    tick = await alpha.receive_json_from()
    assert [a["id"] for a in tick["anomalies"]] == [anomaly["id"]]

    await run(T + HOUR)  # the first clear evaluation: still open, nothing to push
    assert await alpha.receive_nothing(timeout=0.2)
    await run(T + 2 * HOUR)
    frame = await alpha.receive_json_from()
    assert frame["type"] == "anomaly_resolved"
    resolved = frame["anomaly"]
    assert (resolved["id"], resolved["status"]) == (anomaly["id"], "resolved")
    assert resolved["resolved_at"] == "2026-11-20T14:00:00.000000Z"
    await Ticker().tick(now=T + 2 * HOUR)
    assert (await alpha.receive_json_from())["anomalies"] == []

    # The outsider heard the two ticks, of its own project, and no anomaly event.
    heard = []
    while not await beta.receive_nothing(timeout=0.1):
        heard.append(await beta.receive_json_from())
    assert [(f["type"], f["anomalies"]) for f in heard] == [("metrics_update", [])] * 2
    await alpha.disconnect()
    await beta.disconnect()
