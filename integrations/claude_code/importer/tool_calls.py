"""Storing a batch's tool calls: each tool_use paired with its tool_result and recorded once,
as a skill invocation keyed by its tool_use id; an edit tool's successful call also as the
FileEdit the IDE suggestions learn from, as its PostToolUse hook would have recorded it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from integrations.claude_code.importer.reading import NewLines, PendingTools
from integrations.claude_code.importer.results import Stored
from integrations.claude_code.importer.sessions import SessionKey
from integrations.claude_code.transcript import ToolResult, ToolUse, parse_time
from integrations.ide.files import EditedFile
from integrations.ide.history import NewEdit, store_file_edits
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session, SkillInvocation

# A tool_use that has its result: its pending entry (`reading.PendingTools`), and the result.
Paired = tuple[list[Any], ToolResult]


def store_tool_calls(
    reads: list[NewLines], sessions: dict[SessionKey, Session], result: Stored
) -> list[PendingTools]:
    """Pair tool_use with tool_result by id (within a file) and record each pair once, and
    the file edits among them; returns each file's unpaired uses, which wait for the next
    run."""
    pending, paired = _pair_calls(reads, sessions)
    by_pk = _sessions_of_calls(paired, sessions)
    for project_id, events in _invocations(paired, by_pk).items():
        _record_project_calls(project_id, events, by_pk, result)
    store_file_edits(_file_edits(paired, by_pk))
    return pending


def _pending_entry(use: ToolUse, session: Session) -> list[Any]:
    """What a tool_use waits for its result with, as JSON: [skill, timestamp, session pk],
    and for an edit tool [tool, extension, is_test] of the file it wrote."""
    entry: list[Any] = [use.skill, use.timestamp, session.pk]
    if use.edited is not None:
        entry.append([use.edited.tool, use.edited.extension, use.edited.is_test])
    return entry


def _pair_calls(
    reads: list[NewLines], sessions: dict[SessionKey, Session]
) -> tuple[list[PendingTools], list[Paired]]:
    """Each file's uses still without a result, and the pairs found, in file order."""
    waiting_in: list[PendingTools] = []
    paired: list[Paired] = []
    for read in reads:
        # A copy: if the batch's transaction fails, the files are stored again one by one.
        pending = dict(read.pending)
        for use in read.chunk.tool_uses:
            if use.session_id and use.id not in pending:
                session = sessions[(use.session_id, use.agent_id)]
                pending[use.id] = _pending_entry(use, session)
        for done in read.chunk.tool_results:
            waiting = pending.pop(done.tool_use_id, None)
            if waiting is not None:
                paired.append((waiting, done))
        waiting_in.append(pending)
    return waiting_in, paired


def _sessions_of_calls(
    paired: list[Paired], sessions: dict[SessionKey, Session]
) -> dict[int, Session]:
    """The batch's sessions by pk, with those of uses stored in an earlier run."""
    by_pk = {s.pk: s for s in sessions.values()}
    earlier = {waiting[2] for waiting, _ in paired if waiting[2] not in by_pk}
    by_pk.update(Session.objects.in_bulk(list(earlier)) if earlier else {})
    return by_pk


def _invocations(
    paired: list[Paired], by_pk: dict[int, Session]
) -> dict[int, list[InvocationEvent]]:
    """The pairs as invocation events, by project id; a pair whose session is gone is left
    out."""
    events: dict[int, list[InvocationEvent]] = defaultdict(list)
    for waiting, done in paired:
        skill, started, session_pk = waiting[:3]
        session = by_pk.get(session_pk)
        if session is None:
            continue
        invoked_at = parse_time(started)
        duration = None
        if done.timestamp:
            duration = max(0.0, (parse_time(done.timestamp) - invoked_at).total_seconds())
        events[session.project_id].append(
            InvocationEvent(
                key=done.tool_use_id,
                session=session.external_id,
                skill=skill[:200],
                invoked_at=invoked_at,
                completed=not done.is_error,
                duration_s=duration,
                error_type="tool_error" if done.is_error else "",
            )
        )
    return events


def _file_edits(paired: list[Paired], by_pk: dict[int, Session]) -> list[NewEdit]:
    """The edit tools' calls that succeeded, as their PostToolUse hook records them (a failed
    edit wrote nothing, and has no such hook), at the time of their result."""
    edits = []
    for waiting, done in paired:
        session = by_pk.get(waiting[2])
        if len(waiting) < 4 or done.is_error or session is None:
            continue
        tool, ext, test = waiting[3]
        at = parse_time(done.timestamp or waiting[1])
        edited = EditedFile(tool=tool, extension=ext, is_test=test)
        edits.append(NewEdit(session.project_id, session.pk, done.tool_use_id, edited, at))
    return edits


def _record_project_calls(
    project_id: int, events: list[InvocationEvent], by_pk: dict[int, Session], result: Stored
) -> None:
    """Record one project's invocations; count those new, and the failed ones not counted
    before."""
    known = {s.external_id: s for s in by_pk.values() if s.project_id == project_id}
    project = next(iter(known.values())).project
    # Unique: a subagent's call can come twice in a batch, from its own file and relayed in
    # its parent's.
    failed = sorted({e.key for e in events if e.completed is False})
    stored_before = _failures_stored(project, failed)
    stored = record_invocations(project, events, source="transcript", sessions=known)
    result.tool_calls += stored.accepted
    result.tool_errors += len(set(failed) - stored_before)


def _failures_stored(project: Project, keys: list[str]) -> set[str]:
    """Which of these failed calls the project has already: only those (from a file read
    again) must not count twice."""
    if not keys:
        return set()
    stored = SkillInvocation.objects.filter(project=project, idempotency_key__in=keys)
    return set(stored.values_list("idempotency_key", flat=True))
