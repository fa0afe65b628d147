from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.tracking.pages_support import client_for
from tracking.models import ApiKey, Project


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("createproject", *args, stdout=out)
    return out.getvalue().splitlines()


def test_it_prints_a_working_write_key_on_its_last_line(db, client):
    lines = run("Payments API", "--slug", "payments")
    key = lines[-1]
    assert key.startswith(ApiKey.PREFIX) and " " not in key
    project = Project.objects.get(slug="payments")
    assert project.name == "Payments API"
    event = {"id": "e1", "session": "s1", "skill": "pytest", "invoked_at": "2026-11-25T10:00:00Z"}
    response = client.post(
        "/api/v1/ingest/invocations",
        {"events": [event]},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "errors": []}
    assert project.invocations.count() == 1


def test_it_derives_the_slug_and_adds_members(owner):
    run("My New Thing", "--member", "alice")
    project = Project.objects.get(slug="my-new-thing")
    assert list(project.members.all()) == [owner]
    assert client_for(owner).get("/p/my-new-thing/").status_code == 200


def test_it_refuses_an_unknown_member_and_creates_nothing(db):
    with pytest.raises(CommandError, match="No such user: nobody"):
        run("X", "--member", "nobody")
    assert not Project.objects.exists()


def test_it_refuses_a_slug_in_use(project):
    with pytest.raises(CommandError, match="slug 'alpha' exists already"):
        run("Another", "--slug", "alpha")
    assert Project.objects.count() == 1


def test_it_refuses_a_name_or_slug_too_long_for_the_database(db):
    with pytest.raises(CommandError, match="at most 100 characters"):
        run("A very long name " + "z" * 120)
    with pytest.raises(CommandError, match="at most 200 characters"):
        run("n" * 201, "--slug", "short")
    assert not Project.objects.exists()


@pytest.mark.parametrize("slug", ["bad slug!", "Payments", "-", "naïve"])
def test_it_refuses_a_slug_it_would_have_to_change(db, slug):
    with pytest.raises(CommandError, match="--slug .*lowercase letters, digits, dashes"):
        run("Payments", "--slug", slug)
    assert not Project.objects.exists()
