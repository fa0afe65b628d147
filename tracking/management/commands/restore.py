"""`manage.py restore PATH`: load a `manage.py backup` file into a new, empty database."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.backups import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into the database DATABASE_URL names, "
        "which must be new and empty (refused otherwise). All or nothing: one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--timeout", type=float, default=3600, help="seconds pg_restore may take (3600)"
        )

    def handle(self, *args, path: Path, timeout: float, **options) -> None:
        try:
            restore(path, timeout)
        except BackupError as error:
            raise CommandError(f"restore: {error}") from None
        self.stdout.write(f"restore: {path}: restored; run `manage.py migrate` after an upgrade")
