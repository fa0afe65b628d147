"""Fixtures for the live WebSocket tests: the real ASGI stack on the in-memory layer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from analytics.registry import registry
from config.asgi import application
from tracking.ingest import InvocationEvent, record_invocations

ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture
def live(settings):
    """In-memory layer, no in-process ticker (tests tick by hand), a short tick."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.REDIS_URL = ""
    settings.LIVE_TICKER_IN_PROCESS = False
    settings.LIVE_TICK_SECONDS = 0.2
    registry.local.clear()
    yield settings
    registry.local.clear()


def bearer(key: str) -> list[tuple[bytes, bytes]]:
    return [ORIGIN, (b"authorization", f"Bearer {key}".encode())]


def session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    name = django_settings.SESSION_COOKIE_NAME
    return [ORIGIN, (b"cookie", f"{name}={cookie}".encode())]


async def open_live(headers, path: str = "/ws/live/") -> tuple[WebsocketCommunicator, dict]:
    """Connect and read the `connected` frame (or the refusal's error frame)."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator, await communicator.receive_json_from(timeout=5)


async def subscribed(headers) -> WebsocketCommunicator:
    """A connected client past its `connected` and default `subscription_confirmed`."""
    communicator, hello = await open_live(headers)
    assert hello["type"] == "connected"
    confirmed = await communicator.receive_json_from(timeout=5)
    assert confirmed == {"type": "subscription_confirmed", "scope": {"kind": "all"}}
    return communicator


def events(project, *specs, session: str = "s-1") -> None:
    """Store events through the one ingest path: specs are (skill, when, completed, duration)."""
    batch = [
        InvocationEvent(
            key=uuid.uuid4().hex,
            session=session,
            skill=skill,
            invoked_at=when,
            completed=completed,
            duration_s=duration,
        )
        for skill, when, completed, duration in specs
    ]
    record_invocations(project, batch, source="api")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
