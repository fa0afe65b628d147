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
from tracking.models import Session, SkillInvocation


def store_tool_calls(
    reads: list[NewLines], sessions: dict[SessionKey, Session], result: Stored
) -> list[PendingTools]:
    """Pair tool_use with tool_result by id (within a file) and record each pair once;
    returns each file's unpaired uses, which wait for the next run."""
    by_pk = {s.pk: s for s in sessions.values()}
    waiting_in: list[PendingTools] = []
    paired: list[tuple[list[Any], ToolResult]] = []
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
    earlier = {pk for (_, _, pk), _ in paired if pk not in by_pk}
    by_pk.update(Session.objects.in_bulk(list(earlier)) if earlier else {})
    events: dict[int, list[InvocationEvent]] = defaultdict(list)
    for (skill, started, session_pk), done in paired:
        session_of_call = by_pk.get(session_pk)
        if session_of_call is None:
            continue
        invoked_at = parse_time(started)
        duration = None
        if done.timestamp:
            duration = max(0.0, (parse_time(done.timestamp) - invoked_at).total_seconds())
        events[session_of_call.project_id].append(
            InvocationEvent(
                key=done.tool_use_id,
                session=session_of_call.external_id,
                skill=skill[:200],
                invoked_at=invoked_at,
                completed=not done.is_error,
                duration_s=duration,
                error_type="tool_error" if done.is_error else "",
            )
        )
    for project_id, batch in events.items():
        known = {s.external_id: s for s in by_pk.values() if s.project_id == project_id}
        project = next(iter(known.values())).project
        # Unique: a subagent's call can come twice in a batch, from its own file and
        # relayed in its parent's.
        failed = sorted({e.key for e in batch if e.completed is False})
        # Only a failed call stored before (a file read again) must not count twice.
        stored_before = set(
            SkillInvocation.objects.filter(project=project, idempotency_key__in=failed).values_list(
                "idempotency_key", flat=True
            )
            if failed
            else ()
        )
        stored = record_invocations(project, batch, source="transcript", sessions=known)
        result.tool_calls += stored.accepted
        result.tool_errors += len(set(failed) - stored_before)
    return waiting_in
