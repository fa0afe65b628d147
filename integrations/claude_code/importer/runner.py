"""A whole import: every transcript under some folders, read and stored a batch at a time,
with the database set up for a long run of writes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError, connection, transaction

from integrations.claude_code.importer import tuning
from integrations.claude_code.importer.finding import find_transcripts
from integrations.claude_code.importer.reading import NewLines, read_files
from integrations.claude_code.importer.results import ImportResult, Stored
from integrations.claude_code.importer.storing import store_files
from integrations.claude_code.importer.totals import announce, session_figures
from integrations.models import ApiRequest, ClaudeSession, TranscriptFile
from tracking.models import Project, Session, SkillInvocation

log = logging.getLogger(__name__)

# Told the index of the file read, the number of files, and its path (None once all are).
Progress = Callable[[int, int, Path | None], None]


class ImportFailed(Exception):
    """The database refused a file's rows; the message names the file."""


def import_paths(
    paths: Iterable[Path],
    *,
    project: Project | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import every transcript under `paths`. With `dry_run` everything is rolled back."""
    files = find_transcripts(paths, since=since)
    if not dry_run:
        return _import_all(files, project, progress)
    with transaction.atomic():
        total = _import_all(files, project, progress)
        transaction.set_rollback(True)
    return total


def _analyze() -> None:
    """Fresh planner statistics for the tables an import fills (Postgres, outside a
    transaction). A first import into new tables otherwise runs on "nearly empty" estimates
    and each file's look-ups scan every row stored so far; autovacuum catches up only later."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = (ApiRequest, ClaudeSession, Session, SkillInvocation)
    names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {names}")
    except DatabaseError as exc:  # not the tables' owner: the import goes on, only slower
        log.info("ANALYZE skipped: %s", exc)


@contextmanager
def _commits_without_waiting() -> Iterator[None]:
    """On Postgres, a batch's commit does not wait for the disk while importing.

    Losing the last instant of an import to a crash costs nothing: a file's offset commits
    with its rows, so the next run reads those lines again. Set for the connection once (not
    per batch: a query each) and reset afterwards, as the connection may serve other work.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _known_files(files: list[Path]) -> dict[str, TranscriptFile]:
    """The TranscriptFile of each file read before, by path."""
    known: dict[str, TranscriptFile] = {}
    names = [str(path) for path in files]
    for start in range(0, len(names), 500):
        rows = TranscriptFile.objects.filter(path__in=names[start : start + 500])
        known.update((row.path, row) for row in rows)
    return known


def _import_all(
    files: list[Path], project: Project | None, progress: Progress | None
) -> ImportResult:
    """Read the files and store them a batch (`tuning.BATCH_BYTES` of new lines) at a time;
    then tell live pages, and gather each touched session's figures."""
    total = ImportResult()
    known = _known_files(files)
    analyzed_at = tuning.ANALYZE_AFTER
    batch: list[NewLines] = []
    size = 0
    with _commits_without_waiting():
        for index, read in enumerate(read_files(files, known)):
            if progress:
                progress(index, len(files), read.path)
            total.add(read.result)
            if read.new is not None:
                batch.append(read.new)
                size += read.result.bytes
            if size >= tuning.BATCH_BYTES or index == len(files) - 1:
                total.add_stored(_store_batch(batch, project))
                batch, size = [], 0
                if total.requests_new >= analyzed_at:
                    _analyze()
                    analyzed_at *= 2
    if progress:
        progress(len(files), len(files), None)
    announce(total.sessions)
    total.figures = session_figures(total.sessions)
    return total


def _store_batch(reads: list[NewLines], project: Project | None) -> Stored:
    """Store a batch of files in one transaction; if the database refuses it, file by file,
    so that the files before the refused one are stored and the error names it."""
    try:
        return store_files(reads, project)
    except DatabaseError as exc:
        if len(reads) == 1:
            message = f"{reads[0].path}: not imported, nothing of it stored ({exc})"
            raise ImportFailed(message) from exc
    stored = Stored()
    for read in reads:
        stored.add_stored(_store_batch([read], project))
    return stored
