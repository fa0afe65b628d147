"""Backing up the database to one file, and restoring that file into an empty database.

Postgres: `pg_dump --format=custom` (compressed, restorable table by table with pg_restore),
restored with `pg_restore` in one transaction, so a failed restore leaves the target empty.
SQLite (the embedded default): SQLite's online backup, a consistent copy while Cairn runs.
Either way the file is written beside its final name and renamed once complete, so a backup
that failed never leaves a file that looks like one. The password goes to the tools through
PGPASSWORD, never on a command line another user could read.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

from django.db import connections

# A custom-format dump starts with these bytes (pg_dump's archive header); an SQLite file with
# its own 16-byte header.
PG_MAGIC = b"PGDMP"
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that could not be made; the message says why."""


def _settings() -> dict[str, Any]:
    return connections["default"].settings_dict


def _pg_env_and_target(db: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    target = ["--dbname", str(db["NAME"])]
    if db.get("HOST"):
        target += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        target += ["--port", str(db["PORT"])]
    if db.get("USER"):
        target += ["--username", str(db["USER"])]
    return env, target


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def _run(args: list[str], env: dict[str, str], timeout: float) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - an argument list of our own
            args, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{Path(args[0]).name} took longer than {timeout:g} s") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-3:]
        raise BackupError(f"{Path(args[0]).name} failed: {' / '.join(detail)}")


def backup(path: Path, timeout: float) -> int:
    """Write the whole database to `path`; its size in bytes."""
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}: no such folder")
    if path.exists():
        raise BackupError(f"{path}: already exists; a backup never overwrites one")
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    db = _settings()
    try:
        if connections["default"].vendor == "postgresql":
            env, target = _pg_env_and_target(db)
            args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
            _run([*args, f"--file={partial}", *target], env, timeout)
        else:
            with (
                closing(sqlite3.connect(db["NAME"])) as source,
                closing(sqlite3.connect(partial)) as copy,
            ):
                source.backup(copy)
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def _has_tables() -> bool:
    with connections["default"].cursor() as cursor:
        return bool(connections["default"].introspection.table_names(cursor))


def restore(path: Path, timeout: float) -> None:
    """Load the backup at `path` into the configured database, which must have no tables."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as handle:
        head = handle.read(16)
    vendor = connections["default"].vendor
    expected = PG_MAGIC if vendor == "postgresql" else SQLITE_MAGIC
    if not head.startswith(expected):
        kind = "a pg_dump custom-format file" if vendor == "postgresql" else "an SQLite file"
        raise BackupError(f"{path}: not {kind} (a backup made on this kind of database)")
    db = _settings()
    if _has_tables():
        raise BackupError(
            f"database {db['NAME']!r} already has tables: restore only into a new, empty one"
        )
    if vendor == "postgresql":
        connections["default"].close()
        env, target = _pg_env_and_target(db)
        args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
        _run([*args, "--single-transaction", *target, str(path)], env, timeout)
    else:
        connections["default"].close()
        with (
            closing(sqlite3.connect(path)) as source,
            closing(sqlite3.connect(db["NAME"])) as target_db,
        ):
            source.backup(target_db)
