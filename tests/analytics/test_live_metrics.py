"""The live API's Prometheus metrics move with what the server does, and /metrics shows them."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client
from prometheus_client import REGISTRY

from analytics.ticker import Ticker
from tests.analytics.conftest import at, bearer, events, subscribed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


def value(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_it_counts_connections_frames_and_build_times(live, project, read_key):
    await sync_to_async(events)(project, ("pytest", at("2026-11-20T10:00:00"), True, 1.0))
    before = {
        name: value(name)
        for name in (
            "cairn_live_connections",
            "cairn_live_frames_sent_total",
            "cairn_live_fanout_seconds_count",
            "cairn_live_snapshot_build_seconds_count",
        )
    }
    clients = [await subscribed(bearer(read_key)) for _ in range(3)]
    assert value("cairn_live_connections") == before["cairn_live_connections"] + 3
    await Ticker().tick(now=at("2026-11-20T10:30:00"))
    for communicator in clients:
        await communicator.receive_from()
    assert value("cairn_live_frames_sent_total") == before["cairn_live_frames_sent_total"] + 3
    assert value("cairn_live_fanout_seconds_count") == before["cairn_live_fanout_seconds_count"] + 1
    built = value("cairn_live_snapshot_build_seconds_count")
    assert built == before["cairn_live_snapshot_build_seconds_count"] + 1
    get = sync_to_async(Client().get)
    response = await get("/metrics", HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}")
    text = response.content.decode()
    assert "# TYPE cairn_live_frames_sent_total counter" in text
    assert "# HELP cairn_live_connections Open /ws/live/ connections." in text
    for communicator in clients:
        await communicator.disconnect()
    assert value("cairn_live_connections") == before["cairn_live_connections"]
