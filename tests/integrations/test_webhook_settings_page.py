"""The project's CI webhook page: secrets shown, created and rotated by members only."""

from __future__ import annotations

import pytest

from integrations.ci.models import WebhookSecret

pytestmark = pytest.mark.django_db
PAGE = "/p/alpha/integrations/"


def test_a_member_creates_and_rotates_a_secret_with_the_setup_shown(owner_client, project):
    page = owner_client.get(PAGE).content.decode()
    assert "no secret yet" in page
    assert "http://testserver/api/v1/webhooks/github/alpha" in page
    assert "Workflow jobs" in page and "Pipeline events" in page and "application/json" in page
    owner_client.post("/p/alpha/integrations/github/secret")
    first = WebhookSecret.objects.get(project=project, provider="github").secret
    assert first in owner_client.get(PAGE).content.decode()
    owner_client.post("/p/alpha/integrations/github/secret")
    second = WebhookSecret.objects.get(project=project, provider="github").secret
    page = owner_client.get(PAGE).content.decode()
    assert second != first and second in page and first not in page
    assert not WebhookSecret.objects.filter(provider="gitlab").exists()


def test_outsiders_and_strangers_get_nothing(client, outsider, project):
    assert client.get(PAGE).status_code == 302  # to the login
    client.force_login(outsider)
    assert client.get(PAGE).status_code == 404
    assert client.post("/p/alpha/integrations/github/secret").status_code == 404
    assert not WebhookSecret.objects.exists()


def test_a_get_or_an_unknown_provider_changes_nothing(owner_client, project):
    assert owner_client.get("/p/alpha/integrations/github/secret").status_code == 405
    owner_client.post("/p/alpha/integrations/bitbucket/secret")
    assert not WebhookSecret.objects.exists()
