"""Claude Code hook payloads (sent by an HTTP hook) → live session state and tool calls.

Tool calls use the tool_use id as idempotency key, as the transcript import does, so a later
import of the same session adds nothing twice. Hook payloads carry no timestamps: times are
the server's at arrival.

Everything a hook stores is keyed within its key's project (sessions, pending and recorded
tool calls), and a transcript is read for a hook only if it is that project's
(`importer.claims`): one project's key cannot reach another project's data by naming its ids
or its files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import cast

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from integrations.claude_code.importer.finding import default_paths
from integrations.claude_code.importer.storing import ForeignTranscript, import_own_file
from integrations.claude_code.importer.totals import announce
from integrations.claude_code.transcript import external_id, tool_skill
from integrations.ide.history import note_file_edit
from integrations.models import ClaudeSession, HookToolCall
from lib.text import check_text, is_storable
from tracking import events, instruments
from tracking.ingest import InvocationEvent, record_invocations
from tracking.models import Project, Session
from tracking.sessions import SessionStart, session_end, session_start

log = logging.getLogger(__name__)

AGENT = "claude-code"
EVENTS = frozenset(
    {
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "Stop",
        "SubagentStop",
        "PreCompact",
        "SessionEnd",
    }
)
MAX_ID = 150
# A subagent's session is external_id(session_id, agent_id), "<session_id>:agent-<agent_id>",
# which must fit Session.external_id with the longest session_id.
MAX_AGENT_ID = (
    cast(int, Session._meta.get_field("external_id").max_length) - MAX_ID - len(":agent-")
)
# After these the transcript holds a finished turn worth reading.
READ_AFTER = frozenset({"Stop", "SubagentStop", "PreCompact", "SessionEnd"})


class HookError(ValueError):
    """A payload Cairn cannot use; the message says why."""


@dataclass
class HookOutcome:
    session: Session
    recorded: int = 0
    # Why the transcript the hook pointed at was not read for its project ("" if it was not
    # refused).
    transcript_refused: str = ""


def _text(payload: dict, name: str, *, required: bool = False, limit: int = MAX_ID) -> str:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise HookError(f"'{name}' is required")
        return ""
    try:
        return check_text(value, name, limit)
    except ValueError as exc:
        raise HookError(str(exc)) from None


def handle_hook(project: Project, payload: object, *, now: datetime | None = None) -> HookOutcome:
    """Apply one hook payload to `project`; HookError says what is wrong with a bad one."""
    if not isinstance(payload, dict):
        raise HookError("the body must be a JSON object (Claude Code's hook input)")
    event = _text(payload, "hook_event_name", required=True)
    if event not in EVENTS:
        raise HookError(
            f"unsupported hook_event_name {event!r}; one of {', '.join(sorted(EVENTS))}"
        )
    session_id = _text(payload, "session_id", required=True)
    agent_id = _text(payload, "agent_id", limit=MAX_AGENT_ID)
    tool_use_id = _text(payload, "tool_use_id", limit=200)
    tool_name = _text(payload, "tool_name", limit=200)
    if event in {"PreToolUse", "PostToolUse", "PostToolUseFailure"} and not (
        tool_use_id and tool_name
    ):
        raise HookError(f"{event} needs 'tool_use_id' and 'tool_name'")
    if tool_name:
        try:  # the Skill tool's skill name, which is stored, comes from inside tool_input
            check_text(tool_skill(tool_name, payload.get("tool_input")), "tool_input")
        except ValueError as exc:
            raise HookError(str(exc)) from None
    cwd = _text(payload, "cwd", limit=1000)
    skill = tool_skill(tool_name, payload.get("tool_input"))[:200] if tool_name else ""
    now = now or timezone.now()
    with transaction.atomic():
        session = _session(project, session_id, agent_id, now)
        facts, _ = ClaudeSession.objects.get_or_create(session=session)
        facts.claude_id = session.external_id
        facts.cwd = cwd or facts.cwd
        facts.agent_id = agent_id or facts.agent_id
        facts.last_activity_at = now
        facts.save()
        outcome = HookOutcome(session=session)
        if event == "SessionStart" and session.status == Session.ENDED:
            # A resumed session is at work again.
            Session.objects.filter(pk=session.pk).update(
                status=Session.ACTIVE, ended_at=None, updated_at=now
            )
        elif event == "PreToolUse":
            HookToolCall.objects.get_or_create(
                project=project,
                tool_use_id=tool_use_id,
                defaults={"session": session, "skill": skill, "started_at": now},
            )
        elif event in {"PostToolUse", "PostToolUseFailure"}:
            outcome.recorded = _record_tool_call(project, session, payload, event, skill, now)
            if event == "PostToolUse":  # what the IDE suggestions learn from
                note_file_edit(
                    project, session, tool_name, tool_use_id, payload.get("tool_input"), now
                )
        elif event == "SessionEnd" or (event == "SubagentStop" and agent_id):
            session_end(session=session, ended_at=max(now, session.started_at))
        session.refresh_from_db()
        events.send_sessions_updated([session])
    path = transcript_to_read(payload, event)
    if path is not None:
        outcome.transcript_refused = _read_transcript(project, path)
    return outcome


def transcript_to_read(payload: dict, event: str) -> Path | None:
    """The transcript a hook points at, when Cairn may read it at once for live tokens and cost.

    Only with `CAIRN_HOOKS_READ_TRANSCRIPTS = True` (Cairn on the machine Claude Code runs on),
    after a finished turn, and only files under the Claude Code folders the import reads: a key
    holder cannot make the server read any other file.
    """
    if event not in READ_AFTER or not getattr(settings, "CAIRN_HOOKS_READ_TRANSCRIPTS", False):
        return None
    raw = payload.get("agent_transcript_path") if event == "SubagentStop" else None
    raw = raw or payload.get("transcript_path")
    if not isinstance(raw, str) or not raw.endswith(".jsonl") or not is_storable(raw):
        return None  # a path with NUL or a lone surrogate cannot name a file
    try:
        path = Path(raw).expanduser().resolve()
        roots = [root.expanduser().resolve() for root in default_paths()]
        if not any(path.is_relative_to(root) for root in roots) or not path.is_file():
            return None
    except (OSError, ValueError, RuntimeError):
        # A name no file can have (too long, an unknown `~user`): nothing to read.
        return None
    return path


def _read_transcript(project: Project, path: Path) -> str:
    """Read what is new in the transcript into `project`; returns why it was refused ("" if
    it was not), as it is another project's. The hook is answered either way: Claude Code must
    never wait on Cairn, and the next import reads the file for its own project."""
    try:
        result = import_own_file(path, project)
    except ForeignTranscript as refused:
        instruments.hook_transcripts_refused.inc()
        log.warning("a hook of project %s named a transcript not read: %s", project.slug, refused)
        return str(refused)
    except (OSError, DatabaseError):
        # The hook itself is stored; the next import reads the file.
        log.exception("reading %s after a hook failed", path)
        return ""
    announce(result.sessions)
    return ""


def _session(project: Project, session_id: str, agent_id: str, now: datetime) -> Session:
    main, _ = session_start(
        project=project, start=SessionStart(external_id=session_id, agent=AGENT, started_at=now)
    )
    if not agent_id:
        return main
    start = SessionStart(external_id=external_id(session_id, agent_id), agent=AGENT, started_at=now)
    child, _ = session_start(project=project, start=start)
    if child.parent_id is None:
        Session.objects.filter(pk=child.pk).update(parent=main)
        child.parent = main
    return child


def _record_tool_call(
    project: Project, session: Session, payload: dict, event: str, skill: str, now: datetime
) -> int:
    """Record the call a PostToolUse(Failure) ended, with its PreToolUse's start if this
    project's key sent one; `skill` is what the ending payload names."""
    tool_use_id = payload["tool_use_id"]
    started = HookToolCall.objects.filter(project=project, tool_use_id=tool_use_id).first()
    failed = event == "PostToolUseFailure"
    if started is not None:
        invoked_at, skill = started.started_at, started.skill
        duration = max(0.0, (now - started.started_at).total_seconds())
        started.delete()
    else:
        # No PreToolUse seen (not configured): the call is known only from its end.
        invoked_at, duration = now, None
    error_type = ""
    if failed:
        error_type = "interrupted" if payload.get("is_interrupt") is True else "tool_error"
    event_ = InvocationEvent(
        key=tool_use_id,
        session=session.external_id,
        skill=skill,
        invoked_at=invoked_at,
        completed=not failed,
        duration_s=duration,
        error_type=error_type,
    )
    result = record_invocations(
        project, [event_], source="hook", sessions={session.external_id: session}
    )
    return result.accepted
