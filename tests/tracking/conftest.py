"""Fixtures for the REST API tests: clients holding each kind of identity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import Client


def key_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


def chunked_post(
    url: str, key: str, body: bytes, content_type: str = "application/json"
) -> Mapping[str, Any]:
    """POST through Django's ASGI handler with no Content-Length, like a chunked upload."""
    headers = [
        (b"host", b"testserver"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", content_type.encode()),
    ]

    async def send() -> Mapping[str, Any]:
        communicator = HttpCommunicator(get_asgi_application(), "POST", url, body, headers)
        return await communicator.get_response(timeout=10)

    return async_to_sync(send)()


@pytest.fixture
def write_api(write_key) -> Client:
    """A client with a write key of project `alpha`."""
    return key_client(write_key)


@pytest.fixture
def read_api(read_key) -> Client:
    """A client with a read-only key of project `alpha`."""
    return key_client(read_key)


@pytest.fixture
def other_api(other_project) -> Client:
    """A client with a write key of project `beta`, which must never see `alpha`."""
    return key_client(other_project.create_api_key(scope="write")[1])


@pytest.fixture
def outsider_client(outsider, other_project) -> Client:
    """A logged-in user who is a member of `beta` only."""
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def superuser_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw-root"))
    return client
