"""Fixtures for the REST API tests: clients holding each kind of identity."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client


def key_client(key: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {key}"})


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
