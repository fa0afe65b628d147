"""`manage.py webhook_secret`: one secret per provider per project, the same the page shows."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from integrations.ci.models import WebhookSecret

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("webhook_secret", *args, stdout=out)
    return out.getvalue().splitlines()


def test_it_creates_once_and_prints_the_secret_last(project):
    first = run("alpha", "--provider", "github")
    assert first[-1] == WebhookSecret.objects.get(project=project, provider="github").secret
    assert len(first[-1]) == 64
    assert "/api/v1/webhooks/github/alpha" in first[0]
    assert run("alpha", "--provider", "github")[-1] == first[-1]
    gitlab = run("alpha", "--provider", "gitlab")[-1]
    assert gitlab != first[-1]
    assert WebhookSecret.objects.filter(project=project).count() == 2


def test_rotate_replaces_the_secret(project):
    old = run("alpha", "--provider", "gitlab")[-1]
    new = run("alpha", "--provider", "gitlab", "--rotate")
    assert new[-1] != old and "Rotated" in new[0]
    row = WebhookSecret.objects.get(project=project, provider="gitlab")
    assert row.secret == new[-1] and row.rotated_at is not None


def test_the_settings_page_shows_the_same_secret(project, owner_client):
    secret = run("alpha", "--provider", "github")[-1]
    page = owner_client.get("/p/alpha/integrations/").content.decode()
    assert secret in page


def test_an_unknown_project_or_provider_fails(project):
    with pytest.raises(CommandError, match="No project with slug 'nope'"):
        run("nope", "--provider", "github")
    with pytest.raises(CommandError):
        run("alpha", "--provider", "bitbucket")
