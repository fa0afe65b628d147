"""`manage.py apikey`: a second key, listing, revoking and rotating, each tried on the API."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tracking.models import ApiKey

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command("apikey", *args, stdout=out)
    return out.getvalue().splitlines()


def status(plain: str, method: str = "get") -> int:
    client = Client(headers={"authorization": f"Bearer {plain}"})
    if method == "get":
        return client.get("/api/v1/projects").status_code
    return client.post(
        "/api/v1/ingest/invocations", {"events": []}, content_type="application/json"
    ).status_code


def test_a_second_read_only_key_reads_but_cannot_write(project):
    lines = run("create", "alpha", "--scope", "read", "--name", "dashboard")
    plain = lines[-1]
    assert plain.startswith("cairn_") and "shown only once" in lines[0]
    assert status(plain) == 200
    assert status(plain, "post") == 403
    key = ApiKey.objects.get(name="dashboard")
    assert (key.project, key.scope, key.prefix) == (project, "read", plain[:12])


def test_the_list_shows_prefix_scope_name_and_last_use(project):
    plain = run("create", "alpha", "--name", "CI")[-1]
    listed = run("list", "alpha")
    assert listed[0].startswith(f"{plain[:12]}…  write")
    assert "CI" in listed[0] and "never used" in listed[0] and listed[0].endswith("active")
    assert status(plain) == 200
    assert "last used 20" in run("list", "alpha")[0]
    assert plain not in "\n".join(run("list", "alpha"))


def test_a_revoked_key_stops_working_and_cannot_be_revoked_twice(project):
    plain = run("create", "alpha")[-1]
    assert run("revoke", "alpha", plain[:12] + "…")[0].startswith(f"Revoked key {plain[:12]}")
    assert status(plain) == 401
    assert "revoked 20" in run("list", "alpha")[0]
    with pytest.raises(CommandError, match="revoked already"):
        run("revoke", "alpha", plain[:12])


def test_rotating_replaces_the_key_with_one_of_the_same_scope_and_name(project):
    old = run("create", "alpha", "--scope", "read", "--name", "grafana")[-1]
    new = run("rotate", "alpha", old[:12])[-1]
    assert new != old and status(old) == 401 and status(new) == 200
    replacement = ApiKey.objects.get(prefix=new[:12])
    assert (replacement.scope, replacement.name, replacement.revoked_at) == (
        "read",
        "grafana",
        None,
    )


def test_it_names_what_is_wrong(project, other_project):
    with pytest.raises(CommandError, match="No project with slug 'nope'"):
        run("list", "nope")
    other = run("create", other_project.slug)[-1]
    with pytest.raises(CommandError, match="'alpha' has no key with prefix"):
        run("revoke", "alpha", other[:12])
    assert status(other) == 200
    with pytest.raises(CommandError, match="--name: at most 100 characters"):
        run("create", "alpha", "--name", "n" * 101)
