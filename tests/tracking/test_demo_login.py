from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from tracking.models import Project


@pytest.fixture
def var_dir(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("CAIRN_ADMIN_PASSWORD", raising=False)
    settings.VAR_DIR = tmp_path
    return tmp_path


def run() -> str:
    out = StringIO()
    call_command("demo_login", stdout=out)
    return out.getvalue().strip()


def test_it_creates_the_admin_once_and_prints_a_working_login(db, var_dir, client, project):
    line = run()
    password = (var_dir / "demo_login").read_text().strip()
    assert line == f"Log in at http://127.0.0.1:8000/ as admin / {password}"
    assert len(password) >= 16
    assert (var_dir / "demo_login").stat().st_mode & 0o077 == 0
    assert run() == line  # the password is generated once
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert list(admin.projects.all()) == [project]
    assert client.login(username="admin", password=password)


def test_it_takes_the_password_from_the_environment(db, var_dir, monkeypatch, client):
    monkeypatch.setenv("CAIRN_ADMIN_PASSWORD", "from-the-env-123")
    assert run().endswith("as admin / from-the-env-123")
    assert not (var_dir / "demo_login").exists()
    assert client.login(username="admin", password="from-the-env-123")


def test_it_repairs_an_admin_whose_password_no_longer_matches(db, var_dir, client):
    User.objects.create_user("admin", password="something-else")
    run()
    password = (var_dir / "demo_login").read_text().strip()
    assert client.login(username="admin", password=password)
    assert User.objects.get(username="admin").is_superuser


def test_it_makes_the_admin_a_member_of_projects_added_later(db, var_dir):
    run()
    Project.objects.create(name="Later", slug="later")
    run()
    assert User.objects.get(username="admin").projects.filter(slug="later").exists()
