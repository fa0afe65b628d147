"""The API root, trailing slashes, and the browsable API's and Redoc's branding."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EVENT = {
    "id": "e1",
    "session": "s1",
    "skill": "pytest",
    "invoked_at": "2026-11-20T10:00:00Z",
    "completed": True,
}


def test_root_lists_every_endpoint_and_the_links_work(write_api):
    for url in ("/api/v1/", "/api/v1"):
        response = Client().get(url, HTTP_ACCEPT="application/json")
        assert response.status_code == 200, url
    body = response.json()
    paths = {e["path"] for e in body["endpoints"]}
    assert {
        "/api/v1/projects",
        "/api/v1/sessions",
        "/api/v1/checkpoints",
        "/api/v1/invocations",
        "/api/v1/ingest/invocations",
        "/api/v1/skills",
        "/api/v1/anomalies",
        "/api/v1/hooks/claude-code",
        "/api/v1/sessions/<id>/end",
    } <= paths
    assert body["docs"] == "http://testserver/api/docs/"
    assert Client().get(body["docs"]).status_code == 200
    assert Client().get(body["schema"]).status_code == 200
    for endpoint in body["endpoints"]:
        if endpoint["url"] and "GET" in endpoint["methods"]:
            response = write_api.get(endpoint["url"])
            assert response.status_code == 200, endpoint


def test_root_page_links_to_the_browsable_api_the_docs_and_the_app():
    html = Client().get("/api/v1/", HTTP_ACCEPT="text/html").content.decode()
    assert 'href="/api/docs/"' in html
    assert 'href="/api/v1/"' in html
    assert 'href="/"' in html


@pytest.mark.parametrize("url", ["/api/v1/projects/", "/api/v1/projects"])
def test_get_with_and_without_trailing_slash(write_api, project, url):
    response = write_api.get(url)
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()] == [project.slug]


@pytest.mark.parametrize("url", ["/api/v1/ingest/invocations/", "/api/v1/ingest/invocations"])
def test_post_with_and_without_trailing_slash_is_stored(write_api, url):
    response = write_api.post(url, {"events": [EVENT]}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_post_to_projects_with_trailing_slash_is_refused_like_without(write_api):
    with_slash = write_api.post("/api/v1/projects/", {}, content_type="application/json")
    without = write_api.post("/api/v1/projects", {}, content_type="application/json")
    assert with_slash.status_code == without.status_code == 405
    assert with_slash.json() == without.json()


def test_schema_lists_each_path_once_without_slash_aliases(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert "/api/v1/projects" in paths
    assert "/api/v1/ingest/invocations" in paths
    assert not [p for p in paths if p.endswith("/")]


@pytest.mark.parametrize(
    "url", ["/api/v1/", "/api/v1/sessions", "/api/v1/projects/", "/api/v1/ingest/invocations"]
)
def test_browsable_api_is_branded_cairn(owner_client, url):
    html = owner_client.get(url, HTTP_ACCEPT="text/html").content.decode()
    assert "Django REST framework" not in html
    assert "List Api" not in html
    assert not re.search(r"\bApi\b", html.split("<body")[0])
    assert "Cairn API</title>" in html
    assert '<a class="navbar-brand" href="/">Cairn</a>' in html


def test_browsable_titles_say_what_the_endpoint_is(owner_client):
    html = owner_client.get("/api/v1/sessions", HTTP_ACCEPT="text/html").content.decode()
    assert "<title>Sessions · Cairn API</title>" in html


def test_redoc_page_references_nothing_outside_the_server(client):
    response = client.get("/api/docs/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "http" not in html
    assert "<title>Cairn API</title>" in html
    assert 'href="/"' in html
    # Redoc's bundle adds its vendor's logo from a CDN at run time; the browser must refuse it.
    policy = response["Content-Security-Policy"]
    assert "img-src 'self' data:" in policy
    assert "default-src 'self'" in policy
