"""A whole import: every transcript under some folders, read and stored a batch at a time,
with the database set up for a long run of writes."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError, connection, transaction

from integrations.claude_code.importer import tuning
from integrations.claude_code.importer.finding import find_transcripts
from integrations.claude_code.importer.reading import NewLines, read_files
from integrations.claude_code.importer.results import ImportResult, Stored, projects_used
from integrations.claude_code.importer.storing import store_files
from integrations.claude_code.importer.totals import announce, session_figures
from integrations.models import ApiRequest, ClaudeSession, TranscriptFile
from tracking.models import Project, Session, SkillInvocation

log = logging.getLogger(__name__)

# Told the index of the file read, the number of files, and its path (None once all are).
Progress = Callable[[int, int, Path | None], None]


class ImportFailed(Exception):
    """The database refused a file's rows; the message names the file."""


class ImportLocked(ImportFailed):
    """Another import (or a hook storing a transcript) held a lock longer than the run's
    lock timeout; nothing of the batch waiting for it was stored."""


# The Postgres advisory lock an import holds for its whole run, so that two runs never
# interleave (the second waits, at most its lock timeout). Any fixed 64-bit key: "cairn-im".
RUN_LOCK = 0x636169726E2D696D
# The SQLSTATE of a lock wait cut short by lock_timeout (lock_not_available).
LOCK_NOT_AVAILABLE = "55P03"


def import_paths(
    paths: Iterable[Path],
    *,
    project: Project | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    lock_timeout: float | None = None,
    waiting: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import every transcript under `paths`. With `dry_run` everything is rolled back.

    One run at a time (Postgres): a run that finds another one at work tells `waiting`, then
    waits for it at most `lock_timeout` seconds (default `tuning.LOCK_TIMEOUT_S`), as for any
    row lock its batches wait on, and then raises ImportLocked."""
    files, unreadable_folders = find_transcripts(paths, since=since)
    timeout = tuning.LOCK_TIMEOUT_S if lock_timeout is None else lock_timeout
    with _one_run_at_a_time(timeout, waiting):
        if not dry_run:
            total = _import_all(files, project, progress)
        else:
            with transaction.atomic():
                total = _import_all(files, project, progress)
                transaction.set_rollback(True)
    total.skip_folders(unreadable_folders)
    return total


@contextmanager
def _one_run_at_a_time(timeout: float, waiting: Callable[[str], None] | None) -> Iterator[None]:
    """On Postgres, hold the import's advisory lock for the run, with every lock wait of the
    run bounded by `timeout` seconds (`lock_timeout`, for this connection, reset after).

    The lock is the session's: it is released when the run ends, or when its connection
    does (a killed run's server process rolls back and lets go). On SQLite, which has no
    such lock, a batch's wait for another writer is bounded alike (`busy_timeout`).
    """
    if connection.vendor == "sqlite":
        before = _execute("PRAGMA busy_timeout")
        _execute(f"PRAGMA busy_timeout = {timeout * 1000:.0f}")
        try:
            yield
        finally:
            _execute(f"PRAGMA busy_timeout = {before}")
        return
    if connection.vendor != "postgresql":
        yield
        return
    _execute("SELECT set_config('lock_timeout', %s, false)", f"{timeout * 1000:.0f}")
    try:
        if not _execute("SELECT pg_try_advisory_lock(%s)", RUN_LOCK):
            if waiting:
                waiting(
                    "another import is running (it holds the lock on transcript imports): "
                    f"waiting for it, at most {timeout:g} s"
                )
            try:
                # A savepoint when already in a transaction: a timed-out wait would
                # otherwise leave it unusable, even for the RESET below.
                with transaction.atomic():
                    _execute("SELECT pg_advisory_lock(%s)", RUN_LOCK)
            except DatabaseError as exc:
                if not _lock_timed_out(exc):
                    raise
                raise ImportLocked(
                    "another import holds the lock on transcript imports and did not finish "
                    f"within {timeout:g} s (--lock-timeout); retry later"
                ) from exc
        try:
            yield
        finally:
            _execute("SELECT pg_advisory_unlock(%s)", RUN_LOCK)
    finally:
        _execute("RESET lock_timeout")


def _execute(sql: str, *params: int | str) -> object:
    """Run one statement; the first column of its first row (None if it returns none)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        row = cursor.fetchone() if cursor.description else None
    return row[0] if row else None


def _lock_timed_out(exc: DatabaseError) -> bool:
    """Whether a database error is a lock wait cut short: Postgres's lock_timeout, or
    SQLite's busy timeout waiting for another writer."""
    cause = exc.__cause__
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause) == "database is locked"
    return getattr(cause, "sqlstate", None) == LOCK_NOT_AVAILABLE


def _locked_relation(exc: DatabaseError) -> str:
    """What a timed-out wait was for: the table, as Postgres names it in the error's context
    ('while locking tuple (0,1) in relation "…"'); SQLite locks the whole database."""
    if isinstance(exc.__cause__, sqlite3.OperationalError):
        return "the database"
    context = getattr(getattr(exc.__cause__, "diag", None), "context", None) or ""
    match = re.search(r'relation "([^"]+)"', context)
    return f"table {match.group(1)}" if match else "a table"


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
    # Before any batch: the projects a batch creates are those not in this set.
    existing = set(Project.objects.values_list("pk", flat=True))
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
    total.projects = projects_used(total.sessions, existing)
    return total


def _store_batch(reads: list[NewLines], project: Project | None) -> Stored:
    """Store a batch of files in one transaction; if the database refuses it, file by file,
    so that the files before the refused one are stored and the error names it."""
    try:
        return store_files(reads, project)
    except DatabaseError as exc:
        # Waiting again file by file would only wait as long again, for each file.
        if _lock_timed_out(exc):
            raise ImportLocked(
                f"another import or a hook holds the lock on {_locked_relation(exc)} that "
                f"{reads[0].path} needs, for longer than the lock timeout (--lock-timeout); "
                "nothing of this batch stored, retry later"
            ) from exc
        if len(reads) == 1:
            message = f"{reads[0].path}: not imported, nothing of it stored ({exc})"
            raise ImportFailed(message) from exc
    stored = Stored()
    for read in reads:
        stored.add_stored(_store_batch([read], project))
    return stored
