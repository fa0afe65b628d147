"""The keys page of a project: who may see it and post to it, and what each form does."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.tracking.pages_support import client_for
from tracking.models import ApiKey

pytestmark = pytest.mark.django_db


def test_a_member_sees_the_keys_with_prefix_name_and_last_use(owner_client, project):
    key, _ = project.create_api_key(scope="read", name="CI reader")
    response = owner_client.get("/p/alpha/keys/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<code>{key.prefix}…</code>" in page
    assert "CI reader" in page and "read-only" in page and "never used" in page
    assert response["Cache-Control"].startswith("max-age=0")


def test_an_outsider_gets_404_on_another_projects_keys(outsider, project, other_project):
    key, _ = project.create_api_key(name="alpha's")
    client = client_for(outsider)
    assert client.get("/p/alpha/keys/").status_code == 404
    assert client.get("/p/beta/keys/").status_code == 200
    # Beta's member posting to alpha's key under beta's slug: not beta's key, 404 as well.
    assert client.post(f"/p/beta/keys/{key.pk}/revoke").status_code == 404
    assert ApiKey.objects.get(pk=key.pk).is_active


def test_a_non_member_cannot_create_revoke_or_rotate(outsider, project, other_project):
    key, _ = project.create_api_key(name="alpha's")
    client = client_for(outsider)
    before = ApiKey.objects.count()
    assert client.post("/p/alpha/keys/", {"name": "mine", "scope": "write"}).status_code == 404
    assert client.post(f"/p/alpha/keys/{key.pk}/revoke").status_code == 404
    assert client.post(f"/p/alpha/keys/{key.pk}/rotate").status_code == 404
    assert ApiKey.objects.count() == before
    assert ApiKey.objects.get(pk=key.pk).is_active


def test_an_anonymous_post_goes_to_the_login(project):
    key, _ = project.create_api_key()
    response = Client().post(f"/p/alpha/keys/{key.pk}/revoke")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert ApiKey.objects.get(pk=key.pk).is_active


def test_a_post_without_the_csrf_token_is_refused(owner, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post("/p/alpha/keys/", {"name": "x", "scope": "write"}).status_code == 403
    assert not project.api_keys.exists()


def test_revoke_and_rotate_answer_only_posts(owner_client, project):
    key, _ = project.create_api_key()
    assert owner_client.get(f"/p/alpha/keys/{key.pk}/revoke").status_code == 405
    assert owner_client.get(f"/p/alpha/keys/{key.pk}/rotate").status_code == 405
    assert ApiKey.objects.get(pk=key.pk).is_active


def test_creating_a_key_shows_it_once_and_stores_only_its_hash(owner_client, project):
    response = owner_client.post("/p/alpha/keys/", {"name": "laptop", "scope": "read"})
    assert response.status_code == 200
    plain = response.context["plain"]
    key = ApiKey.lookup(plain)
    assert key is not None and key.project == project
    assert (key.name, key.scope, key.prefix) == ("laptop", "read", plain[:12])
    assert plain in response.content.decode()
    assert response["Cache-Control"].startswith("max-age=0")
    # Not on the list page, nor stored in the clear anywhere in the row.
    assert plain not in owner_client.get("/p/alpha/keys/").content.decode()
    assert plain not in {key.key_hash, key.prefix, key.name}


def test_a_key_without_a_name_or_with_an_unknown_scope_is_refused(owner_client, project):
    response = owner_client.post("/p/alpha/keys/", {"name": "  ", "scope": "write"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    response = owner_client.post("/p/alpha/keys/", {"name": "x", "scope": "admin"})
    assert response.status_code == 400
    assert "scope" in response.context["form"].errors
    response = owner_client.post("/p/alpha/keys/", {"name": "x" * 101, "scope": "write"})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not project.api_keys.exists()


def test_revoke_uses_the_model_and_says_so_twice_differently(owner_client, project):
    key, plain = project.create_api_key(name="old")
    response = owner_client.post(f"/p/alpha/keys/{key.pk}/revoke", follow=True)
    assert f"Revoked key {key.prefix}…" in response.content.decode()
    assert ApiKey.lookup(plain) is None
    response = owner_client.post(f"/p/alpha/keys/{key.pk}/revoke", follow=True)
    assert "was revoked already" in response.content.decode()


def test_rotate_replaces_the_key_with_the_same_name_and_scope(owner_client, project):
    key, plain = project.create_api_key(scope="read", name="dashboard")
    response = owner_client.post(f"/p/alpha/keys/{key.pk}/rotate")
    assert response.status_code == 200
    new_plain = response.context["plain"]
    assert ApiKey.lookup(plain) is None
    new = ApiKey.lookup(new_plain)
    assert new is not None and (new.scope, new.name) == ("read", "dashboard")
    assert new.pk != key.pk
    # A revoked key cannot be rotated a second time.
    response = owner_client.post(f"/p/alpha/keys/{key.pk}/rotate", follow=True)
    assert "cannot be rotated" in response.content.decode()
    assert project.api_keys.filter(revoked_at__isnull=True).count() == 1


def test_a_superuser_may_manage_any_projects_keys(project):
    root = User.objects.create_superuser("root", "root@example.org", "pw-root")
    response = client_for(root).post("/p/alpha/keys/", {"name": "ops", "scope": "write"})
    assert response.status_code == 200
    assert project.api_keys.filter(name="ops").exists()
