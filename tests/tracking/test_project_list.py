from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.tracking.pages_support import client_for, seed


@pytest.fixture
def demo(db):
    return seed(days=2)


def test_it_lists_only_the_projects_the_user_is_a_member_of(demo, owner):
    demo["demo-payments-api"].members.add(owner)
    response = client_for(owner).get("/")
    assert response.status_code == 200
    assert [p.slug for p in response.context["projects"]] == ["demo-payments-api"]
    assert b"Demo \xc2\xb7 payments-api" in response.content
    assert b"web-dashboard" not in response.content


def test_it_counts_each_projects_sessions(demo, owner):
    project = demo["demo-payments-api"]
    project.members.add(owner)
    listed = client_for(owner).get("/").context["projects"][0]
    assert listed.session_count == project.sessions.count() > 0
    assert listed.last_activity == project.sessions.latest("started_at").started_at


def test_it_shows_every_project_to_a_superuser(demo):
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    slugs = {p.slug for p in client_for(root).get("/").context["projects"]}
    assert slugs == set(demo)


def test_it_says_so_when_the_user_has_no_project(outsider):
    response = client_for(outsider).get("/")
    assert b"not a member of any project" in response.content


def test_it_sends_anonymous_users_to_the_login_page(db, client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"
