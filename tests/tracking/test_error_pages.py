"""The 404 and 500 pages carry Cairn's layout; under /api/ they stay JSON; /favicon.ico answers."""

from __future__ import annotations

import pytest
from django.template import loader
from django.test import Client


@pytest.mark.django_db
def test_a_pages_404_is_cairns_layout_with_the_users_navigation(owner_client, project):
    response = owner_client.get("/p/no-such-project/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Page not found (404)</h1>" in page
    assert 'class="topbar"' in page and ">alice</a>" in page and 'href="/live/"' in page


@pytest.mark.django_db
def test_under_api_a_404_stays_json(owner_client):
    response = owner_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_500_page_renders_with_no_request_context():
    """django.views.defaults.server_error renders it with no context at all."""
    page = loader.get_template("500.html").render()
    assert "<h1>Server error (500)</h1>" in page
    assert 'class="topbar"' in page and 'href="/"' in page and 'href="/live/"' in page
    assert "Log out" not in page


@pytest.mark.django_db
@pytest.mark.urls("tests.tracking.raising_urls")
def test_a_page_bug_answers_the_500_page():
    response = Client(raise_request_exception=False).get("/test-page-bug")
    assert response.status_code == 500
    assert "<h1>Server error (500)</h1>" in response.content.decode()


def test_favicon_ico_sends_browsers_to_the_svg(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"
