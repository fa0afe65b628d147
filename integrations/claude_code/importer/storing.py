"""Storing what files added, a batch in one transaction: sessions, requests, compactions, tool
calls, session totals and each file's read position, which commit together or not at all."""

from __future__ import annotations

import time
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from integrations.claude_code.importer.claims import foreign_claim
from integrations.claude_code.importer.reading import (
    HEAD,
    NewLines,
    PendingTools,
    head_hash,
    read_file,
)
from integrations.claude_code.importer.requests import store_requests
from integrations.claude_code.importer.results import Stored
from integrations.claude_code.importer.sessions import SessionKey, store_sessions
from integrations.claude_code.importer.tool_calls import store_tool_calls
from integrations.claude_code.importer.totals import refresh_totals
from integrations.claude_code.transcript import parse_time
from integrations.models import Compaction, TranscriptFile
from lib.sql import update_rows
from tracking.models import Project, Session

# A file changed less than this many nanoseconds before it was read may change again
# unseen (see `_save_positions`).
RACY_NS = 2_000_000_000
POSITION_FIELDS = (
    "session",
    "size",
    "inode",
    "mtime_ns",
    "head_length",
    "head_hash",
    "offset",
    "lines_read",
    "bad_lines",
    "rewrites",
    "pending_tools",
    "imported_at",
)


class ForeignTranscript(Exception):
    """A transcript that is not the project's to read (the message says why): nothing of it
    was stored, not even a read position, so a later import still reads it whole."""


def import_own_file(path: Path, project: Project) -> Stored:
    """Import what is new in one transcript into `project`, in one transaction (the hooks
    endpoint's way), only if the transcript is the project's (`claims.foreign_claim`); else
    ForeignTranscript. OSError if the file cannot be read: the caller decides what that means
    for it."""
    known = TranscriptFile.objects.filter(path=str(path)).select_related("session").first()
    read = read_file(path, known)
    if read.result.unreadable is not None:
        raise OSError(f"{path}: not read, {read.result.unreadable}")
    new = read.new
    if new is None:
        return Stored()
    reason = foreign_claim(new, project)
    if reason:
        raise ForeignTranscript(f"{path}: {reason}")
    return store_files([new], project)


def store_files(reads: list[NewLines], project: Project | None) -> Stored:
    """Store what the files added, all in one transaction: their sessions, requests,
    compactions, tool calls, totals and read positions. A constant number of queries for the
    batch (not per file): a first import's time was mostly round trips, file by file."""
    stored = Stored()
    if not reads:
        return stored
    with transaction.atomic():
        locked = TranscriptFile.objects.select_for_update().in_bulk(
            [read.known.pk for read in reads if read.known is not None]
        )
        sessions = store_sessions(reads, project)
        store_requests(reads, sessions, stored)
        _store_compactions(reads, sessions)
        pending = store_tool_calls(reads, sessions, stored)
        stored.sessions |= {s.pk for s in sessions.values()}
        refresh_totals(stored.sessions, loaded=sessions.values())
        _save_positions(reads, locked, sessions, pending)
    return stored


def _store_compactions(reads: list[NewLines], sessions: dict[SessionKey, Session]) -> None:
    """The files' compactions, each stored once (by uuid)."""
    rows = [
        Compaction(
            session=sessions[(c.session_id, c.agent_id)],
            uuid=c.uuid[:100],
            timestamp=parse_time(c.timestamp),
            trigger=c.trigger[:20],
            pre_tokens=c.pre_tokens,
        )
        for read in reads
        for c in read.chunk.compactions
        if c.session_id and c.timestamp
    ]
    Compaction.objects.bulk_create(rows, ignore_conflicts=True)


def _save_positions(
    reads: list[NewLines],
    locked: dict[int, TranscriptFile],
    sessions: dict[SessionKey, Session],
    pending: list[PendingTools],
) -> None:
    """Each file's read position, after its rows: they commit together or not at all."""
    new, known = [], []
    now = timezone.now()
    for read, waiting in zip(reads, pending, strict=True):
        chunk, stat, rewritten = read.chunk, read.stat, read.result.rewritten
        if read.known is not None:
            record = locked[read.known.pk]
            known.append(record)
        else:
            record = TranscriptFile(path=str(read.path))
            new.append(record)
        file_key = next(iter(chunk.sessions), None)
        if file_key in sessions and record.session_id is None:
            record.session = sessions[file_key]
        end = read.offset + read.result.bytes
        # The stat from before reading: a line appended since then changes the size.
        record.size, record.inode = stat.st_size, stat.st_ino
        # A file changed moments before it was read could change again within the clock's
        # tick with the same size ("racily clean", as git calls it): its time is not trusted
        # and the next run compares its first bytes instead.
        racy = time.time_ns() - stat.st_mtime_ns < RACY_NS
        record.mtime_ns = None if racy else stat.st_mtime_ns
        record.head_length = min(end, HEAD)
        record.head_hash = head_hash(read.head[: record.head_length])
        record.offset = end
        record.lines_read = (read.first_line - 1) + chunk.lines
        record.bad_lines = (0 if rewritten else record.bad_lines) + chunk.bad_lines
        record.rewrites += int(rewritten)
        record.pending_tools = waiting
        record.imported_at = now
    TranscriptFile.objects.bulk_create(new)
    update_rows(TranscriptFile, known, POSITION_FIELDS)
