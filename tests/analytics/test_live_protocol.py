"""The client → server messages of docs/websocket-api.md and their replies and errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from analytics import ticker
from analytics.ticker import Ticker
from tests.analytics.conftest import bearer, events, open_live, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def stored(live, project):
    now = datetime.now(UTC)
    events(
        project, ("pytest", now, True, 2.0), ("pytest", now, False, 4.0), ("ruff", now, None, None)
    )
    return project


async def test_it_greets_with_connected_and_the_default_subscription(live, project, read_key):
    communicator, hello = await open_live(bearer(read_key))
    assert hello["type"] == "connected"
    assert hello["authenticated"] is True
    assert hello["via"] == "api_key"
    assert hello["projects"] == ["alpha"]
    assert hello["tick_seconds"] == 0.2
    assert hello["server_time"].endswith("Z")
    assert await communicator.receive_json_from() == {
        "type": "subscription_confirmed",
        "scope": {"kind": "all"},
    }
    await communicator.disconnect()


async def test_it_answers_ping_with_pong_echoing_the_id(live, project, read_key):
    communicator = await subscribed(bearer(read_key))
    await communicator.send_json_to({"type": "ping", "id": 7})
    pong = await communicator.receive_json_from()
    assert pong["type"] == "pong" and pong["id"] == 7 and pong["server_time"].endswith("Z")
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"kind": "ping"}', "unknown_type"),
        ('{"type": "subscribe", "skill": "nope"}', "unknown_skill"),
        ('{"type": "subscribe", "project": "nope"}', "unknown_project"),
        ('{"type": "subscribe", "skill": 3}', "bad_request"),
        ('{"type": "subscribe", "skill": "pytest", "project": "alpha"}', "bad_request"),
        ('{"type": "get_metrics"}', "bad_request"),
        ('{"type": "get_metrics", "skill": "nope"}', "unknown_skill"),
        ('{"type": "subscribe", "skill_name": "pytest"}', "bad_request"),
        ('{"type": "ping", "extra": 1}', "bad_request"),
    ],
)
async def test_it_answers_bad_input_with_an_error_and_stays_open(stored, read_key, message, code):
    communicator = await subscribed(bearer(read_key))
    await communicator.send_to(text_data=message)
    error = await communicator.receive_json_from()
    assert error["type"] == "error" and error["code"] == code and error["message"]
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_it_rejects_binary_frames_and_stays_open(live, project, read_key):
    communicator = await subscribed(bearer(read_key))
    await communicator.send_to(bytes_data=b'{"type": "ping"}')
    assert (await communicator.receive_json_from())["code"] == "binary_not_supported"
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.disconnect()


async def test_it_closes_4013_after_a_frame_over_4_kib(live, project, read_key):
    communicator = await subscribed(bearer(read_key))
    # 4,096 bytes exactly is allowed: the limit is on bytes, so multi-byte text counts in UTF-8.
    exact = json.dumps({"type": "ping", "id": "x" * (4096 - 26)})
    assert len(exact.encode()) == 4096
    await communicator.send_to(text_data=exact)
    assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.send_to(text_data=json.dumps({"type": "ping", "id": "é" * 2100}))
    error = await communicator.receive_json_from()
    assert error["code"] == "message_too_large"
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4013}
    await communicator.disconnect()


async def test_it_closes_4029_after_more_than_20_messages_in_a_second(live, project, read_key):
    communicator = await subscribed(bearer(read_key))
    for _ in range(20):
        await communicator.send_json_to({"type": "ping"})
    for _ in range(20):
        assert (await communicator.receive_json_from())["type"] == "pong"
    await communicator.send_json_to({"type": "ping"})
    error = await communicator.receive_json_from()
    assert error["code"] == "rate_limited"
    assert await communicator.receive_output() == {"type": "websocket.close", "code": 4029}
    await communicator.disconnect()


async def test_it_confirms_each_subscription_scope(stored, read_key):
    communicator = await subscribed(bearer(read_key))
    for message, scope in [
        ({"skill": "pytest"}, {"kind": "skill", "skill": "pytest"}),
        ({"project": "alpha"}, {"kind": "project", "project": "alpha"}),
        ({}, {"kind": "all"}),
    ]:
        await communicator.send_json_to({"type": "subscribe", **message})
        assert await communicator.receive_json_from() == {
            "type": "subscription_confirmed",
            "scope": scope,
        }
    await communicator.send_json_to({"type": "unsubscribe"})
    assert await communicator.receive_json_from() == {
        "type": "subscription_confirmed",
        "scope": None,
    }
    await communicator.disconnect()


async def test_it_sends_metrics_update_every_tick_while_subscribed(stored, read_key):
    communicator = await subscribed(bearer(read_key))
    ticker = Ticker()
    await ticker.tick()
    first = await communicator.receive_json_from()
    await ticker.tick()
    second = await communicator.receive_json_from()
    assert first["type"] == second["type"] == "metrics_update"
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["scope"] == {"kind": "all"}
    assert [s["skill"] for s in first["top_skills"]] == ["pytest", "ruff"]
    pytest_item = first["top_skills"][0]
    assert pytest_item["invocations_1h"] == pytest_item["invocations_24h"] == 2
    assert pytest_item["completion_rate_24h"] == 0.5
    assert pytest_item["avg_duration_s"] == 3.0
    # ruff's one event has no outcome and no duration: not measured, not 0.
    assert first["top_skills"][1]["completion_rate_24h"] is None
    assert first["top_skills"][1]["avg_duration_s"] is None
    assert first["active_sessions"]["count"] == 1
    assert first["active_sessions"]["sessions"][0]["external_id"] == "s-1"
    await communicator.send_json_to({"type": "unsubscribe"})
    await communicator.receive_json_from()
    await ticker.tick()
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_it_answers_get_metrics_with_both_windows(stored, read_key):
    communicator = await subscribed(bearer(read_key))
    await communicator.send_json_to({"type": "get_metrics", "skill": "pytest"})
    reply = await communicator.receive_json_from()
    assert reply["type"] == "metrics_response" and reply["skill"] == "pytest"
    hour = reply["windows"]["1h"]
    assert (hour["invocations"], hour["completed"], hour["failed"]) == (2, 1, 1)
    assert hour["completion_rate"] == 0.5
    assert 0.09 < hour["completion_rate_low"] < 0.1
    assert reply["windows"]["24h"]["invocations"] == 2
    assert reply["anomalies"] == []
    start = datetime.fromisoformat(hour["start"])
    assert start == datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert datetime.fromisoformat(reply["windows"]["24h"]["start"]) == start - timedelta(hours=23)
    await communicator.disconnect()


async def test_it_ticks_inside_the_asgi_process_in_embedded_mode(stored, live, read_key):
    live.LIVE_TICKER_IN_PROCESS = True
    live.LIVE_TICK_SECONDS = 0.1
    communicator = await subscribed(bearer(read_key))
    try:
        first = await communicator.receive_json_from(timeout=3)
        second = await communicator.receive_json_from(timeout=3)
        assert first["type"] == second["type"] == "metrics_update"
        assert second["seq"] == first["seq"] + 1
        assert [s["skill"] for s in first["top_skills"]] == ["pytest", "ruff"]
    finally:
        if ticker._in_process is not None:
            ticker._in_process.cancel()
        await communicator.disconnect()
