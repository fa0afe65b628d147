"""What each tick carries: rolling windows that decay, anomalies, skill subscriptions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from analytics.detection import evaluate
from analytics.ticker import Ticker
from tests.analytics.conftest import at, bearer, events, subscribed

# The configured layer (Redis pub/sub when REDIS_URL is set), before the `live` fixture swaps it.
REDIS_CHANNEL_LAYERS = settings.CHANNEL_LAYERS if settings.REDIS_URL else None
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
store = sync_to_async(events)
evaluate_at = sync_to_async(evaluate)


async def frame_at(communicator, ticker: Ticker, now) -> dict:
    await ticker.tick(now=now)
    return await communicator.receive_json_from()


def figures(frame: dict) -> list[tuple[str, int, int]]:
    return [(s["skill"], s["invocations_1h"], s["invocations_24h"]) for s in frame["top_skills"]]


async def test_it_lets_the_1h_and_24h_windows_decay_by_hour_bucket(live, project, read_key):
    await store(
        project,
        *[("pytest", at("2026-11-20T09:30:00"), True, 1.0)] * 3,
        ("pytest", at("2026-11-20T10:10:00"), False, 3.0),
    )
    everyone = await subscribed(bearer(read_key))
    one_skill = await subscribed(bearer(read_key))
    await one_skill.send_json_to({"type": "subscribe", "skill": "pytest"})
    await one_skill.receive_json_from()
    ticker = Ticker()
    expected = [
        ("2026-11-20T10:20:00", [("pytest", 1, 4)]),  # 1h = bucket 10:00; 24h from 11-19 11:00
        ("2026-11-20T11:05:00", [("pytest", 0, 4)]),  # the 10:00 bucket left the 1h window
        ("2026-11-21T09:05:00", [("pytest", 0, 1)]),  # 24h starts 11-20 10:00: 09:00 is out
        ("2026-11-21T10:05:00", []),  # 24h starts 11-20 11:00: nothing left
    ]
    for now, top in expected:
        frame = await frame_at(everyone, ticker, at(now))
        assert figures(frame) == top, now
        assert frame["windows"]["1h"]["start"] == at(now).strftime("%Y-%m-%dT%H:00:00.000000Z")
    start = frame["windows"]["24h"]["start"]
    assert start == "2026-11-20T11:00:00.000000Z"
    # The skill subscriber got the skill every tick, still present (with zeros) at the end.
    frames = [await one_skill.receive_json_from() for _ in expected]
    assert [figures(f) for f in frames] == [
        [("pytest", 1, 4)],
        [("pytest", 0, 4)],
        [("pytest", 0, 1)],
        [("pytest", 0, 0)],
    ]
    assert frames[0]["top_skills"][0]["completion_rate_24h"] == 0.75
    assert frames[-1]["top_skills"][0]["completion_rate_24h"] is None
    assert frames[-1]["scope"] == {"kind": "skill", "skill": "pytest"}
    await everyone.disconnect()
    await one_skill.disconnect()


async def test_it_reports_a_completion_drop_even_from_a_perfect_baseline(live, project, read_key):
    now = at("2026-11-20T12:40:00")
    baseline = [
        ("ruff", now - timedelta(hours=h), True, None) for h in range(1, 21) for _ in (0, 1)
    ]
    current = [("ruff", now - timedelta(minutes=m), m % 10 < 4, None) for m in range(10)]
    await store(project, *baseline, *current, ("pytest", now, True, 1.0))
    ruff_only = await subscribed(bearer(read_key))
    await ruff_only.send_json_to({"type": "subscribe", "skill": "ruff"})
    await ruff_only.receive_json_from()
    pytest_only = await subscribed(bearer(read_key))
    await pytest_only.send_json_to({"type": "subscribe", "skill": "pytest"})
    await pytest_only.receive_json_from()
    # The frame carries the stored open anomalies: none before the worker's run closing 12:00.
    await Ticker().tick(now=now)
    assert (await ruff_only.receive_json_from())["anomalies"] == []
    assert (await pytest_only.receive_json_from())["anomalies"] == []
    await evaluate_at(at("2026-11-20T13:00:00"))
    for communicator in (ruff_only, pytest_only):  # pushed to every client of the project
        assert (await communicator.receive_json_from())["type"] == "anomaly_opened"
    await Ticker().tick(now=at("2026-11-20T13:05:00"))
    frame = await ruff_only.receive_json_from()
    [anomaly] = frame["anomalies"]
    assert (anomaly["metric"], anomaly["anomaly_type"]) == ("completion_rate", "drop")
    assert (anomaly["observed_n"], anomaly["baseline_n"]) == (10, 40)
    assert (anomaly["observed_value"], anomaly["baseline_value"]) == (0.4, 1.0)
    assert anomaly["deviation_score"] == pytest.approx(-5.222, abs=0.001)
    assert anomaly["window_start"] == "2026-11-20T12:00:00.000000Z"
    assert anomaly["window_end"] == "2026-11-20T13:00:00.000000Z"
    assert (await pytest_only.receive_json_from())["anomalies"] == []
    await ruff_only.disconnect()
    await pytest_only.disconnect()


async def test_it_reports_a_duration_rise_and_nothing_below_the_minimum_n(live, project, read_key):
    now = at("2026-11-20T12:40:00")
    baseline = [("build", now - timedelta(hours=1 + i % 20), None, 1.0 + i % 2) for i in range(40)]
    current = [("build", now - timedelta(minutes=m), None, 5.0 + m % 2) for m in range(10)]
    short = [("lint", now - timedelta(minutes=m), False, 50.0) for m in range(9)]
    await store(project, *baseline, *current, *short)
    communicator = await subscribed(bearer(read_key))
    await evaluate_at(at("2026-11-20T13:00:00"))
    await communicator.receive_json_from()  # anomaly_opened
    await Ticker().tick(now=now)
    [anomaly] = (await communicator.receive_json_from())["anomalies"]
    assert (anomaly["skill"], anomaly["metric"], anomaly["anomaly_type"]) == (
        "build",
        "duration",
        "spike",
    )
    # Hourly means alternate 1.0 and 2.0: median 1.5, MAD 0.5, scale 1.4826 × 0.5.
    assert (anomaly["observed_value"], anomaly["baseline_value"]) == (5.5, 1.5)
    assert anomaly["deviation_score"] == pytest.approx(4.0 / (1.4826 * 0.5), abs=1e-6)
    await communicator.disconnect()


async def test_it_builds_one_frame_per_view_not_per_client(live, project, read_key):
    await store(project, ("pytest", at("2026-11-20T10:00:00"), True, 1.0))
    clients = [await subscribed(bearer(read_key)) for _ in range(5)]
    sent = await Ticker().tick(now=at("2026-11-20T10:30:00"))
    assert sent == 1
    texts = {(await c.receive_from()) for c in clients}
    assert len(texts) == 1
    for communicator in clients:
        await communicator.disconnect()


@pytest.mark.parametrize("layer", ["memory", "redis"])
async def test_it_reaches_every_client_of_a_connect_storm(live, project, read_key, layer):
    """Concurrent handshakes share one process channel; none is left out of the group."""
    if layer == "redis":
        if not REDIS_CHANNEL_LAYERS:
            pytest.skip("REDIS_URL is not set")
        live.CHANNEL_LAYERS = REDIS_CHANNEL_LAYERS
    await store(project, ("pytest", at("2026-11-20T10:00:00"), True, 1.0))
    clients = await asyncio.gather(*(subscribed(bearer(read_key)) for _ in range(30)))
    await Ticker().tick(now=at("2026-11-20T10:30:00"))
    frames = [await c.receive_json_from(timeout=2) for c in clients]
    assert {f["seq"] for f in frames} == {1}
    for communicator in clients:
        await communicator.disconnect()
