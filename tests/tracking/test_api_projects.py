"""REST API v1: projects (list, detail) and the browsable API."""

from __future__ import annotations

import pytest

from tracking.models import Project


@pytest.fixture
def gamma(owner) -> Project:
    project = Project.objects.create(name="Gamma", slug="gamma", repository_url="git@x:g.git")
    project.members.add(owner)
    return project


def slugs(response) -> list[str]:
    assert response.status_code == 200
    return [row["slug"] for row in response.json()]


def test_it_lists_the_keys_project_only(write_api, read_api, other_project, gamma):
    assert slugs(write_api.get("/api/v1/projects")) == ["alpha"]
    assert slugs(read_api.get("/api/v1/projects")) == ["alpha"]


def test_it_lists_a_users_memberships(owner_client, project, other_project, gamma):
    assert slugs(owner_client.get("/api/v1/projects")) == ["alpha", "gamma"]


def test_it_lists_every_project_for_a_superuser(superuser_client, project, other_project):
    assert slugs(superuser_client.get("/api/v1/projects")) == ["alpha", "beta"]


def test_it_shows_a_project(owner_client, gamma):
    response = owner_client.get("/api/v1/projects/gamma")
    assert response.status_code == 200
    body = response.json()
    assert (body["slug"], body["name"], body["repository_url"]) == ("gamma", "Gamma", "git@x:g.git")
    assert body["default_branch"] == "main"


def test_it_hides_another_project(other_api, outsider_client, project):
    for client in (other_api, outsider_client):
        response = client.get("/api/v1/projects/alpha")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "No project 'alpha'."}}
    # An unknown slug answers exactly the same: a 404 tells nothing about existence.
    assert other_api.get("/api/v1/projects/nope").json()["error"]["message"] == "No project 'nope'."


def test_it_requires_authentication(client, project):
    assert client.get("/api/v1/projects").status_code == 401
    assert client.get("/api/v1/projects/alpha").status_code == 401


def test_it_rejects_wrong_methods(write_api, read_api, project):
    assert write_api.post("/api/v1/projects", {}, "application/json").status_code == 405
    assert read_api.post("/api/v1/projects", {}, "application/json").status_code == 405
    assert write_api.delete("/api/v1/projects/alpha").status_code == 405


def test_it_renders_the_browsable_api_for_a_logged_in_user(owner_client, project):
    response = owner_client.get("/api/v1/projects/alpha", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<title>Project · Cairn API</title>" in page
    assert "&quot;slug&quot;: &quot;alpha&quot;" in page
    # The session-start form renders too (a write view with an input serializer).
    form = owner_client.get("/api/v1/sessions/start", headers={"Accept": "text/html"})
    assert form.status_code == 405
    assert "external_id" in form.content.decode()


def test_it_offers_a_login_on_the_browsable_api(client, project):
    page = client.get("/api/v1/projects", headers={"Accept": "text/html"})
    assert page.status_code == 401
    assert "/api/auth/login/?next=/api/v1/projects" in page.content.decode()
    login = client.post(
        "/api/auth/login/?next=/api/v1/projects",
        {"username": "alice", "password": "password-alice", "next": "/api/v1/projects"},
    )
    assert (login.status_code, login["Location"]) == (302, "/api/v1/projects")
    assert [p["slug"] for p in client.get("/api/v1/projects").json()] == ["alpha"]
