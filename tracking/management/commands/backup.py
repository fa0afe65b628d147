"""`manage.py backup PATH`: the whole database in one file (restore: `manage.py restore`)."""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.backups import BackupError, backup
from lib.formatting import size as size_text


class Command(BaseCommand):
    help = (
        "Back the database up to PATH: pg_dump's custom format on Postgres, an SQLite copy "
        "otherwise. Never overwrites a file; restore with `manage.py restore PATH`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--timeout", type=float, default=3600, help="seconds pg_dump may take (3600)"
        )

    def handle(self, *args, path: Path, timeout: float, **options) -> None:
        started = time.monotonic()
        try:
            size = backup(path, timeout)
        except BackupError as error:
            raise CommandError(f"backup: {error}") from None
        took = time.monotonic() - started
        self.stdout.write(f"backup: {path}: {size_text(size)} ({size} bytes) in {took:.1f} s")
