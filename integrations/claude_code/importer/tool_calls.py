"""Storing a batch's tool calls: each tool_use paired with its tool_result and recorded once,
as a skill invocation keyed by its tool_use id."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from integrations.claude_code.importer.reading import NewLines, PendingTools
from integrations.claude_code.importer.results import Stored
from integrations.claude_code.importer.sessions import SessionKey
from integrations.claude_code.transcript import ToolResult, parse_time
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session, SkillInvocation

# A tool_use that has its result: its [skill, timestamp, session pk], and the result.
Paired = tuple[list[Any], ToolResult]


def store_tool_calls(
    reads: list[NewLines], sessions: dict[SessionKey, Session], result: Stored
) -> list[PendingTools]:
    """Pair tool_use with tool_result by id (within a file) and record each pair once;
    returns each file's unpaired uses, which wait for the next run."""
    pending, paired = _pair_calls(reads, sessions)
    by_pk = _sessions_of_calls(paired, sessions)
    for project_id, events in _invocations(paired, by_pk).items():
        _record_project_calls(project_id, events, by_pk, result)
    return pending


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
                pending[use.id] = [use.skill, use.timestamp, session.pk]
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
    earlier = {pk for (_, _, pk), _ in paired if pk not in by_pk}
    by_pk.update(Session.objects.in_bulk(list(earlier)) if earlier else {})
    return by_pk


def _invocations(
    paired: list[Paired], by_pk: dict[int, Session]
) -> dict[int, list[InvocationEvent]]:
    """The pairs as invocation events, by project id; a pair whose session is gone is left
    out."""
    events: dict[int, list[InvocationEvent]] = defaultdict(list)
    for (skill, started, session_pk), done in paired:
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
