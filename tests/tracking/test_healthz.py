"""`/healthz` answers from real queries and names what failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_it_is_ok_when_the_database_answers(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert ("redis" in body["checks"]) == bool(settings.REDIS_URL)


@pytest.mark.django_db
def test_it_names_redis_when_redis_does_not_answer(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"] == {"database": "ok", "redis": "fail"}
    assert "redis" in body["errors"] and "database" not in body["errors"]


def test_it_names_the_database_when_it_does_not_answer(tmp_path):
    # A real server process whose database is a closed port: nothing is mocked.
    script = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz', HTTP_HOST='localhost');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/nowhere",
        DATABASE_POOL_TIMEOUT="2",
        CAIRN_VAR_DIR=str(tmp_path),
    )
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    assert result["body"]["checks"] == {"database": "fail"}
    assert result["body"]["errors"]["database"]
