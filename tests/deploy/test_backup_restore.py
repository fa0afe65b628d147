"""`manage.py backup` and `manage.py restore`: a restored copy answers the API as the original.

The Postgres test needs DATABASE_URL on Postgres (it makes and drops a database of its own).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tests.analytics import servers
from tests.analytics.conftest import events
from tracking.models import Checkpoint, Measurement

pytestmark = pytest.mark.django_db(transaction=True)
ENDPOINTS = [
    "/api/v1/projects",
    "/api/v1/projects/alpha",
    "/api/v1/sessions",
    "/api/v1/checkpoints",
    "/api/v1/invocations",
]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argument list
        [sys.executable, "manage.py", *args],
        cwd=servers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def get(port: int, path: str, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def post(port: int, path: str, key: str, body: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def some_history(project) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    events(project, *[("pytest", start + timedelta(minutes=i), i % 4 != 0, 1.5) for i in range(12)])
    events(project, ("ruff", start, True, 0.25), session="s-2")
    checkpoint = Checkpoint.objects.create(
        project=project, kind="ci", commit="c0ffee", branch="main"
    )
    Measurement.objects.create(checkpoint=checkpoint, key="tests.failed", value=2, unit="count")


@pytest.fixture
def restored_database():
    """The name of a new database beside the test database, dropped afterwards."""
    source = servers.database_url()
    if source is None:
        pytest.skip("needs Postgres (DATABASE_URL)")
    name = f"{settings.DATABASES['default']['NAME']}_restored"
    admin_url = source.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield source.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_restored_postgres_backup_answers_the_api_as_the_original(
    restored_database, tmp_path, project, read_key, write_key
):
    some_history(project)
    source = str(servers.database_url())
    env = servers.server_env(DATABASE_URL=source, REDIS_URL="", CAIRN_VAR_DIR=str(tmp_path))
    dump = tmp_path / "cairn.dump"
    made = manage(env, "backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert dump.read_bytes()[:5] == b"PGDMP"
    assert f"backup: {dump}: " in made.stdout
    assert not list(tmp_path.glob("*.partial"))

    copy_env = dict(env, DATABASE_URL=restored_database)
    loaded = manage(copy_env, "restore", str(dump))
    assert loaded.returncode == 0, loaded.stderr

    ports = [servers.free_port(), servers.free_port()]
    processes = [
        servers.daphne(ports[0], env, tmp_path / "original.log"),
        servers.daphne(ports[1], copy_env, tmp_path / "restored.log"),
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            servers.wait_until_serving(port, process)
        for path in ENDPOINTS:
            original, restored = get(ports[0], path, read_key), get(ports[1], path, read_key)
            assert original[0] == 200, path
            assert restored == original, path
        _, invocations = get(ports[1], "/api/v1/invocations", read_key)
        assert len(invocations["results"]) == 13
        _, sessions = get(ports[1], "/api/v1/sessions", read_key)
        assert sorted(s["external_id"] for s in sessions["results"]) == ["s-1", "s-2"]
        # The copy goes on taking writes: its sequences came with it.
        event = {
            "id": "after-restore",
            "session": "s-3",
            "skill": "mypy",
            "invoked_at": datetime.now(UTC).isoformat(),
            "completed": True,
        }
        assert (
            post(ports[1], "/api/v1/ingest/invocations", write_key, {"events": [event]})["accepted"]
            == 1
        )
        assert len(get(ports[1], "/api/v1/invocations", read_key)[1]["results"]) == 14
        assert len(get(ports[0], "/api/v1/invocations", read_key)[1]["results"]) == 13
    finally:
        for process in processes:
            process.kill()

    again = manage(copy_env, "restore", str(dump))
    assert again.returncode == 1
    assert "already has tables: restore only into a new, empty one" in again.stderr


def test_a_backup_never_overwrites_and_a_foreign_file_is_not_restored(tmp_path):
    existing = tmp_path / "taken.dump"
    existing.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="already exists; a backup never overwrites one"):
        call_command("backup", str(existing))
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(CommandError, match="no-such-folder: no such folder"):
        call_command("backup", str(tmp_path / "no-such-folder" / "x.dump"))
    with pytest.raises(CommandError, match="backup made on this kind of database"):
        call_command("restore", str(existing))


def test_an_sqlite_backup_restores_to_the_same_rows(tmp_path: Path):
    database = tmp_path / "a.sqlite3"
    original = servers.server_env(
        DATABASE_URL=f"sqlite:///{database}", REDIS_URL="", CAIRN_VAR_DIR=str(tmp_path)
    )
    # Any tables will do (migrating would take the most time): the copy is of the file.
    with closing(sqlite3.connect(database)) as db, db:
        db.execute("CREATE TABLE tracking_project (id INTEGER PRIMARY KEY, slug TEXT UNIQUE)")
        db.executemany("INSERT INTO tracking_project (slug) VALUES (?)", [("alpha",), ("beta",)])
    made = manage(original, "backup", str(tmp_path / "backup.sqlite3"))
    assert made.returncode == 0, made.stderr
    copy = dict(original, DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}")
    loaded = manage(copy, "restore", str(tmp_path / "backup.sqlite3"))
    assert loaded.returncode == 0, loaded.stderr
    dumps = []
    for name in ("a.sqlite3", "b.sqlite3"):
        with closing(sqlite3.connect(tmp_path / name)) as db:
            dumps.append(list(db.iterdump()))
    assert any("'alpha'" in line for line in dumps[0])
    assert dumps[1] == dumps[0]
