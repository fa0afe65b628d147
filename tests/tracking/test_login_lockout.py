"""Repeated failed logins lock out the address and user name together (django-axes)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"


@pytest.fixture
def admin_user(db) -> User:
    return User.objects.create_superuser("root", "root@example.org", "right-password-1")


def login(client: Client, path: str, username: str, password: str, address: str = ATTACKER):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.mark.parametrize("path", ["/admin/login/", "/login/"])
def test_thirty_wrong_logins_lock_out_even_the_right_password(admin_user, settings, path):
    client = Client()
    answers = [login(client, path, "root", f"wrong-{n}").status_code for n in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    # The form answers the first failures as usual, then the lockout answers.
    assert answers[: limit - 1] == [200] * (limit - 1)
    assert set(answers[limit:]) == {429}
    locked = login(client, path, "root", "right-password-1")
    assert locked.status_code == 429
    assert b"too many login attempts" in locked.content
    assert "_auth_user_id" not in client.session
    # Another address with the right password still gets in.
    other = Client()
    assert (
        login(other, path, "root", "right-password-1", address="198.51.100.20").status_code == 302
    )
    assert other.session["_auth_user_id"] == str(admin_user.pk)


def test_the_limit_and_lockout_come_from_the_settings(settings):
    assert settings.AXES_FAILURE_LIMIT == 10
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["ip_address", "username"]]


def test_a_success_before_the_limit_resets_the_count(admin_user):
    client = Client()
    for n in range(9):
        assert login(client, "/login/", "root", f"wrong-{n}").status_code == 200
    assert login(client, "/login/", "root", "right-password-1").status_code == 302
    client.post("/logout/")
    for n in range(9):
        assert login(client, "/login/", "root", f"again-{n}").status_code == 200
    assert login(client, "/login/", "root", "right-password-1").status_code == 302
