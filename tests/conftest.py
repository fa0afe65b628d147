"""Shared fixtures: the owner/teammate/outsider users of healthchecks' BaseTestCase, as fixtures."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.test import Client

from tests import browser as browser_support
from tests.repos import package, package_with_venv, project_python, repo  # noqa: F401
from tracking.models import Project


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("alice", "alice@example.org", "password-alice")


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("charlie", "charlie@example.org", "password-charlie")


@pytest.fixture
def project(owner) -> Project:
    project = Project.objects.create(name="Alpha", slug="alpha")
    project.members.add(owner)
    return project


@pytest.fixture
def other_project(outsider) -> Project:
    project = Project.objects.create(name="Beta", slug="beta")
    project.members.add(outsider)
    return project


@pytest.fixture
def write_key(project) -> str:
    return project.create_api_key(scope="write")[1]


@pytest.fixture
def read_key(project) -> str:
    return project.create_api_key(scope="read")[1]


@pytest.fixture
def api(client) -> Client:
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2 is slow on purpose (~0.3 s a user); tests need no protection from brute force."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache(settings, request):
    """A fresh process-local cache per test: failed-key counts (tracking/auth.py) of one test
    must not lock out the next, nor linger in a shared Redis between runs."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pools(django_db_setup, django_db_blocker):
    """Close psycopg's pools before the test database is dropped, so nothing holds it open."""
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            if isinstance(connection, PostgresWrapper):
                connection.close_pool()


@pytest.fixture
def browser(tmp_path):
    """A fresh headless Chromium with its own empty profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_support.CHROMIUM
    for flag in [*browser_support.FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(browser_support.CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
