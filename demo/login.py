"""The embedded demo's login: one superuser, its password generated once and kept under var/."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from tracking.models import Project

USERNAME = "admin"


def demo_password(path: Path | None = None) -> str:
    """$CAIRN_ADMIN_PASSWORD, else the password stored in var/demo_login (made on first use)."""
    from_env = os.environ.get("CAIRN_ADMIN_PASSWORD", "")
    if from_env:
        return from_env
    path = path or Path(settings.VAR_DIR) / "demo_login"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


@transaction.atomic
def ensure_demo_admin() -> tuple[str, str]:
    """Create or repair the superuser `admin` so the printed password works; make it a member
    of every project. Returns (username, password)."""
    password = demo_password()
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    if not (user.is_superuser and user.is_staff and user.is_active) or not user.check_password(
        password
    ):
        user.is_superuser = user.is_staff = user.is_active = True
        user.set_password(password)
        user.save()
    user.projects.add(*Project.objects.all())
    return USERNAME, password
